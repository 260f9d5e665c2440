//! The one definition of an event's hash (docs/store.md, "The hash chain").
//!
//! `hash(n) = SHA-256(hash(n-1) || encoding of every stored field of event n)`, where
//! `hash(0)` is 32 zero bytes, or the retention anchor's hash once a prefix was pruned.
//! Every field is encoded unambiguously (fixed widths, length prefixes, presence tags), so
//! no two different events share an encoding. Verify hashes the values exactly as the
//! database holds them, so anything edited in a row changes the hash.

use sha2::{Digest, Sha256};

/// The previous hash of a chain's first event.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// Names the encoding; a future format would change it, never reuse it.
pub const FORMAT_TAG: &[u8] = b"dronewatch-event-v1";

/// The stored fields of one event, as raw values (text fields as their UTF-8 bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventFields<'a> {
    /// `observations`, `tracks` or `records`.
    pub chain: &'a [u8],
    pub seq: u64,
    /// `EventKind::as_str`.
    pub kind: &'a [u8],
    pub t_ns: i64,
    pub stored_at_ns: i64,
    pub source: Option<&'a [u8]>,
    pub serial: Option<&'a [u8]>,
    pub track_id: Option<u64>,
    /// Latitude and longitude in degrees, height in metres.
    pub position: Option<[f64; 3]>,
    pub idempotency_key: Option<&'a [u8]>,
    pub body: &'a [u8],
}

/// SHA-256 over `prev` and the encoding of `e`:
///
/// ```text
/// prev[32] || bytes(FORMAT_TAG) || bytes(chain) || u64(seq) || bytes(kind) || i64(t_ns)
///   || i64(stored_at_ns) || opt(bytes(source)) || opt(bytes(serial)) || opt(u64(track_id))
///   || opt(f64(lat) || f64(lon) || f64(h)) || opt(bytes(idempotency_key)) || bytes(body)
/// bytes(b) = u64(len(b)) || b      u64, i64 = 8 bytes big-endian (two's complement)
/// f64 = IEEE 754 binary64 bits, big-endian      opt(x) = 0x00 if absent, 0x01 || x
/// ```
pub fn event_hash(prev: &[u8; 32], e: &EventFields<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    put_bytes(&mut h, FORMAT_TAG);
    put_bytes(&mut h, e.chain);
    h.update(e.seq.to_be_bytes());
    put_bytes(&mut h, e.kind);
    h.update(e.t_ns.to_be_bytes());
    h.update(e.stored_at_ns.to_be_bytes());
    put_opt_bytes(&mut h, e.source);
    put_opt_bytes(&mut h, e.serial);
    match e.track_id {
        None => h.update([0u8]),
        Some(id) => {
            h.update([1u8]);
            h.update(id.to_be_bytes());
        }
    }
    match e.position {
        None => h.update([0u8]),
        Some(p) => {
            h.update([1u8]);
            for v in p {
                h.update(v.to_bits().to_be_bytes());
            }
        }
    }
    put_opt_bytes(&mut h, e.idempotency_key);
    put_bytes(&mut h, e.body);
    h.finalize().into()
}

fn put_bytes(h: &mut Sha256, b: &[u8]) {
    h.update((b.len() as u64).to_be_bytes());
    h.update(b);
}

fn put_opt_bytes(h: &mut Sha256, b: Option<&[u8]>) {
    match b {
        None => h.update([0u8]),
        Some(b) => {
            h.update([1u8]);
            put_bytes(h, b);
        }
    }
}

/// Lower-case hex, for reports and error messages.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EventFields<'static> {
        EventFields {
            chain: b"records",
            seq: 7,
            kind: b"sighting",
            t_ns: 1_700_000_000_123_456_789,
            stored_at_ns: 1_700_000_001_000_000_000,
            source: Some(b"agent-12"),
            serial: Some(b"1581F5FKD229400CX5"),
            track_id: Some(42),
            position: Some([31.5, -110.25, 1234.5]),
            idempotency_key: Some(b"c-1"),
            body: br#"{"note":"two rotors"}"#,
        }
    }

    /// The published test vector of docs/store.md; it was computed independently with
    /// Python's hashlib from the byte layout written there, so this test pins the format.
    #[test]
    fn matches_the_documented_test_vector() {
        let h = event_hash(&GENESIS_HASH, &sample());
        assert_eq!(
            to_hex(&h),
            "e1c17ef1fe81db90d6526577f6df9eacf60060d2db4973abea3cec01dce03b2d"
        );
    }

    /// Moving bytes between adjacent fields, or from absent to empty, changes the hash:
    /// the length prefixes and presence tags make the encoding unambiguous.
    #[test]
    fn field_boundaries_and_absence_are_hashed() {
        let base = sample();
        let h0 = event_hash(&GENESIS_HASH, &base);
        let shifted = EventFields {
            source: Some(b"agent-1"),
            serial: Some(b"21581F5FKD229400CX5"),
            ..base
        };
        assert_ne!(h0, event_hash(&GENESIS_HASH, &shifted));
        let none = EventFields {
            idempotency_key: None,
            ..base
        };
        let empty = EventFields {
            idempotency_key: Some(b""),
            ..base
        };
        assert_ne!(
            event_hash(&GENESIS_HASH, &none),
            event_hash(&GENESIS_HASH, &empty)
        );
        let mut prev = GENESIS_HASH;
        prev[31] = 1;
        assert_ne!(h0, event_hash(&prev, &base));
    }
}
