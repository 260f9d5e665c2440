//! Topic layout: `<prefix>/<sector>/sensors/<sensor_id>/<kind>`, where `<kind>` is
//! `detections`, `status` or `remoteid` and says which message definition applies.
//! `<prefix>` is `dronewatch` unless configured (one or more levels).

use crate::error::{Rejection, Stage};

/// Which message a topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// `detections`: one detection (`#/$defs/detection`).
    Detection,
    /// `status`: a health report (`#/$defs/status`).
    Status,
    /// `remoteid`: flat Remote ID receiver JSON (`#/$defs/remoteid_flat`).
    RemoteIdFlat,
}

impl MessageKind {
    pub const ALL: [MessageKind; 3] = [
        MessageKind::Detection,
        MessageKind::Status,
        MessageKind::RemoteIdFlat,
    ];

    /// The topic's last level.
    pub fn topic_level(self) -> &'static str {
        match self {
            MessageKind::Detection => "detections",
            MessageKind::Status => "status",
            MessageKind::RemoteIdFlat => "remoteid",
        }
    }

    /// The schema definition under `#/$defs/`.
    pub fn schema_definition(self) -> &'static str {
        match self {
            MessageKind::Detection => "detection",
            MessageKind::Status => "status",
            MessageKind::RemoteIdFlat => "remoteid_flat",
        }
    }

    pub fn from_topic_level(level: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.topic_level() == level)
    }
}

/// A parsed topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorTopic {
    pub sector: String,
    pub sensor_id: String,
    pub kind: MessageKind,
}

/// The configured topic layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicLayout {
    prefix: String,
}

impl Default for TopicLayout {
    fn default() -> Self {
        Self {
            prefix: "dronewatch".into(),
        }
    }
}

/// The characters allowed in a sector or sensor id (also the schema's `sensor_id` pattern):
/// safe in a topic level, a file name and a log line.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && id.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

impl TopicLayout {
    /// A layout under `prefix` (one or more topic levels, no wildcards, no empty level).
    pub fn new(prefix: &str) -> Result<Self, Rejection> {
        let bad = prefix.is_empty()
            || prefix.split('/').any(str::is_empty)
            || prefix.contains(['+', '#', '\0']);
        if bad {
            return Err(Rejection::one(
                Stage::Topic,
                "topic",
                format!("prefix {prefix:?}: needs non-empty levels and no '+', '#' or NUL"),
            ));
        }
        Ok(Self {
            prefix: prefix.into(),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The filter for every sector: `<prefix>/+/sensors/+/+`.
    pub fn filter_all(&self) -> String {
        format!("{}/+/sensors/+/+", self.prefix)
    }

    /// The filter for one sector: `<prefix>/<sector>/sensors/+/+`.
    pub fn filter_sector(&self, sector: &str) -> String {
        format!("{}/{sector}/sensors/+/+", self.prefix)
    }

    /// The topic a sensor publishes one kind of message to.
    pub fn topic(&self, sector: &str, sensor_id: &str, kind: MessageKind) -> String {
        format!(
            "{}/{sector}/sensors/{sensor_id}/{}",
            self.prefix,
            kind.topic_level()
        )
    }

    /// Splits a topic into sector, sensor id and message kind.
    pub fn parse(&self, topic: &str) -> Result<SensorTopic, Rejection> {
        let reject = |reason: String| Rejection::one(Stage::Topic, "topic", reason);
        let rest = topic
            .strip_prefix(self.prefix.as_str())
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(|| reject(format!("{topic:?} is not under {:?}", self.prefix)))?;
        let levels: Vec<&str> = rest.split('/').collect();
        let [sector, sensors, sensor_id, kind] = levels.as_slice() else {
            return Err(reject(format!(
                "{topic:?}: expected {}/<sector>/sensors/<sensor_id>/<kind>",
                self.prefix
            )));
        };
        if *sensors != "sensors" {
            return Err(reject(format!(
                "{topic:?}: level after the sector must be \"sensors\""
            )));
        }
        if !is_valid_id(sector) {
            return Err(reject(format!("sector {sector:?}: not a valid id")));
        }
        if !is_valid_id(sensor_id) {
            return Err(reject(format!("sensor id {sensor_id:?}: not a valid id")));
        }
        let kind = MessageKind::from_topic_level(kind).ok_or_else(|| {
            reject(format!(
                "message kind {kind:?}: expected detections, status or remoteid"
            ))
        })?;
        Ok(SensorTopic {
            sector: (*sector).into(),
            sensor_id: (*sensor_id).into(),
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_round_trips_for_every_kind() {
        let layout = TopicLayout::default();
        for kind in MessageKind::ALL {
            let topic = layout.topic("tucson-1", "radar-3", kind);
            let parsed = layout.parse(&topic).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(parsed.sector, "tucson-1");
            assert_eq!(parsed.sensor_id, "radar-3");
            assert_eq!(parsed.kind, kind);
        }
        assert_eq!(layout.filter_all(), "dronewatch/+/sensors/+/+");
    }

    #[test]
    fn multi_level_prefix_works() {
        let layout = TopicLayout::new("test/abc").unwrap_or_default();
        let parsed = layout.parse("test/abc/s1/sensors/rid-1/remoteid");
        assert_eq!(parsed.map(|t| t.kind), Ok(MessageKind::RemoteIdFlat));
        assert!(layout.parse("test/abcd/s1/sensors/rid-1/remoteid").is_err());
    }

    #[test]
    fn bad_topics_are_refused_with_a_reason() {
        let layout = TopicLayout::default();
        for topic in [
            "other/s/sensors/x/detections",
            "dronewatch/s/sensors/x",
            "dronewatch/s/probes/x/detections",
            "dronewatch/s/sensors/x/tracks",
            "dronewatch/s/sensors//detections",
            "dronewatch/s/sensors/x y/detections",
            "dronewatch/s/sensors/x/detections/extra",
        ] {
            let err = layout
                .parse(topic)
                .err()
                .unwrap_or_else(|| panic!("{topic}"));
            assert_eq!(err.stage, Stage::Topic);
            assert_eq!(err.field(), "topic");
            assert!(!err.reason().is_empty());
        }
    }

    #[test]
    fn prefixes_with_wildcards_or_empty_levels_are_refused() {
        for p in ["", "a/", "/a", "a//b", "a/+", "#"] {
            assert!(TopicLayout::new(p).is_err(), "{p:?}");
        }
    }

    #[test]
    fn ids_allow_the_documented_characters_only() {
        assert!(is_valid_id("radar-3.north:A_1"));
        for bad in ["", "-x", "a/b", "a+b", "a#", "a b", "é"] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
        assert!(is_valid_id(&"a".repeat(128)));
        assert!(!is_valid_id(&"a".repeat(129)));
    }
}
