//! Errors of the scenario file formats. Every message names the file, line or field at fault.

use std::path::PathBuf;

/// An error reading a scenario file.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The file could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A whole-file JSON document (`sensors.json`) is not valid JSON or has the wrong shape.
    #[error("{what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// A whole-file JSON document is well-formed but a value is out of its domain.
    #[error("{what}: field `{field}` {reason}")]
    Field {
        what: String,
        field: String,
        reason: String,
    },
    /// One line of a `.jsonl` file is bad (1-based physical line number).
    #[error("line {line_no}: {source}")]
    Line {
        line_no: u64,
        #[source]
        source: LineError,
    },
    /// Reading a `.jsonl` stream failed at this line (1-based); the stream ends there.
    #[error("line {line_no}: read error: {source}")]
    Read {
        line_no: u64,
        #[source]
        source: std::io::Error,
    },
}

/// What is wrong with one `detections.jsonl` line.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// Not JSON, not an object, or a value of the wrong JSON type (the message names the
    /// field where it can).
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The line is not UTF-8.
    #[error("not UTF-8: {0}")]
    Utf8(#[from] std::str::Utf8Error),
    /// A required field is absent (or `null`). `sensor_type` is the wire name of the
    /// detection's type when the field is specific to it.
    #[error("field `{field}` missing{}", for_type(.sensor_type))]
    MissingField {
        field: &'static str,
        sensor_type: Option<&'static str>,
    },
    /// A field has a value outside its domain (e.g. a non-positive sigma).
    #[error("field `{field}` {reason}")]
    BadField {
        field: &'static str,
        reason: &'static str,
    },
    /// `sensor_type` is none of `radar`, `rf_df`, `acoustic`, `remote_id`, `agent`.
    #[error("unknown sensor_type `{0}`")]
    UnknownSensorType(String),
}

fn for_type(sensor_type: &Option<&'static str>) -> String {
    match sensor_type {
        Some(t) => format!(
            " for a{} {t} detection",
            if t.starts_with('a') { "n" } else { "" }
        ),
        None => String::new(),
    }
}

impl LineError {
    /// The wire name of the field at fault, when known.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            LineError::MissingField { field, .. } | LineError::BadField { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }
}

impl FormatError {
    /// The 1-based line number for errors of a `.jsonl` line.
    pub fn line_no(&self) -> Option<u64> {
        match self {
            FormatError::Line { line_no, .. } | FormatError::Read { line_no, .. } => Some(*line_no),
            _ => None,
        }
    }
}
