//! What both backends share about event rows: checks on the way in, the raw row on the way
//! out, and the column list.

use dronewatch_model::{Lla, TimeNs};

use crate::chain::{self, EventFields};
use crate::{Chain, EventKind, NewEvent, StoreError, StoredEvent};

/// The columns of every `events_<chain>` table, in the order the readers decode them.
pub(crate) const COLUMNS: &str = "seq, kind, t_ns, stored_at_ns, source, serial, track_id, \
                                  lat_deg, lon_deg, h_m, idempotency_key, body, hash";

/// The table holding a chain.
pub(crate) fn table(chain: Chain) -> &'static str {
    match chain {
        Chain::Observations => "events_observations",
        Chain::Tracks => "events_tracks",
        Chain::Records => "events_records",
    }
}

pub(crate) fn kind_from_str(s: &str) -> Option<EventKind> {
    use EventKind::*;
    [
        Observation,
        Track,
        Alert,
        Warning,
        Sighting,
        SensorHealth,
        SensorRecord,
        AgentFix,
        OperatorAction,
        Audit,
        Config,
        Delivery,
    ]
    .into_iter()
    .find(|k| k.as_str() == s)
}

/// Wall time now.
pub(crate) fn now_ns() -> TimeNs {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    TimeNs(since.map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)))
}

/// Checks an event before it is stored, and makes its position canonical: both backends
/// must store (and hash) the same values and give them back unchanged.
pub(crate) fn check(index: usize, e: &mut NewEvent) -> Result<(), StoreError> {
    let invalid = |field: &str, reason: &str| StoreError::InvalidEvent {
        index,
        field: field.to_string(),
        reason: reason.to_string(),
    };
    // PostgreSQL text cannot hold NUL; refuse it on both backends alike.
    let no_nul = |field: &str, s: &Option<String>| match s {
        Some(s) if s.contains('\0') => Err(invalid(field, "contains a NUL character")),
        _ => Ok(()),
    };
    no_nul("source", &e.source)?;
    no_nul("serial", &e.serial)?;
    no_nul("idempotency_key", &e.idempotency_key)?;
    if e.body.contains('\0') {
        return Err(invalid("body", "contains a NUL character"));
    }
    if let Some(p) = &mut e.position {
        if !(p.lat_deg.is_finite() && (-90.0..=90.0).contains(&p.lat_deg)) {
            return Err(invalid("position.lat_deg", "not a latitude in [-90, 90]"));
        }
        if !(p.lon_deg.is_finite() && (-180.0..=180.0).contains(&p.lon_deg)) {
            return Err(invalid(
                "position.lon_deg",
                "not a longitude in [-180, 180]",
            ));
        }
        if !p.h_m.is_finite() {
            return Err(invalid("position.h_m", "not finite"));
        }
        // SQLite stores a REAL without a fraction as an integer, which turns -0.0 into 0.0.
        *p = Lla::new(p.lat_deg + 0.0, p.lon_deg + 0.0, p.h_m + 0.0);
    }
    Ok(())
}

/// The hash input of an event about to be appended.
pub(crate) fn fields_of<'a>(
    chain: Chain,
    seq: u64,
    stored_at: TimeNs,
    e: &'a NewEvent,
) -> EventFields<'a> {
    EventFields {
        chain: chain.as_str().as_bytes(),
        seq,
        kind: e.kind.as_str().as_bytes(),
        t_ns: e.t.0,
        stored_at_ns: stored_at.0,
        source: e.source.as_deref().map(str::as_bytes),
        serial: e.serial.as_deref().map(str::as_bytes),
        track_id: e.track_id,
        position: e.position.map(|p| [p.lat_deg, p.lon_deg, p.h_m]),
        idempotency_key: e.idempotency_key.as_deref().map(str::as_bytes),
        body: e.body.as_bytes(),
    }
}

/// A row as the database holds it, before any interpretation: verify hashes exactly this.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawEvent {
    pub seq: i64,
    pub kind: Vec<u8>,
    pub t_ns: i64,
    pub stored_at_ns: i64,
    pub source: Option<Vec<u8>>,
    pub serial: Option<Vec<u8>>,
    /// A u64 stored as the i64 with the same bits (docs/store.md).
    pub track_id: Option<i64>,
    pub lat_deg: Option<f64>,
    pub lon_deg: Option<f64>,
    pub h_m: Option<f64>,
    pub idempotency_key: Option<Vec<u8>>,
    pub body: Vec<u8>,
    pub hash: Vec<u8>,
}

impl RawEvent {
    /// A position is stored whole or not at all.
    fn position(&self) -> Result<Option<[f64; 3]>, String> {
        match (self.lat_deg, self.lon_deg, self.h_m) {
            (Some(a), Some(b), Some(c)) => Ok(Some([a, b, c])),
            (None, None, None) => Ok(None),
            _ => Err("position is partly NULL".to_string()),
        }
    }

    pub(crate) fn seq_u64(&self) -> Result<u64, String> {
        u64::try_from(self.seq).map_err(|_| format!("seq {} is negative", self.seq))
    }

    pub(crate) fn fields<'a>(&'a self, chain: Chain) -> Result<EventFields<'a>, String> {
        Ok(EventFields {
            chain: chain.as_str().as_bytes(),
            seq: self.seq_u64()?,
            kind: &self.kind,
            t_ns: self.t_ns,
            stored_at_ns: self.stored_at_ns,
            source: self.source.as_deref(),
            serial: self.serial.as_deref(),
            track_id: self.track_id.map(|v| v as u64),
            position: self.position()?,
            idempotency_key: self.idempotency_key.as_deref(),
            body: &self.body,
        })
    }

    /// The stored hash, if it has the right length.
    pub(crate) fn hash32(&self) -> Result<[u8; 32], String> {
        <[u8; 32]>::try_from(self.hash.as_slice())
            .map_err(|_| format!("stored hash has {} bytes, not 32", self.hash.len()))
    }

    /// Checks the row against `prev` and returns its hash.
    pub(crate) fn check_against(&self, chain: Chain, prev: &[u8; 32]) -> Result<[u8; 32], String> {
        let stored = self.hash32()?;
        let computed = chain::event_hash(prev, &self.fields(chain)?);
        if computed != stored {
            return Err(format!(
                "hash mismatch: stored {}, computed {} from the fields and the previous hash",
                chain::to_hex(&stored),
                chain::to_hex(&computed)
            ));
        }
        Ok(stored)
    }

    pub(crate) fn into_stored(self, chain: Chain) -> Result<StoredEvent, StoreError> {
        let seq = self.seq;
        let bad =
            |what: String| StoreError::Backend(format!("{} seq {seq}: {what}", chain.as_str()));
        let text = |name: &str, b: Vec<u8>| {
            String::from_utf8(b).map_err(|_| bad(format!("{name} is not UTF-8")))
        };
        let opt_text = |name: &str, b: Option<Vec<u8>>| b.map(|b| text(name, b)).transpose();
        let position = self.position().map_err(bad)?;
        let hash = self.hash32().map_err(bad)?;
        let kind_s = text("kind", self.kind)?;
        let kind = kind_from_str(&kind_s).ok_or_else(|| bad(format!("unknown kind {kind_s:?}")))?;
        Ok(StoredEvent {
            chain,
            seq: u64::try_from(seq).map_err(|_| bad("negative seq".to_string()))?,
            kind,
            t: TimeNs(self.t_ns),
            stored_at: TimeNs(self.stored_at_ns),
            source: opt_text("source", self.source)?,
            serial: opt_text("serial", self.serial)?,
            track_id: self.track_id.map(|v| v as u64),
            position: position.map(|[a, b, c]| Lla::new(a, b, c)),
            idempotency_key: opt_text("idempotency_key", self.idempotency_key)?,
            body: text("body", self.body)?,
            hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(position: Option<Lla>) -> NewEvent {
        NewEvent {
            kind: EventKind::Observation,
            t: TimeNs(1),
            source: None,
            serial: None,
            track_id: None,
            position,
            idempotency_key: None,
            body: "{}".to_string(),
        }
    }

    #[test]
    fn kinds_round_trip_their_names() {
        for k in [
            EventKind::Observation,
            EventKind::OperatorAction,
            EventKind::Config,
        ] {
            assert_eq!(kind_from_str(k.as_str()), Some(k));
        }
        assert_eq!(kind_from_str("nope"), None);
    }

    #[test]
    fn positions_are_checked_and_made_canonical() {
        let mut e = ev(Some(Lla::new(-0.0, -0.0, -0.0)));
        assert!(check(0, &mut e).is_ok());
        let p = e.position.unwrap_or(Lla::new(1.0, 1.0, 1.0));
        assert_eq!(
            [p.lat_deg, p.lon_deg, p.h_m].map(f64::to_bits),
            [0.0f64.to_bits(); 3]
        );
        for (bad, field) in [
            (Lla::new(91.0, 0.0, 0.0), "position.lat_deg"),
            (Lla::new(0.0, 180.5, 0.0), "position.lon_deg"),
            (Lla::new(0.0, 0.0, f64::NAN), "position.h_m"),
        ] {
            match check(3, &mut ev(Some(bad))) {
                Err(StoreError::InvalidEvent {
                    index: 3, field: f, ..
                }) => assert_eq!(f, field),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let mut e = ev(None);
        e.body = "a\0b".to_string();
        assert!(matches!(
            check(0, &mut e),
            Err(StoreError::InvalidEvent { .. })
        ));
    }
}
