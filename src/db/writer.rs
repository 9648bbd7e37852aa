//! SQLite's single writer with group commit. SQLite lets one transaction write
//! at a time and each commit waits for its own fsync (`synchronous=FULL`), so
//! one write per transaction caps throughput at the disk's fsync rate. Here one
//! thread owns the writing connection: it takes every write waiting in the
//! queue (up to [`MAX_BATCH`]) and commits them together, each in its own
//! savepoint of one `BEGIN IMMEDIATE` transaction (see `batch`).

use std::sync::{Arc, OnceLock};

use tokio::sync::mpsc;

use super::batch::{self, MAX_BATCH, Work};
use super::tx::{self, Follower, Outbox, Tx};
use super::{DbConn, Manager};
use crate::error::ApiError;

/// Writes waiting for the writer at most; further callers wait to enqueue.
const QUEUE: usize = 4096;

/// The handle writes are queued on; the thread ends when every handle is gone.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Box<dyn Work>>,
}

impl Writer {
    pub fn start(
        manager: Manager,
        outbox: Arc<OnceLock<Arc<dyn Outbox>>>,
        followers: Arc<OnceLock<Vec<Arc<dyn Follower>>>>,
    ) -> std::io::Result<Writer> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("mulin-sqlite-writer".into())
            .spawn(move || write_forever(&manager, &outbox, &followers, jobs))?;
        Ok(Writer { queue })
    }

    /// Queues `f` and waits for its answer (after the commit it shared).
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, ApiError> + Send + 'static,
    {
        let (job, answer) = batch::work(f);
        self.queue
            .send(job)
            .await
            .map_err(|_| ApiError::internal("the SQLite writer has stopped"))?;
        batch::answered(answer).await
    }
}

fn write_forever(
    manager: &Manager,
    outbox: &OnceLock<Arc<dyn Outbox>>,
    followers: &OnceLock<Vec<Arc<dyn Follower>>>,
    mut jobs: mpsc::Receiver<Box<dyn Work>>,
) {
    let mut conn: Option<DbConn> = None;
    while let Some(first) = jobs.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if conn.is_none() {
            match manager.connect() {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "the SQLite writer cannot connect");
                    batch::finish(batch, Err(&e.to_string()));
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let outbox = outbox.get().map(|o| o.as_ref());
        let followers = followers.get().map_or(&[][..], Vec::as_slice);
        match batch::commit(c, outbox, followers, &mut batch) {
            Ok(messages) => {
                batch::finish(batch, Ok(()));
                if let (Some(outbox), false) = (outbox, messages.is_empty()) {
                    // Numbered inside the transaction: nothing to wait for.
                    let _ = outbox.committed(&messages);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "a SQLite group commit failed");
                batch::finish(batch, Err(&e.to_string()));
                if tx::in_transaction(c) {
                    // A connection left inside a transaction holds the write
                    // lock; start afresh with a new one.
                    conn = None;
                }
            }
        }
    }
}
