//! Rejections: every refused message says which stage refused it, which field (a JSON
//! Pointer, RFC 6901, into the message; `topic` or `payload` outside it) and why.

use std::fmt;

/// One thing wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON Pointer into the message (`/measurement/range_m`; `""` is the whole message),
    /// or `topic` / `payload` for errors outside the JSON.
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "(message): {}", self.reason)
        } else {
            write!(f, "{}: {}", self.field, self.reason)
        }
    }
}

/// Which check refused the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The topic is not `<prefix>/<sector>/sensors/<sensor_id>/<kind>`.
    Topic,
    /// Too large, or not JSON.
    Payload,
    /// The JSON Schema (`schema/sensor-json.schema.json`) refused it.
    Schema,
    /// The Rust mapping refused it (also reached without the schema, see `map_value`).
    Mapping,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Topic => "topic",
            Stage::Payload => "payload",
            Stage::Schema => "schema",
            Stage::Mapping => "mapping",
        }
    }
}

/// A refused message: the stage and at least one field error (schema validation reports up
/// to [`MAX_REPORTED_ERRORS`](crate::MAX_REPORTED_ERRORS)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Rejection {
    pub stage: Stage,
    pub errors: Vec<FieldError>,
}

impl Rejection {
    pub fn one(stage: Stage, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            stage,
            errors: vec![FieldError::new(field, reason)],
        }
    }

    /// The first field at fault.
    pub fn field(&self) -> &str {
        self.errors.first().map_or("", |e| e.field.as_str())
    }

    /// Why the first field is at fault.
    pub fn reason(&self) -> &str {
        self.errors.first().map_or("", |e| e.reason.as_str())
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.stage.as_str())?;
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// The embedded schema failed to compile: a bug in this crate, caught by its tests.
#[derive(Debug, thiserror::Error)]
#[error("sensor JSON schema, definition {definition}: {reason}")]
pub struct SchemaError {
    pub definition: String,
    pub reason: String,
}

/// Appends one reference token to a JSON Pointer, escaped per RFC 6901.
pub(crate) fn pointer_push(base: &str, token: &str) -> String {
    let mut out = String::with_capacity(base.len() + token.len() + 1);
    out.push_str(base);
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(pointer_push("", "a/b~c"), "/a~1b~0c");
        assert_eq!(pointer_push("/x", "0"), "/x/0");
    }

    #[test]
    fn display_names_stage_field_and_reason() {
        let r = Rejection {
            stage: Stage::Schema,
            errors: vec![
                FieldError::new("/t", "is a required property"),
                FieldError::new("", "not an object"),
            ],
        };
        assert_eq!(
            r.to_string(),
            "schema: /t: is a required property; (message): not an object"
        );
        assert_eq!(r.field(), "/t");
    }
}
