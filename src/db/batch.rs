//! Group commit: several writes in one transaction, each inside its own
//! savepoint. A write that fails is rolled back to its savepoint and answers
//! its own error; the others are unaffected (the items of a [`Grouped`]
//! write share its savepoint, and its error). Every caller hears back only
//! after the shared `COMMIT`, so an answered write is a durable write. Used by
//! SQLite's one writer (`writer`) and by PostgreSQL's writes on a hot row
//! (`hot`). Writes of one [`Grouped`] kind on one key that queue one after
//! another run as one call over all their items, in one savepoint.

use std::any::Any;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::DbConn;
use super::tx::{self, Follower, Message, Outbox, Tx};
use crate::error::ApiError;

/// Writes committed together at most.
pub const MAX_BATCH: usize = 64;

/// One queued write, its type erased.
pub(super) trait Work: Any + Send {
    /// Runs the closure; true when it succeeded (its changes stay).
    fn run(&mut self, tx: &mut Tx<'_>) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, committed: Result<(), &str>);
    /// Takes over `next`'s items when both are writes of one [`Grouped`]
    /// kind on one key, leaving `next` with nothing to run or answer.
    fn absorb(&mut self, _next: &mut dyn Work) -> bool {
        false
    }
    /// True when there is nothing to run (its items went to another write).
    fn is_empty(&self) -> bool {
        false
    }
}

/// A kind of write that costs less done for many items at once than one by
/// one: the scans at one event's door, say, read in one statement. Queued
/// with [`Db::write_grouped`](super::Db::write_grouped); the items of the
/// writes of one kind and key that queue one after another in a batch go to
/// one call of [`Grouped::write`], in one savepoint.
pub trait Grouped: 'static {
    type Item: Send + 'static;
    type Output: Send + 'static;
    /// One output per item, in the items' order. An error fails the whole
    /// call: every item is answered with it (a deadlock's `503`, say).
    fn write(tx: &mut Tx<'_>, items: &[Self::Item]) -> Result<Vec<Self::Output>, ApiError>;
}

type Reply<T> = oneshot::Sender<Result<T, ApiError>>;

struct Group<G: Grouped> {
    key: String,
    items: Vec<G::Item>,
    replies: Vec<Reply<G::Output>>,
    outputs: Option<Result<Vec<G::Output>, ApiError>>,
}

impl<G: Grouped> Work for Group<G> {
    fn run(&mut self, tx: &mut Tx<'_>) -> bool {
        let items = &self.items;
        let outputs = tx::run_closure(tx, |tx| G::write(tx, items)).and_then(|outputs| {
            if outputs.len() == items.len() {
                Ok(outputs)
            } else {
                Err(ApiError::internal(
                    "a grouped write answered the wrong number of items",
                ))
            }
        });
        let ok = outputs.is_ok();
        self.outputs = Some(outputs);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), &str>) {
        let Group {
            replies, outputs, ..
        } = *self;
        match (outputs, committed) {
            (Some(Ok(outputs)), Ok(())) => {
                for (reply, output) in replies.into_iter().zip(outputs) {
                    let _ = reply.send(Ok(output));
                }
            }
            (outputs, committed) => {
                let error = match (outputs, committed) {
                    (Some(Err(e)), _) => e,
                    (Some(Ok(_)), Err(cause)) => {
                        ApiError::Unavailable(format!("commit failed: {cause}"))
                    }
                    _ => ApiError::internal("a write was never run"),
                };
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }

    fn absorb(&mut self, next: &mut dyn Work) -> bool {
        let next: &mut dyn Any = next;
        match next.downcast_mut::<Group<G>>() {
            Some(other) if other.key == self.key && self.outputs.is_none() => {
                self.items.append(&mut other.items);
                self.replies.append(&mut other.replies);
                true
            }
            _ => false,
        }
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// `item` as a write of kind `G` on `key` to queue, and where its answer
/// will come.
pub(super) fn grouped<G: Grouped>(key: &str, item: G::Item) -> (Box<dyn Work>, Answer<G::Output>) {
    let (reply, answer) = oneshot::channel();
    let group = Group::<G> {
        key: key.to_owned(),
        items: vec![item],
        replies: vec![reply],
        outputs: None,
    };
    (Box::new(group), answer)
}

/// Hands the items of each run of writes of one grouped kind and key to the
/// first of them; the others are left empty.
fn merge(batch: &mut [Box<dyn Work>]) {
    let mut head = 0;
    for next in 1..batch.len() {
        let (before, after) = batch.split_at_mut(next);
        if !before[head].absorb(&mut *after[0]) {
            head = next;
        }
    }
}

struct Job<T, F> {
    f: Option<F>,
    result: Option<Result<T, ApiError>>,
    reply: oneshot::Sender<Result<T, ApiError>>,
}

impl<T, F> Work for Job<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut Tx<'_>) -> Result<T, ApiError> + Send + 'static,
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
    merge(batch);
    tx::begin(conn)?;
    let mut messages = Vec::new();
    let outcome = (|| {
        // The savepoint of the last write that succeeded stays open until
        // the next write's is taken, in the same round trip (`next_savepoint`).
        let mut open = false;
        for job in batch.iter_mut().filter(|job| !job.is_empty()) {
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
