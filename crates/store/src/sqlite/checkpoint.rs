//! WAL checkpoints on a thread of their own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the threshold: that
//! commit copies tens of megabytes into the database file and fsyncs it, and every append
//! waiting behind it waits too (seen as 50–200 ms stalls of the live pipeline at 20,000
//! events/s). So the writer's automatic checkpoint is off; this thread copies the WAL once a
//! second from its own connection without blocking the writer or the readers, and the
//! writer copies the little that is left between two transactions (see `checkpoint`).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::{BUSY_TIMEOUT, db};
use crate::StoreError;

/// How often the WAL is copied into the database.
const EVERY: Duration = Duration::from_secs(1);

/// The checkpoint thread; dropping it stops the thread.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// `remainder` is set when the writer should finish a pass (see `finish`).
    pub(crate) fn start(path: &Path, remainder: Arc<AtomicBool>) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                // Wakes every `EVERY` until the store is dropped (the sender with it).
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    if let Err(e) = checkpoint(&conn, &remainder) {
                        tracing::warn!("sqlite: checkpoint failed (retried in {EVERY:?}): {e}");
                    }
                }
            })
            .map_err(|e| StoreError::Backend(format!("sqlite: checkpoint thread: {e}")))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Copies the WAL into the database without blocking anyone. The writer goes on appending
/// meanwhile, so this seldom copies quite all of it, and SQLite restarts the WAL from its
/// beginning only after a checkpoint that did: without that the WAL grows without end (a
/// gigabyte a minute at this rate, seen). So when frames are left, the writer is asked to
/// copy them itself between two transactions (`Checkpointer::remainder_due`): only the
/// frames appended during this pass, a few milliseconds' work.
fn checkpoint(conn: &Connection, remainder: &AtomicBool) -> Result<(), StoreError> {
    // (busy, frames in the WAL, frames copied)
    let (log, copied): (i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(1)?, r.get(2)?))
        })
        .map_err(db)?;
    if copied < log {
        remainder.store(true, Ordering::Release);
    }
    Ok(())
}

/// The writer's part: copies the frames the last pass left, if it left any.
pub(crate) fn finish(conn: &Connection, remainder: &AtomicBool) {
    if remainder.swap(false, Ordering::AcqRel)
        && let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
    {
        tracing::warn!("sqlite: checkpoint in the writer failed: {e}");
    }
}
