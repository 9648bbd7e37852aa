//! Group commit: several writes in one transaction, each inside its own
//! savepoint. A write that fails is rolled back to its savepoint and answers
//! its own error; the others are unaffected. Every caller hears back only
//! after the shared `COMMIT`, so an answered write is a durable write. Used by
//! SQLite's one writer (`writer`) and by PostgreSQL's writes on a hot row
//! (`hot`).

use std::sync::Arc;

use tokio::sync::oneshot;

use super::DbConn;
use super::tx::{self, Follower, Message, Outbox, Tx};
use crate::error::ApiError;

/// Writes committed together at most.
pub const MAX_BATCH: usize = 64;

/// One queued write, its type erased.
pub(super) trait Work: Send {
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

/// The answer a queued write will get.
pub(super) type Answer<T> = oneshot::Receiver<Result<T, ApiError>>;

/// `f` as a write to queue, and where its answer will come.
pub(super) fn work<T, F>(f: F) -> (Box<dyn Work>, Answer<T>)
where
    T: Send + 'static,
    F: FnOnce(&mut Tx<'_>) -> Result<T, ApiError> + Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    let job = Job {
        f: Some(f),
        result: None,
        reply,
    };
    (Box::new(job), answer)
}

/// Waits for a queued write's answer.
pub(super) async fn answered<T>(answer: Answer<T>) -> Result<T, ApiError> {
    answer
        .await
        .map_err(|_| ApiError::internal("a queued write was dropped unanswered"))?
}

/// Answers every write of a batch.
pub(super) fn finish(batch: Vec<Box<dyn Work>>, committed: Result<(), &str>) {
    for job in batch {
        job.finish(committed);
    }
}

/// One transaction for the whole batch, a savepoint per write; the messages
/// of the writes that succeeded are followed by the per-commit followers and
/// stored once, right before the commit.
pub(super) fn commit(
    conn: &mut DbConn,
    outbox: Option<&dyn Outbox>,
    followers: &[Arc<dyn Follower>],
    batch: &mut [Box<dyn Work>],
) -> Result<Vec<Message>, ApiError> {
    tx::begin(conn)?;
    let mut messages = Vec::new();
    let outcome = (|| {
        // The savepoint of the last write that succeeded stays open until
        // the next write's is taken, in the same round trip (`next_savepoint`).
        let mut open = false;
        for job in batch.iter_mut() {
            if open {
                tx::next_savepoint(conn)?;
            } else {
                tx::savepoint(conn)?;
            }
            let mut t = Tx::new(conn, followers);
            let ok = job.run(&mut t);
            let recorded = t.into_messages();
            if ok {
                messages.extend(recorded);
            } else {
                tx::rollback(conn)?;
            }
            open = ok;
        }
        if open {
            tx::commit(conn)?;
        }
        tx::follow_commit(conn, followers, &mut messages)?;
        tx::store(conn, outbox, &messages)
    })();
    match outcome {
        Ok(()) => {
            tx::commit(conn)?;
            Ok(messages)
        }
        Err(e) => {
            let _ = tx::rollback_all(conn);
            Err(e)
        }
    }
}
