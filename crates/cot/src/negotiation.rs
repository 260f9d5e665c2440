//! TAK Protocol negotiation on a server stream (ATAK-CIV commoncommo `protocol.txt`). All
//! three messages are CoT XML events:
//!
//! - the server may announce `t-x-takp-v`: `<TakControl><TakProtocolSupport version="1"/>`;
//! - the client asks with `t-x-takp-q`: `<TakControl><TakRequest version="1"/>`;
//! - the server answers `t-x-takp-r`: `<TakControl><TakResponse status="true"/>`.
//!
//! After a `true` answer both sides speak TAK Protocol v1 with stream framing.

use crate::{Detail, Event, Point, UNKNOWN};

pub const SUPPORT_TYPE: &str = "t-x-takp-v";
pub const REQUEST_TYPE: &str = "t-x-takp-q";
pub const RESPONSE_TYPE: &str = "t-x-takp-r";

/// How long a negotiation message is valid [ms].
const STALE_MS: i64 = 60_000;

/// What a negotiation event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiation {
    /// The server offers this version of TAK Protocol.
    Offers(u32),
    /// The client asks for this version.
    Requests(u32),
    /// The server's answer to a request.
    Answer { accepted: bool },
}

/// The negotiation message `e` is, if it is one.
pub fn read(e: &Event) -> Option<Negotiation> {
    let attr = |element: &str, name: &str| {
        e.detail
            .element_attrs(element)?
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    };
    let version = |element: &str| attr(element, "version").and_then(|v| v.trim().parse().ok());
    match e.cot_type.as_str() {
        SUPPORT_TYPE => version("TakProtocolSupport").map(Negotiation::Offers),
        REQUEST_TYPE => version("TakRequest").map(Negotiation::Requests),
        RESPONSE_TYPE => Some(Negotiation::Answer {
            accepted: attr("TakResponse", "status").is_some_and(|s| s.trim() == "true"),
        }),
        _ => None,
    }
}

/// The event that says `n`, from `uid` at `now_ms`.
pub fn event(n: Negotiation, uid: &str, now_ms: i64) -> Event {
    let (cot_type, element, attr) = match n {
        Negotiation::Offers(v) => (
            SUPPORT_TYPE,
            "TakProtocolSupport",
            ("version", v.to_string()),
        ),
        Negotiation::Requests(v) => (REQUEST_TYPE, "TakRequest", ("version", v.to_string())),
        Negotiation::Answer { accepted } => (
            RESPONSE_TYPE,
            "TakResponse",
            ("status", accepted.to_string()),
        ),
    };
    let mut detail = Detail::default();
    detail.push_parent(
        "TakControl",
        &[],
        &[(element, &[(attr.0, attr.1.as_str())])],
    );
    Event {
        uid: uid.to_owned(),
        cot_type: cot_type.to_owned(),
        how: "m-g".to_owned(),
        time_unix_ms: now_ms,
        start_unix_ms: now_ms,
        stale_unix_ms: now_ms.saturating_add(STALE_MS),
        point: Point {
            lat_deg: 0.0,
            lon_deg: 0.0,
            hae_m: 0.0,
            ce_m: UNKNOWN,
            le_m: UNKNOWN,
        },
        detail,
        ..Event::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_message_reads_back_through_xml() {
        for n in [
            Negotiation::Offers(1),
            Negotiation::Requests(1),
            Negotiation::Answer { accepted: true },
            Negotiation::Answer { accepted: false },
        ] {
            let xml = crate::to_xml(&event(n, "node-1", 1_700_000_000_000));
            let back = crate::parse_xml(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}: {xml}"));
            assert_eq!(read(&back), Some(n), "{xml}");
        }
        let mut other = event(Negotiation::Offers(1), "node-1", 0);
        other.cot_type = "a-f-G".into();
        assert_eq!(read(&other), None);
    }
}
