//! PostgreSQL's writes on a hot row. Every sign-up and check-in of one event
//! locks that event's row, so they take turns anyway, and each one holds the
//! lock through all its round trips and its own commit while the others wait.
//! Writes that name the same key in [`Db::write_on`] are instead queued, in
//! this instance, on one lane per key: the lane takes every write waiting (up
//! to [`MAX_BATCH`]) and runs them one after the other in one transaction, a
//! savepoint each, on one pooled connection (`batch`). The lock changes hands
//! once per batch instead of once per write, and one commit serves them all.
//! Writes on different keys run side by side, as every other write does; a
//! lane ends after a second without writes. Instances still take turns on the
//! row, batch by batch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::Db;
use super::batch::{self, Grouped, MAX_BATCH, Work};
use super::tx::Tx;
use crate::error::ApiError;

/// How long a lane waits for a write before it ends.
const IDLE: Duration = Duration::from_secs(1);

type Lane = mpsc::UnboundedSender<Box<dyn Work>>;

/// The lanes of this instance, by key.
#[derive(Clone, Default)]
pub(super) struct Lanes(Arc<Mutex<HashMap<String, Lane>>>);

impl Lanes {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Lane>> {
        // A panic while the map was held left it whole (no code between the
        // lock and the unlock can leave it half-changed).
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Queues `f` on the lane of `key` (starting it if needed) and waits for its
/// answer, which comes after the batch's commit and numbering.
pub(super) async fn write_on<T, F>(db: &Db, key: &str, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut Tx<'_>) -> Result<T, ApiError> + Send + 'static,
{
    let (job, answer) = batch::work(f);
    queue(db, key, job, answer).await
}

/// [`write_on`] for a write of a [`Grouped`] kind.
pub(super) async fn write_grouped<G: Grouped>(
    db: &Db,
    key: &str,
    item: G::Item,
) -> Result<G::Output, ApiError> {
    let (job, answer) = batch::grouped::<G>(key, item);
    queue(db, key, job, answer).await
}

async fn queue<T>(
    db: &Db,
    key: &str,
    mut job: Box<dyn Work>,
    answer: batch::Answer<T>,
) -> Result<T, ApiError> {
    loop {
        let lane = db
            .lanes
            .map()
            .entry(key.to_owned())
            .or_insert_with(|| start(db.clone(), key.to_owned()))
            .clone();
        match lane.send(job) {
            Ok(()) => break,
            // The lane ended between the lookup and the send: start another.
            Err(mpsc::error::SendError(back)) => {
                job = back;
                let mut lanes = db.lanes.map();
                if lanes.get(key).is_some_and(|l| l.same_channel(&lane)) {
                    lanes.remove(key);
                }
            }
        }
    }
    batch::answered(answer).await
}

fn start(db: Db, key: String) -> Lane {
    let (lane, jobs) = mpsc::unbounded_channel();
    tokio::spawn(drain(db, key, jobs));
    lane
}

/// Runs the lane's writes batch by batch until it has been idle for [`IDLE`].
async fn drain(db: Db, key: String, mut jobs: mpsc::UnboundedReceiver<Box<dyn Work>>) {
    loop {
        let first = match tokio::time::timeout(IDLE, jobs.recv()).await {
            Ok(Some(job)) => job,
            Ok(None) => return,
            Err(_) => {
                // Leave the map first, so no writer finds this lane again;
                // then run whatever arrived in between.
                db.lanes.map().remove(&key);
                jobs.close();
                let mut rest = Vec::new();
                while let Ok(job) = jobs.try_recv() {
                    rest.push(job);
                }
                if !rest.is_empty() {
                    run(&db, rest).await;
                }
                return;
            }
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run(&db, batch).await;
    }
}

/// Commits one batch, then answers its writes once their messages are
/// numbered (without holding up the lane's next batch).
async fn run(db: &Db, mut writes: Vec<Box<dyn Work>>) {
    let (outbox, followers, pool) = (db.outbox.clone(), db.followers.clone(), db.pool.clone());
    let done = actix_web::web::block(move || {
        let committed = pool
            .get()
            .map_err(|e| ApiError::Unavailable(e.to_string()))
            .and_then(|mut conn| {
                let followers = followers.get().map_or(&[][..], Vec::as_slice);
                batch::commit(
                    &mut conn,
                    outbox.get().map(|o| o.as_ref()),
                    followers,
                    &mut writes,
                )
            });
        (writes, committed)
    })
    .await;
    // A panic outside the closures (they are caught one by one) drops the
    // batch: its callers hear that their writes were dropped unanswered.
    let Ok((writes, committed)) = done else {
        tracing::error!("a batch of writes on a hot row panicked");
        return;
    };
    match committed {
        Ok(messages) => {
            let db = db.clone();
            tokio::spawn(async move {
                db.numbered(&messages).await;
                batch::finish(writes, Ok(()));
            });
        }
        Err(e) => {
            tracing::warn!(error = %e, "a batch of writes on a hot row failed to commit");
            batch::finish(writes, Err(&e.to_string()));
        }
    }
}
