//! SQLite's single writer with group commit. SQLite lets one transaction write
//! at a time and each commit waits for its own fsync (`synchronous=FULL`), so
//! one write per transaction caps throughput at the disk's fsync rate. Here one
//! thread owns the writing connection: it takes every write waiting in the
//! queue (up to [`MAX_BATCH`]), runs each inside its own savepoint of one
//! `BEGIN IMMEDIATE` transaction, stores their messages, and commits once. A
//! write that fails is rolled back to its savepoint and answers its error; the
//! others are unaffected. Each caller hears back only after the shared
//! `COMMIT`, so an answered write is a durable write.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use super::tx::{self, Follower, Message, Outbox, Tx};
use super::{DbConn, Manager};
use crate::error::ApiError;

/// Writes committed together at most.
pub const MAX_BATCH: usize = 64;
/// Writes waiting for the writer at most; further callers wait to enqueue.
const QUEUE: usize = 4096;

/// One queued write, its type erased.
trait Work: Send {
    /// Runs the closure; true when it succeeded (its changes stay).
    fn run(&mut self, tx: &mut Tx<'_>) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, committed: Result<(), &str>);
}

struct Job<T, F> {
    f: Option<F>,
    result: Option<Result<T, ApiError>>,
    reply: oneshot::Sender<Result<T, ApiError>>,
}

impl<T, F> Work for Job<T, F>
where
    T: Send,
    F: FnOnce(&mut Tx<'_>) -> Result<T, ApiError> + Send,
{
    fn run(&mut self, tx: &mut Tx<'_>) -> bool {
        let Some(f) = self.f.take() else {
            return false;
        };
        let result = tx::run_closure(tx, f);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), &str>) {
        let Job { result, reply, .. } = *self;
        let answer = match (result, committed) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Ok(_)), Err(cause)) => {
                Err(ApiError::Unavailable(format!("commit failed: {cause}")))
            }
            (None, _) => Err(ApiError::internal("a write was never run")),
        };
        let _ = reply.send(answer);
    }
}

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
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Work> = Box::new(Job {
            f: Some(f),
            result: None,
            reply,
        });
        self.queue
            .send(job)
            .await
            .map_err(|_| ApiError::internal("the SQLite writer has stopped"))?;
        answer
            .await
            .map_err(|_| ApiError::internal("the SQLite writer dropped a write"))?
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
                    let cause = e.to_string();
                    for job in batch {
                        job.finish(Err(&cause));
                    }
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let outbox = outbox.get().map(|o| o.as_ref());
        let followers = followers.get().map_or(&[][..], Vec::as_slice);
        match commit_batch(c, outbox, followers, &mut batch) {
            Ok(messages) => {
                for job in batch {
                    job.finish(Ok(()));
                }
                if let (Some(outbox), false) = (outbox, messages.is_empty()) {
                    // Numbered inside the transaction: nothing to wait for.
                    let _ = outbox.committed(&messages);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "a SQLite group commit failed");
                let cause = e.to_string();
                for job in batch {
                    job.finish(Err(&cause));
                }
                if tx::in_transaction(c) {
                    // A connection left inside a transaction holds the write
                    // lock; start afresh with a new one.
                    conn = None;
                }
            }
        }
    }
}

/// One transaction for the whole batch, a savepoint per write.
fn commit_batch(
    conn: &mut DbConn,
    outbox: Option<&dyn Outbox>,
    followers: &[Arc<dyn Follower>],
    batch: &mut [Box<dyn Work>],
) -> Result<Vec<Message>, ApiError> {
    tx::begin(conn)?;
    let mut messages = Vec::new();
    let outcome = (|| {
        for job in batch.iter_mut() {
            tx::savepoint(conn)?;
            let mut t = Tx::new(conn, followers);
            let ok = job.run(&mut t);
            let recorded = t.into_messages();
            if ok {
                tx::commit(conn)?;
                messages.extend(recorded);
            } else {
                tx::rollback(conn)?;
            }
        }
        tx::store(conn, outbox, &messages)
    })();
    match outcome {
        Ok(()) => {
            tx::commit(conn)?;
            Ok(messages)
        }
        Err(e) => {
            let _ = tx::rollback(conn);
            Err(e)
        }
    }
}
