//! SQLite's single writer with group commit. SQLite lets one transaction write
//! at a time and each commit waits for its own fsync (`synchronous=FULL`), so
//! one write per transaction caps throughput at the disk's fsync rate. Here one
//! thread owns the writing connection: it takes every write waiting in the
//! queue (up to [`MAX_BATCH`]) and commits them together, each in its own
//! savepoint of one `BEGIN IMMEDIATE` transaction (see `batch`).
//!
//! Requests come first. Background writes (the job runner's and the other
//! writes through a [`super::Db::lane`]) are committed when no request's write
//! is waiting, so a burst of reminders or webhook deliveries costs a request
//! at most one batch's wait. When requests keep the writer busy without a gap
//! for longer than [`SLACK`], background writes take a share of every batch,
//! growing the longer the rush lasts ([`owed`]): they are delayed, never
//! starved.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::batch::{self, Grouped, MAX_BATCH, Work};
use super::tx::{self, Follower, Outbox, Tx};
use super::{DbConn, Manager};
use crate::error::ApiError;

/// Writes waiting for the writer at most; further callers wait to enqueue.
const QUEUE: usize = 4096;
/// How long background writes wait for a gap in requests' writes before
/// they take a share of every batch.
const SLACK: Duration = Duration::from_secs(5);
/// The background writes a batch of requests takes once requests have kept
/// the writer busy without a gap for [`SLACK`]; twice as many after twice
/// that, and so on, up to half a batch.
const SHARE: usize = 4;

/// Who is waiting on a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Priority {
    /// A request: someone is waiting for the answer.
    Request,
    /// Background work (jobs, sweeps): it yields to requests.
    Background,
}

struct Queued {
    work: Box<dyn Work>,
    priority: Priority,
}

/// The handle writes are queued on; the thread ends when every handle is gone.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Queued>,
    committed: Arc<AtomicU64>,
}

impl Writer {
    pub fn start(
        manager: Manager,
        outbox: Arc<OnceLock<Arc<dyn Outbox>>>,
        followers: Arc<OnceLock<Vec<Arc<dyn Follower>>>>,
    ) -> std::io::Result<Writer> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let committed = Arc::new(AtomicU64::new(0));
        let counted = committed.clone();
        std::thread::Builder::new()
            .name("mulin-sqlite-writer".into())
            .spawn(move || write_forever(&manager, &outbox, &followers, &counted, jobs))?;
        Ok(Writer { queue, committed })
    }

    /// Commits so far. It grows before the writes of a commit are answered,
    /// so a read that starts after an answer sees a larger count.
    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// Queues `f` and waits for its answer (after the commit it shared).
    pub async fn write<T, F>(&self, priority: Priority, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, ApiError> + Send + 'static,
    {
        let (work, answer) = batch::work(f);
        self.queue(priority, work, answer).await
    }

    /// Queues a write of a [`Grouped`] kind on `key`.
    pub async fn write_grouped<G: Grouped>(
        &self,
        priority: Priority,
        key: &str,
        item: G::Item,
    ) -> Result<G::Output, ApiError> {
        let (work, answer) = batch::grouped::<G>(key, item);
        self.queue(priority, work, answer).await
    }

    async fn queue<T>(
        &self,
        priority: Priority,
        work: Box<dyn Work>,
        answer: batch::Answer<T>,
    ) -> Result<T, ApiError> {
        let queued = Queued { work, priority };
        self.queue
            .send(queued)
            .await
            .map_err(|_| ApiError::internal("the SQLite writer has stopped"))?;
        batch::answered(answer).await
    }
}

/// The writes waiting, by priority, oldest first.
#[derive(Default)]
struct Waiting {
    requests: VecDeque<Box<dyn Work>>,
    background: VecDeque<Box<dyn Work>>,
    /// Since when requests have been waiting at every batch without a gap.
    busy_since: Option<Instant>,
}

impl Waiting {
    fn add(&mut self, q: Queued) {
        match q.priority {
            Priority::Request => self.requests.push_back(q.work),
            Priority::Background => self.background.push_back(q.work),
        }
    }

    fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.background.is_empty()
    }

    fn len(&self) -> usize {
        self.requests.len() + self.background.len()
    }

    /// The next batch: requests first; background writes alone when no
    /// request waits, or their owed share beside requests.
    fn next_batch(&mut self, now: Instant) -> Vec<Box<dyn Work>> {
        let busy_since = match (self.requests.is_empty(), self.busy_since) {
            (true, _) => None,
            (false, None) => Some(now),
            (false, Some(since)) => Some(since),
        };
        self.busy_since = busy_since;
        let mut batch: Vec<Box<dyn Work>> = Vec::new();
        while batch.len() < MAX_BATCH {
            let Some(work) = self.requests.pop_front() else {
                break;
            };
            batch.push(work);
        }
        let room = match busy_since {
            None => MAX_BATCH,
            Some(since) => owed(now.saturating_duration_since(since)),
        };
        for _ in 0..room {
            let Some(work) = self.background.pop_front() else {
                break;
            };
            batch.push(work);
        }
        batch
    }
}

/// Background writes a batch of requests takes when requests have kept the
/// writer busy without a gap for `busy`: none within [`SLACK`], then
/// [`SHARE`] for each [`SLACK`], up to half a batch.
fn owed(busy: Duration) -> usize {
    let slacks = (busy.as_millis() / SLACK.as_millis()) as usize;
    (slacks * SHARE).min(MAX_BATCH / 2)
}

fn write_forever(
    manager: &Manager,
    outbox: &OnceLock<Arc<dyn Outbox>>,
    followers: &OnceLock<Vec<Arc<dyn Follower>>>,
    committed: &AtomicU64,
    mut queue: mpsc::Receiver<Queued>,
) {
    let mut conn: Option<DbConn> = None;
    let mut waiting = Waiting::default();
    loop {
        if waiting.is_empty() {
            match queue.blocking_recv() {
                Some(q) => waiting.add(q),
                None => return,
            }
        }
        // Bounded like the channel: past QUEUE, callers wait to enqueue.
        while waiting.len() < QUEUE {
            let Ok(q) = queue.try_recv() else { break };
            waiting.add(q);
        }
        let mut batch = waiting.next_batch(Instant::now());
        if batch.is_empty() {
            continue;
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
                committed.fetch_add(1, Ordering::Release);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(priority: Priority) -> Queued {
        let (work, _answer) = batch::work(|_| Ok(()));
        Queued { work, priority }
    }

    fn waiting(requests: usize, background: usize) -> Waiting {
        let mut w = Waiting::default();
        for _ in 0..background {
            w.add(queued(Priority::Background));
        }
        for _ in 0..requests {
            w.add(queued(Priority::Request));
        }
        w
    }

    #[test]
    fn requests_go_first_and_background_waits_for_a_gap() {
        let start = Instant::now();
        let mut w = waiting(100, 10);
        assert_eq!(w.next_batch(start).len(), MAX_BATCH);
        // 36 requests left: a batch of them and no background write.
        assert_eq!(w.next_batch(start).len(), 36);
        assert_eq!(w.background.len(), 10);
        // No request waits: the background writes go together.
        assert_eq!(w.next_batch(start).len(), 10);
        assert!(w.is_empty());
    }

    #[test]
    fn a_long_rush_gives_background_writes_a_growing_share() {
        let start = Instant::now();
        let mut w = waiting(0, 100);
        w.busy_since = Some(start);
        for _ in 0..3 {
            w.add(queued(Priority::Request));
        }
        assert_eq!(w.next_batch(start + SLACK / 2).len(), 3, "within the slack");
        w.add(queued(Priority::Request));
        assert_eq!(w.next_batch(start + SLACK).len(), 1 + SHARE);
        w.add(queued(Priority::Request));
        assert_eq!(w.next_batch(start + SLACK * 3).len(), 1 + 3 * SHARE);
        w.add(queued(Priority::Request));
        let long = w.next_batch(start + SLACK * 100).len();
        assert_eq!(long, 1 + MAX_BATCH / 2, "at most half a batch");
        // A gap in requests ends the rush.
        let left = w.background.len();
        assert_eq!(w.next_batch(start + SLACK * 100).len(), left.min(MAX_BATCH));
        assert_eq!(w.busy_since, None);
    }
}
