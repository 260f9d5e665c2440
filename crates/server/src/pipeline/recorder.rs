//! The recorder: writes what the pipeline derives (tracks, alerts, warnings) to the event
//! log, in batches. Nobody waits for it; a failed write is counted and logged, and the
//! events are rebuildable from the observations the journal kept.

use std::sync::Arc;

use dronewatch_store::{NewEvent, Store};
use tokio::sync::{Notify, mpsc};
use tracing::{error, info};

use crate::metrics::{Metrics, label};

#[derive(Debug)]
pub struct Recorder {
    pub store: Store,
    pub rx: mpsc::Receiver<Vec<NewEvent>>,
    pub metrics: Metrics,
    pub max_batch: usize,
    pub committed: Arc<Notify>,
}

impl Recorder {
    pub async fn run(mut self) {
        while let Some(mut events) = self.rx.recv().await {
            while events.len() < self.max_batch {
                match self.rx.try_recv() {
                    Ok(more) => events.extend(more),
                    Err(_) => break,
                }
            }
            let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
            match self.store.append(events).await {
                Ok(_) => {
                    for k in kinds {
                        self.metrics
                            .journaled
                            .get_or_create(&label("kind", k.as_str()))
                            .inc();
                    }
                    self.committed.notify_waiters();
                }
                Err(e) => {
                    self.metrics.journal_errors.inc();
                    error!(error = %e, events = kinds.len(), "recording derived events failed");
                }
            }
        }
        info!("recorder stopped");
    }
}
