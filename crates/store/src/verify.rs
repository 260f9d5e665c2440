//! Walking a chain from its anchor, for `verify` and before `prune` deletes a prefix. The
//! backends feed rows in seq order from one consistent snapshot; this decides.

use crate::chain::to_hex;
use crate::event::RawEvent;
use crate::{Chain, ChainReport};

/// A chain's `chain_state` row as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChainState {
    pub anchor_seq: i64,
    pub anchor_hash: Vec<u8>,
    pub head_seq: i64,
    pub head_hash: Vec<u8>,
}

/// The walk so far.
#[derive(Debug)]
pub(crate) struct Walk {
    chain: Chain,
    anchor_seq: u64,
    head: Option<(u64, Vec<u8>)>,
    prev: [u8; 32],
    expected: u64,
    checked: u64,
    last_seq: u64,
    bad: Option<(u64, String)>,
}

impl Walk {
    /// Starts after the anchor; a missing or malformed state row is the first failure.
    pub(crate) fn new(chain: Chain, state: Option<ChainState>) -> Walk {
        let mut w = Walk {
            chain,
            anchor_seq: 0,
            head: None,
            prev: [0; 32],
            expected: 1,
            checked: 0,
            last_seq: 0,
            bad: None,
        };
        match state {
            None => {
                w.bad = Some((
                    0,
                    "missing anchor: the chain_state row (anchor and head) is gone".into(),
                ))
            }
            Some(s) => {
                let anchor = u64::try_from(s.anchor_seq).ok();
                let hash = <[u8; 32]>::try_from(s.anchor_hash.as_slice()).ok();
                match (anchor, hash, u64::try_from(s.head_seq)) {
                    (Some(a), Some(h), Ok(head)) => {
                        w.anchor_seq = a;
                        w.prev = h;
                        w.expected = a + 1;
                        w.last_seq = a;
                        w.head = Some((head, s.head_hash));
                    }
                    _ => w.bad = Some((0, format!("malformed anchor or head: {s:?}"))),
                }
            }
        }
        w
    }

    /// True while no failure was found (the caller stops feeding rows after one).
    pub(crate) fn ok(&self) -> bool {
        self.bad.is_none()
    }

    /// The hash the next event must follow (the last checked one's, or the anchor's).
    /// Feeds the next row in seq order (or the reason it could not be read).
    pub(crate) fn step(&mut self, row: Result<RawEvent, String>) {
        if self.bad.is_some() {
            return;
        }
        let row = match row {
            Ok(r) => r,
            Err(why) => {
                self.bad = Some((self.expected, format!("unreadable row: {why}")));
                return;
            }
        };
        let seq = match row.seq_u64() {
            Ok(s) => s,
            Err(why) => {
                self.bad = Some((self.expected, why));
                return;
            }
        };
        if seq != self.expected {
            self.bad = Some(if seq <= self.anchor_seq {
                (
                    seq,
                    format!(
                        "seq {seq} lies at or before the anchor (seq {})",
                        self.anchor_seq
                    ),
                )
            } else {
                (
                    self.expected,
                    format!("gap in seq: expected {}, found {seq}", self.expected),
                )
            });
            return;
        }
        match row.check_against(self.chain, &self.prev) {
            Ok(h) => {
                self.prev = h;
                self.expected += 1;
                self.checked += 1;
                self.last_seq = seq;
            }
            Err(why) if seq == self.anchor_seq + 1 => {
                let from = if self.anchor_seq == 0 {
                    "the chain's start (32 zero bytes)".to_string()
                } else {
                    format!("the anchor (seq {})", self.anchor_seq)
                };
                self.bad = Some((seq, format!("{why}; this is the first event after {from}")));
            }
            Err(why) => self.bad = Some((seq, why)),
        }
    }

    /// For prune: the hash of event `end`, if every event from the anchor to it checked.
    pub(crate) fn prefix_hash(&self, end: u64) -> Result<[u8; 32], (u64, String)> {
        if let Some(bad) = &self.bad {
            return Err(bad.clone());
        }
        if self.last_seq != end {
            return Err((
                self.last_seq + 1,
                format!("missing: the events stop at seq {}", self.last_seq),
            ));
        }
        Ok(self.prev)
    }

    /// Ends the walk: the last event must be the head recorded at the last append.
    pub(crate) fn finish(mut self) -> ChainReport {
        if self.bad.is_none()
            && let Some((head_seq, head_hash)) = &self.head
        {
            if *head_seq != self.last_seq {
                self.bad = Some((
                    self.last_seq.min(*head_seq) + 1,
                    format!(
                        "the log ends at seq {} but its head says {head_seq}: events at the \
                         end were removed, or the head was altered",
                        self.last_seq
                    ),
                ));
            } else if head_hash.as_slice() != self.prev {
                self.bad = Some((
                    self.last_seq,
                    format!(
                        "the head's hash {} differs from the last event's {}",
                        to_hex(head_hash),
                        to_hex(&self.prev)
                    ),
                ));
            }
        }
        ChainReport {
            chain: self.chain,
            anchor_seq: self.anchor_seq,
            last_seq: self.last_seq,
            events_checked: self.checked,
            first_bad: self.bad,
            last_hash_hex: to_hex(&self.prev),
        }
    }
}
