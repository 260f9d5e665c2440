/// Why an input is not a CoT event. The message names the field (`event@time`,
/// `point@lat`) or the framing at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CotError {
    #[error("not UTF-8 at byte {0}")]
    Utf8(usize),
    #[error("XML: {0}")]
    Xml(String),
    #[error("no <event> element")]
    NoEvent,
    #[error("<event> ends before </event>")]
    Truncated,
    #[error("{0}: missing")]
    Missing(&'static str),
    #[error("{field}: {why}")]
    Field { field: &'static str, why: String },
    #[error("TAK header: {0}")]
    Header(String),
    #[error("TAK protobuf: {0}")]
    Protobuf(String),
    #[error("frame of {len} bytes, larger than {max}")]
    TooLarge { len: usize, max: usize },
    #[error("{0} bytes that are neither CoT XML nor a TAK frame, skipped")]
    Garbage(usize),
}

impl CotError {
    pub(crate) fn field(field: &'static str, why: impl Into<String>) -> Self {
        CotError::Field {
            field,
            why: why.into(),
        }
    }
}

impl From<quick_xml::Error> for CotError {
    fn from(e: quick_xml::Error) -> Self {
        CotError::Xml(e.to_string())
    }
}
