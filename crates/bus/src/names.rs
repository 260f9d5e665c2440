//! Names on the bus: subjects `dw.<sector>.<kind>`, message ids `<sector>.<chain>.<seq>`,
//! and the JetStream stream that holds a sector (`DW_<sector>`).
//!
//! Every name part is `[A-Za-z0-9_-]+`: no `.` (the NATS token separator), no wildcards, no
//! white space, nothing a stream or consumer name may not hold. Checking it here means a
//! bad name is refused with a message at the edge instead of silently matching the wrong
//! subjects on the server.

use std::fmt;

use bytes::Bytes;

use crate::{BusError, BusMessage};

/// The first token of every subject.
pub const SUBJECT_PREFIX: &str = "dw";
/// Stream names are this plus the sector name, case kept (`DW_sector-7`).
pub const STREAM_PREFIX: &str = "DW_";
/// Longest name part accepted: keeps subjects, ids and consumer names well inside NATS limits.
pub const MAX_NAME_LEN: usize = 64;

/// `true` when `s` may be a sector, kind, chain or durable name: `[A-Za-z0-9_-]{1,64}`.
pub fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub(crate) fn check_name(what: &str, s: &str) -> Result<(), BusError> {
    if is_valid_name(s) {
        Ok(())
    } else {
        Err(BusError::Subject(format!(
            "bad {what} name {s:?}: want 1 to {MAX_NAME_LEN} of [A-Za-z0-9_-]"
        )))
    }
}

/// The subject for a sector and kind, checked: sector and kind are `[A-Za-z0-9_-]+`.
pub fn subject(sector: &str, kind: &str) -> Result<String, BusError> {
    check_name("sector", sector)?;
    check_name("kind", kind)?;
    Ok(format!("{SUBJECT_PREFIX}.{sector}.{kind}"))
}

/// `(sector, kind)` of a subject `dw.<sector>.<kind>`, checked like [`subject`].
pub fn parse_subject(subject: &str) -> Result<(&str, &str), BusError> {
    let mut parts = subject.split('.');
    let (Some(prefix), Some(sector), Some(kind), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BusError::Subject(format!(
            "subject {subject:?} is not dw.<sector>.<kind>"
        )));
    };
    if prefix != SUBJECT_PREFIX {
        return Err(BusError::Subject(format!(
            "subject {subject:?} does not start with \"{SUBJECT_PREFIX}.\""
        )));
    }
    check_name("sector", sector)?;
    check_name("kind", kind)?;
    Ok((sector, kind))
}

/// The JetStream stream holding a sector's messages.
pub fn stream_name(sector: &str) -> Result<String, BusError> {
    check_name("sector", sector)?;
    Ok(format!("{STREAM_PREFIX}{sector}"))
}

/// The sector of a stream named by [`stream_name`], or `None` for any other stream.
pub fn sector_of_stream(stream: &str) -> Option<&str> {
    stream
        .strip_prefix(STREAM_PREFIX)
        .filter(|sector| is_valid_name(sector))
}

/// The subjects a sector's stream captures: `dw.<sector>.>`.
pub fn stream_subjects(sector: &str) -> Result<String, BusError> {
    check_name("sector", sector)?;
    Ok(format!("{SUBJECT_PREFIX}.{sector}.>"))
}

/// A message id `<sector>.<chain>.<seq>`: stable across retries, so the bus stores it once.
///
/// `chain` names one ordered log of the sector (e.g. the store's event log); `seq` rises
/// along it, not necessarily by one. A subscriber that keeps, per `(sector, chain)`, what it
/// has handled can drop redeliveries (see [`crate::SeenIds`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId {
    pub sector: String,
    pub chain: String,
    pub seq: u64,
}

impl MessageId {
    pub fn new(sector: &str, chain: &str, seq: u64) -> Result<MessageId, BusError> {
        check_name("sector", sector)?;
        check_name("chain", chain)?;
        Ok(MessageId {
            sector: sector.to_owned(),
            chain: chain.to_owned(),
            seq,
        })
    }

    /// Parses `<sector>.<chain>.<seq>` (`seq` decimal, no sign, no leading zeros).
    pub fn parse(id: &str) -> Result<MessageId, BusError> {
        let bad = |why: &str| BusError::Subject(format!("message id {id:?}: {why}"));
        let mut parts = id.split('.');
        let (Some(sector), Some(chain), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("not <sector>.<chain>.<seq>"));
        };
        if seq.is_empty()
            || !seq.bytes().all(|b| b.is_ascii_digit())
            || (seq.len() > 1 && seq.starts_with('0'))
        {
            return Err(bad("seq is not a decimal number"));
        }
        let seq = seq.parse().map_err(|_| bad("seq out of range"))?;
        MessageId::new(sector, chain, seq)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.sector, self.chain, self.seq)
    }
}

impl BusMessage {
    /// A message of `kind` from `sector`, with the id `<sector>.<chain>.<seq>`.
    pub fn new(
        sector: &str,
        kind: &str,
        chain: &str,
        seq: u64,
        payload: Bytes,
    ) -> Result<BusMessage, BusError> {
        Ok(BusMessage {
            subject: subject(sector, kind)?,
            id: MessageId::new(sector, chain, seq)?.to_string(),
            payload,
        })
    }

    /// Checks what the bus needs of a message: a `dw.<sector>.<kind>` subject and an id it
    /// can carry in a header. Returns the sector and kind.
    ///
    /// The id only has to be non-empty printable ASCII without spaces (JetStream takes any
    /// header value); ids made by [`BusMessage::new`] are also `<sector>.<chain>.<seq>`.
    pub fn check(&self) -> Result<(&str, &str), BusError> {
        let (sector, kind) = parse_subject(&self.subject)?;
        if self.id.is_empty()
            || self.id.len() > 256
            || !self.id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(BusError::Subject(format!(
                "message id {:?} on {}: want 1 to 256 printable ASCII characters",
                self.id, self.subject
            )));
        }
        Ok((sector, kind))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert_eq!(subject("tucson", "tracks").unwrap(), "dw.tucson.tracks");
        assert_eq!(
            parse_subject("dw.el-paso_2.alerts").unwrap(),
            ("el-paso_2", "alerts")
        );
        assert!(parse_subject("dw.a.b.c").is_err());
        assert!(parse_subject("xx.a.b").is_err());
        assert!(parse_subject("dw.a").is_err());
        assert!(parse_subject("dw.*.b").is_err());
        assert!(parse_subject("dw.>.b").is_err());
        assert!(subject("a b", "k").is_err());
        assert!(subject("a", "").is_err());
        assert_eq!(stream_name("Sec-1").unwrap(), "DW_Sec-1");
        assert_eq!(sector_of_stream("DW_Sec-1"), Some("Sec-1"));
        assert_eq!(sector_of_stream("DW_"), None);
        assert_eq!(sector_of_stream("KV_x"), None);
        assert_eq!(
            MessageId::parse("s.c.42").unwrap(),
            MessageId::new("s", "c", 42).unwrap()
        );
        for bad in [
            "s.c", "s.c.", "s.c.-1", "s.c.01", "s.c.+1", "s..1", "s.c.1.2", "",
        ] {
            assert!(MessageId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(MessageId::parse("s.c.18446744073709551616").is_err());
        assert_eq!(
            MessageId::parse("s.c.18446744073709551615").unwrap().seq,
            u64::MAX
        );
        let m = BusMessage::new("s", "tracks", "log", 7, Bytes::new()).unwrap();
        assert_eq!(
            (m.subject.as_str(), m.id.as_str()),
            ("dw.s.tracks", "s.log.7")
        );
        assert_eq!(m.check().unwrap(), ("s", "tracks"));
        let mut bad = m.clone();
        bad.id = "has space".into();
        assert!(bad.check().is_err());
    }

    fn name() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_-]{1,64}"
    }

    proptest! {
        #[test]
        fn valid_names_round_trip(sector in name(), kind in name(), chain in name(), seq: u64) {
            let s = subject(&sector, &kind).unwrap();
            prop_assert_eq!(parse_subject(&s).unwrap(), (sector.as_str(), kind.as_str()));
            let id = MessageId::new(&sector, &chain, seq).unwrap();
            prop_assert_eq!(MessageId::parse(&id.to_string()).unwrap(), id);
            let stream = stream_name(&sector).unwrap();
            prop_assert_eq!(sector_of_stream(&stream), Some(sector.as_str()));
            let m = BusMessage::new(&sector, &kind, &chain, seq, Bytes::new()).unwrap();
            prop_assert_eq!(m.check().unwrap(), (sector.as_str(), kind.as_str()));
        }

        #[test]
        fn names_with_any_other_character_are_refused(
            pre in "[A-Za-z0-9_-]{0,8}",
            bad in "[^A-Za-z0-9_-]",
            post in "[A-Za-z0-9_-]{0,8}",
        ) {
            let n = format!("{pre}{bad}{post}");
            prop_assert!(subject(&n, "k").is_err());
            prop_assert!(subject("s", &n).is_err());
            prop_assert!(MessageId::new(&n, "c", 1).is_err());
            prop_assert!(MessageId::new("s", &n, 1).is_err());
            prop_assert!(stream_name(&n).is_err());
        }

        #[test]
        fn too_long_names_are_refused(n in "[a-z]{65,100}") {
            prop_assert!(subject(&n, "k").is_err());
        }

        #[test]
        fn parsers_never_panic(s in any::<String>()) {
            let _ = parse_subject(&s);
            let _ = MessageId::parse(&s);
            let _ = sector_of_stream(&s);
            if let Ok((sector, kind)) = parse_subject(&s) {
                prop_assert_eq!(subject(sector, kind).unwrap(), s.clone());
            }
            if let Ok(id) = MessageId::parse(&s) {
                prop_assert_eq!(id.to_string(), s);
            }
        }

        #[test]
        fn dotted_strings_parse_like_they_print(a in "[ -~]{0,12}", b in "[ -~]{0,12}", c in "[ -~]{0,12}") {
            let s = format!("{a}.{b}.{c}");
            if let Ok(id) = MessageId::parse(&s) {
                prop_assert_eq!(id.to_string(), s.clone());
            }
            let subj = format!("dw.{a}.{b}");
            if parse_subject(&subj).is_ok() {
                prop_assert!(is_valid_name(&a) && is_valid_name(&b));
            }
        }
    }
}
