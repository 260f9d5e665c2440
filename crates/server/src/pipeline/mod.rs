//! The pipeline of one sector node, as DESIGN.md draws it:
//!
//! ```text
//! sources ─┐                        ┌─► fusion ──► picture (live hub) ──► threat ──► alerts, warnings
//! API ─────┴─► journal (event log) ─┤                 │                     │
//!                                    └─► sensors, agents, sightings (live)   └─► recorder (event log)
//! ```
//!
//! - The **journal** writes every input to the event log first, in batches (one store
//!   transaction each), and only then acknowledges it to its sender and passes it on. The
//!   log is the truth: what fusion saw is exactly what the log holds, in its order.
//! - **Fusion** owns the tracker; **threat** owns the warner, the threat assessor and the
//!   alert book. Both are pure crates driven by one task each.
//! - The **recorder** writes what the pipeline derives (tracks, alerts, warnings) to the log.
//!   It is separate from the journal so that no queue waits on itself.
//!
//! Every queue is bounded: a slow stage slows the stages before it, down to the sensors
//! (TCP windows, MQTT acknowledgements, HTTP responses), and memory stays flat.

pub mod fusion;
pub mod journal;
pub mod recorder;
pub mod threat;

use dronewatch_model::{AgentFix, Observation};
use dronewatch_store::{Appended, NewEvent};
use tokio::sync::{mpsc, oneshot};

use crate::sources::SourceEvent;
use crate::view::SightingReport;

/// Why an input was not taken.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum IngestError {
    #[error("the event log refused the write: {0}")]
    Store(String),
    #[error("the node is shutting down")]
    Stopped,
}

/// What the journal answers a sender that waits: where its event landed.
pub type Ack = oneshot::Sender<Result<Appended, IngestError>>;

/// An input that is journaled, then passed on.
#[derive(Debug)]
pub enum Input {
    Source(SourceEvent),
    /// A field sighting report; with a bearing it also becomes an observation for fusion.
    Sighting(Box<SightingReport>, Option<Observation>),
    /// An agent's own position (field app, CoT).
    AgentFix(AgentFix),
    /// An event for the log only (audit, operator actions, configuration changes).
    Record(NewEvent),
}

#[derive(Debug)]
pub struct Submission {
    pub input: Input,
    pub ack: Option<Ack>,
}

/// The handle the API and the acknowledging sources submit through.
#[derive(Debug, Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Submission>,
}

impl Ingest {
    pub fn new(tx: mpsc::Sender<Submission>) -> Self {
        Self { tx }
    }

    /// Submits and waits until the input is durable in the log.
    pub async fn submit(&self, input: Input) -> Result<Appended, IngestError> {
        self.submit_pipelined(input)
            .await?
            .await
            .map_err(|_| IngestError::Stopped)?
    }

    /// Submits and returns a receiver for the acknowledgement, so a sender can keep several
    /// inputs in flight and acknowledge them in order (MQTT).
    pub async fn submit_pipelined(
        &self,
        input: Input,
    ) -> Result<oneshot::Receiver<Result<Appended, IngestError>>, IngestError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Submission {
                input,
                ack: Some(ack),
            })
            .await
            .map_err(|_| IngestError::Stopped)?;
        Ok(done)
    }

    /// Submits without waiting for the log.
    pub async fn send(&self, input: Input) -> Result<(), IngestError> {
        self.tx
            .send(Submission { input, ack: None })
            .await
            .map_err(|_| IngestError::Stopped)
    }

    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}
