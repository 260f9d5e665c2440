//! The JSON Schema (draft 2020-12) in `schema/sensor-json.schema.json`, embedded and
//! compiled once per message definition, and its errors turned into [`FieldError`]s.

use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use crate::error::{FieldError, Rejection, SchemaError, Stage, pointer_push};
use crate::topic::MessageKind;

/// The schema file, as shipped in the repository.
pub const SCHEMA_JSON: &str = include_str!("../schema/sensor-json.schema.json");

/// At most this many schema errors are reported for one message (logs stay bounded).
pub const MAX_REPORTED_ERRORS: usize = 8;

/// One compiled validator per message definition.
pub(crate) struct Schemas {
    detection: Validator,
    status: Validator,
    remoteid_flat: Validator,
}

impl std::fmt::Debug for Schemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Schemas { detection, status, remoteid_flat }")
    }
}

fn compile(root: &Value, kind: MessageKind) -> Result<Validator, SchemaError> {
    let definition = kind.schema_definition();
    let err = |reason: String| SchemaError {
        definition: definition.into(),
        reason,
    };
    let defs = root
        .get("$defs")
        .cloned()
        .ok_or_else(|| err("no $defs".into()))?;
    if defs.get(definition).is_none() {
        return Err(err("missing".into()));
    }
    // A root that points at one definition and carries all of them, so the internal
    // `#/$defs/...` references resolve exactly as in the file.
    let wrapper = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": defs,
        "$ref": format!("#/$defs/{definition}"),
    });
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&wrapper)
        .map_err(|e| err(e.to_string()))
}

impl Schemas {
    pub(crate) fn new() -> Result<Self, SchemaError> {
        let root: Value = serde_json::from_str(SCHEMA_JSON).map_err(|e| SchemaError {
            definition: "(file)".into(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            detection: compile(&root, MessageKind::Detection)?,
            status: compile(&root, MessageKind::Status)?,
            remoteid_flat: compile(&root, MessageKind::RemoteIdFlat)?,
        })
    }

    /// Validates one message against its definition; on failure, names each field.
    pub(crate) fn validate(&self, kind: MessageKind, value: &Value) -> Result<(), Rejection> {
        let validator = match kind {
            MessageKind::Detection => &self.detection,
            MessageKind::Status => &self.status,
            MessageKind::RemoteIdFlat => &self.remoteid_flat,
        };
        let mut errors = Vec::new();
        for e in validator.iter_errors(value) {
            let path = e.instance_path().to_string();
            match e.kind() {
                ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    errors.push(FieldError::new(
                        pointer_push(&path, name),
                        "is a required property",
                    ));
                }
                ValidationErrorKind::AdditionalProperties { unexpected }
                | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                    for name in unexpected {
                        errors.push(FieldError::new(
                            pointer_push(&path, name),
                            "is not a field of this message",
                        ));
                    }
                }
                _ => errors.push(FieldError::new(path, e.to_string())),
            }
            if errors.len() >= MAX_REPORTED_ERRORS {
                break;
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            errors.truncate(MAX_REPORTED_ERRORS);
            Err(Rejection {
                stage: Stage::Schema,
                errors,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_file_is_a_valid_draft_2020_12_schema() {
        let root: Value = serde_json::from_str(SCHEMA_JSON).unwrap_or_default();
        assert_eq!(
            root["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert!(jsonschema::meta::is_valid(&root));
        // The root (any of the three) compiles too, as an integrator would use it.
        assert!(jsonschema::draft202012::new(&root).is_ok());
    }

    #[test]
    fn every_definition_compiles() {
        assert!(Schemas::new().is_ok());
    }
}
