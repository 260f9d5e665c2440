//! The proto3 JSON mapping of SAPIENT messages (what the Dstl test harness and Apex write),
//! through `prost-reflect` and the file descriptor set embedded at build time.
//!
//! Parsing is strict the way protobuf's own JSON parsers are: unknown field names and
//! timestamps without a zone are errors. Both the JSON (camelCase) and the original
//! (snake_case) field names are accepted.

use std::sync::OnceLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};

use crate::{v1, v2};

static DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/sapient_descriptor_set.bin"));

/// Full protobuf names of the two `SapientMessage` types.
pub const V2_MESSAGE: &str = "sapient_msg.bsi_flex_335_v2_0.SapientMessage";
pub const V1_MESSAGE: &str = "sapient_msg.bsi_flex_335_v1_0.SapientMessage";

/// A JSON conversion failure.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("not a {message} in proto3 JSON: {source}")]
    Parse {
        message: &'static str,
        source: serde_json::Error,
    },
    #[error("cannot decode {message} for JSON output: {source}")]
    Decode {
        message: &'static str,
        source: prost::DecodeError,
    },
    #[error("embedded descriptor set lacks {0}")]
    Descriptor(&'static str),
    #[error("JSON output failed: {0}")]
    Serialize(serde_json::Error),
}

/// The pool of every SAPIENT message descriptor (v2.0 and v1.0).
pub fn descriptor_pool() -> Result<&'static DescriptorPool, JsonError> {
    static POOL: OnceLock<Option<DescriptorPool>> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(DESCRIPTOR_SET).ok())
        .as_ref()
        .ok_or(JsonError::Descriptor("(the whole set)"))
}

fn descriptor(name: &'static str) -> Result<MessageDescriptor, JsonError> {
    descriptor_pool()?
        .get_message_by_name(name)
        .ok_or(JsonError::Descriptor(name))
}

fn from_json<M: Message + Default>(json: &str, name: &'static str) -> Result<M, JsonError> {
    let desc = descriptor(name)?;
    let parse = |source| JsonError::Parse {
        message: name,
        source,
    };
    let mut de = serde_json::Deserializer::from_str(json);
    let dynamic = DynamicMessage::deserialize(desc, &mut de).map_err(parse)?;
    de.end().map_err(parse)?;
    // Same descriptors on both sides, so this cannot fail on a well-formed message.
    dynamic
        .transcode_to::<M>()
        .map_err(|source| JsonError::Decode {
            message: name,
            source,
        })
}

fn to_json<M: Message>(msg: &M, name: &'static str) -> Result<serde_json::Value, JsonError> {
    let desc = descriptor(name)?;
    let dynamic =
        DynamicMessage::decode(desc, msg.encode_to_vec().as_slice()).map_err(|source| {
            JsonError::Decode {
                message: name,
                source,
            }
        })?;
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &SerializeOptions::new())
        .map_err(JsonError::Serialize)
}

/// Parses a v2.0 `SapientMessage` from proto3 JSON.
pub fn v2_from_json(json: &str) -> Result<v2::SapientMessage, JsonError> {
    from_json(json, V2_MESSAGE)
}

/// Parses a v1.0 `SapientMessage` from proto3 JSON.
pub fn v1_from_json(json: &str) -> Result<v1::SapientMessage, JsonError> {
    from_json(json, V1_MESSAGE)
}

/// A v2.0 message as proto3 JSON (camelCase names, enum names as strings).
pub fn v2_to_json(msg: &v2::SapientMessage) -> Result<serde_json::Value, JsonError> {
    to_json(msg, V2_MESSAGE)
}

/// A v1.0 message as proto3 JSON.
pub fn v1_to_json(msg: &v1::SapientMessage) -> Result<serde_json::Value, JsonError> {
    to_json(msg, V1_MESSAGE)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn both_field_name_styles_parse_and_unknown_names_fail() {
        let camel = r#"{"nodeId": "a8654cdf-4328-47de-81fa-c495589e30c8"}"#;
        let snake = r#"{"node_id": "a8654cdf-4328-47de-81fa-c495589e30c8"}"#;
        assert_eq!(v2_from_json(camel).unwrap(), v2_from_json(snake).unwrap());
        let err = v2_from_json(r#"{"nodeIdentifier": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("nodeIdentifier"), "{err}");
        assert!(v2_from_json(r#"{"timestamp": "2023-07-07T12:44:17"}"#).is_err());
        assert!(v2_from_json("{} trailing").is_err());
    }

    #[test]
    fn json_round_trip() {
        let msg = v2_from_json(
            r#"{"timestamp": "2023-07-07T12:44:17.027638700Z", "nodeId": "x",
                "registrationAck": {"acceptance": true, "ackResponseReason": ["ok"]}}"#,
        )
        .unwrap();
        let json = v2_to_json(&msg).unwrap();
        assert_eq!(json["registrationAck"]["acceptance"], true);
        assert_eq!(v2_from_json(&json.to_string()).unwrap(), msg);
    }
}
