//! The outbox (the low floor of `live`): features record messages with
//! [`publish`] on their write transaction; [`SqlOutbox`] (the `db::Outbox`
//! hook) stores them just before the commit and wakes whoever delivers them.
//!
//! Numbering: each topic's messages carry `seq` 1, 2, 3 … in commit order.
//! - SQLite has one writer, so messages are numbered inside the committing
//!   transaction itself: commit order is write order, and there is no one to
//!   contend with.
//! - PostgreSQL stores them with no `seq` (a global id from a sequence, which
//!   locks nothing) and a sequencer numbers committed messages right after, in
//!   id order, one sequencer at a time (an advisory lock). No write transaction
//!   ever locks a topic row, so writes of one busy organization do not queue
//!   behind its topic and no two transactions can deadlock over topics. Two
//!   writes that touch the same data are serialized by its row lock, so the
//!   earlier one's messages get the lower ids and the lower `seq`: cause before
//!   effect, within a transaction in the order recorded.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use diesel::prelude::*;
use diesel::result::QueryResult;
use serde_json::Value;
use tokio::sync::{Notify, watch};

use crate::db::schema::{live_messages, live_topics};
use crate::db::{self, DbConn, Message, Numbered, Tx};
use crate::error::ApiError;

/// Messages older than this and outside the last `KEEP_COUNT` of their topic
/// are pruned.
pub const KEEP_AGE: chrono::Duration = chrono::Duration::hours(24);
pub const KEEP_COUNT: i64 = 1_000;
/// The PostgreSQL channel on which sequenced topics are announced.
pub const CHANNEL: &str = "mulin_live";
/// Most messages one sequencer round numbers.
pub const SEQUENCE_BATCH: i64 = 5_000;
/// Messages per `INSERT` statement (both databases cap bind parameters: a
/// cancelled event with thousands of registrations records thousands).
const INSERT_CHUNK: usize = 1_000;
/// The advisory lock that makes one sequencer run at a time across instances.
const SEQUENCER_LOCK: i64 = 0x6d75_6c69_6e5f_7371;

/// Records a message on `topic`; it exists only if the transaction commits.
pub fn publish(tx: &mut Tx<'_>, topic: String, kind: &str, data: &Value) {
    tx.record(topic, kind, data);
}

/// Publishes `kind` to the organization and, when there is one, to the user.
pub fn to_org_and_user(
    tx: &mut Tx<'_>,
    org_id: &str,
    user_id: Option<&str>,
    kind: &str,
    data: &Value,
) {
    publish(tx, format!("org:{org_id}"), kind, data);
    if let Some(user) = user_id {
        publish(tx, format!("user:{user}"), kind, data);
    }
}

/// Topics with new messages, coalesced until somebody drains them.
#[derive(Default)]
pub struct Signal {
    dirty: Mutex<HashSet<String>>,
    /// Every topic may have news (the PostgreSQL listener reconnected: what
    /// was notified while it was away is unknown).
    everything: AtomicBool,
    pub notify: Notify,
}

impl Signal {
    pub fn mark<'a>(&self, topics: impl IntoIterator<Item = &'a str>) {
        let mut any = false;
        if let Ok(mut dirty) = self.dirty.lock() {
            for t in topics {
                if !dirty.contains(t) {
                    dirty.insert(t.to_owned());
                }
                any = true;
            }
        }
        if any {
            self.notify.notify_one();
        }
    }

    /// Marks every topic: the hub reads all it follows again.
    pub fn mark_everything(&self) {
        self.everything.store(true, Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// The marked topics, and whether everything was marked.
    pub fn drain(&self) -> (Vec<String>, bool) {
        let everything = self.everything.swap(false, Ordering::SeqCst);
        let topics = self
            .dirty
            .lock()
            .map(|mut d| d.drain().collect())
            .unwrap_or_default();
        (topics, everything)
    }
}

/// The `db::Outbox` hook: stores messages in `live_messages`, then wakes the
/// local hub (SQLite, numbered already) or the sequencer (PostgreSQL).
pub struct SqlOutbox {
    /// Messages are numbered by the sequencer after commit (PostgreSQL).
    sequenced_later: bool,
    /// The hub's wake-up: topics with new numbered messages.
    pub hub: Arc<Signal>,
    /// The sequencer's wake-up (PostgreSQL).
    pub sequencer: Arc<Notify>,
    /// The sequencer's rounds, so a write can wait for one that began after
    /// its commit (PostgreSQL).
    pub rounds: Arc<Rounds>,
}

/// Sequencer rounds of this instance: how many began, how many ended.
pub struct Rounds {
    /// A sequencer runs in this process (not in CLI commands).
    running: AtomicBool,
    started: AtomicU64,
    ended: watch::Sender<u64>,
}

impl Rounds {
    /// Called once by the sequencer when it starts.
    pub fn running(&self) {
        self.running.store(true, Ordering::SeqCst);
    }

    /// Called by the sequencer before each round's snapshot is taken.
    pub fn begin(&self) {
        self.started.fetch_add(1, Ordering::SeqCst);
    }

    /// Called by the sequencer after each round (numbered or failed).
    pub fn end(&self) {
        self.ended.send_modify(|n| *n += 1);
    }
}

impl Default for Rounds {
    fn default() -> Self {
        Rounds {
            running: AtomicBool::new(false),
            started: AtomicU64::new(0),
            ended: watch::channel(0).0,
        }
    }
}

impl SqlOutbox {
    pub fn new(postgres: bool) -> SqlOutbox {
        SqlOutbox {
            sequenced_later: postgres,
            hub: Arc::default(),
            sequencer: Arc::default(),
            rounds: Arc::default(),
        }
    }
}

impl db::Outbox for SqlOutbox {
    fn store(&self, conn: &mut DbConn, messages: &[Message]) -> QueryResult<()> {
        let now = db::now();
        match conn {
            DbConn::Pg(c) => {
                let rows: Vec<_> = messages
                    .iter()
                    .map(|m| {
                        (
                            live_messages::topic.eq(&m.topic),
                            live_messages::kind.eq(&m.kind),
                            live_messages::data.eq(&m.data),
                            live_messages::created_at.eq(now),
                        )
                    })
                    .collect();
                for chunk in rows.chunks(INSERT_CHUNK) {
                    diesel::insert_into(live_messages::table)
                        .values(chunk)
                        .execute(c)?;
                }
            }
            DbConn::Sqlite(c) => {
                // One counter bump per topic (in order of first appearance),
                // then every message in one statement, numbered in the order
                // recorded.
                let mut topics: Vec<(&str, i64)> = Vec::new();
                for m in messages {
                    match topics.iter_mut().find(|(t, _)| *t == m.topic) {
                        Some((_, n)) => *n += 1,
                        None => topics.push((&m.topic, 1)),
                    }
                }
                let mut next: Vec<(&str, i64)> = Vec::with_capacity(topics.len());
                for (topic, n) in topics {
                    let last: i64 = diesel::insert_into(live_topics::table)
                        .values((live_topics::topic.eq(topic), live_topics::last_seq.eq(n)))
                        .on_conflict(live_topics::topic)
                        .do_update()
                        .set(live_topics::last_seq.eq(live_topics::last_seq + n))
                        .returning(live_topics::last_seq)
                        .get_result(c)?;
                    next.push((topic, last - n + 1));
                }
                let mut rows = Vec::with_capacity(messages.len());
                for m in messages {
                    let seq = next.iter_mut().find(|(t, _)| *t == m.topic).map(|(_, s)| {
                        *s += 1;
                        *s - 1
                    });
                    rows.push((
                        live_messages::topic.eq(&m.topic),
                        live_messages::seq.eq(seq),
                        live_messages::kind.eq(&m.kind),
                        live_messages::data.eq(&m.data),
                        live_messages::created_at.eq(now),
                    ));
                }
                for chunk in rows.chunks(INSERT_CHUNK) {
                    diesel::insert_into(live_messages::table)
                        .values(chunk)
                        .execute(c)?;
                }
            }
        }
        Ok(())
    }

    fn committed(&self, messages: &[Message]) -> Option<Numbered> {
        if messages.is_empty() {
            return None;
        }
        if !self.sequenced_later {
            self.hub.mark(messages.iter().map(|m| m.topic.as_str()));
            return None;
        }
        // `seq` is still empty: the sequencer numbers them and wakes the hubs.
        // Any round that begins after this commit sees them (or finds them
        // numbered by another instance's sequencer), so wait for the end of
        // one: note how many began *before* waking the sequencer. Without a
        // sequencer here (a CLI command) the servers' sequencers number them.
        if !self.rounds.running.load(Ordering::SeqCst) {
            self.sequencer.notify_one();
            return None;
        }
        let began = self.rounds.started.load(Ordering::SeqCst);
        let mut ended = self.rounds.ended.subscribe();
        self.sequencer.notify_one();
        Some(Box::pin(async move {
            let _ = ended.wait_for(|n| *n > began).await;
        }))
    }
}

#[derive(QueryableByName)]
struct SequencedTopic {
    #[diesel(sql_type = diesel::sql_types::Text)]
    topic: String,
}

/// PostgreSQL: numbers committed messages that have no `seq` yet, in id order,
/// and announces their topics (`NOTIFY` with `instance|topic,topic…`,
/// delivered at commit to every instance). Returns the topics and whether a
/// full batch was numbered (call again). Run inside a write transaction;
/// SQLite numbers at store time.
pub fn sequence(conn: &mut DbConn, instance: &str) -> Result<(Vec<String>, bool), ApiError> {
    let DbConn::Pg(c) = conn else {
        return Ok((Vec::new(), false));
    };
    // A numbered message leaves a dead entry in the partial index of pending
    // messages until a vacuum. A bitmap scan of that index visits every dead
    // entry in every round (seen: 67,000 of them and 50-550 ms a round in the
    // load benchmark, on a server with autovacuum off); an index scan in `id`
    // order stops after the live rows it needs and marks the dead entries it
    // passes, so later rounds skip them. Hence no bitmap scans in this
    // transaction, set in the same round trip as the lock. (The sequencer's
    // own transaction: `sequence` must never run inside another write's, or
    // in a batch, where the setting would reach the other writes.)
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock($1), set_config('enable_bitmapscan', 'off', true)",
    )
    .bind::<diesel::sql_types::BigInt, _>(SEQUENCER_LOCK)
    .execute(c)?;
    // One statement: take the oldest unnumbered messages, bump each topic's
    // counter by its count, and give the messages the numbers in between.
    let rows: Vec<SequencedTopic> = diesel::sql_query(
        "WITH pending AS ( \
             SELECT id, topic, row_number() OVER (PARTITION BY topic ORDER BY id) AS n \
             FROM (SELECT id, topic FROM live_messages WHERE seq IS NULL ORDER BY id LIMIT $1) p \
         ), counts AS ( \
             SELECT topic, count(*) AS c FROM pending GROUP BY topic \
         ), bumped AS ( \
             INSERT INTO live_topics (topic, last_seq) SELECT topic, c FROM counts \
             ON CONFLICT (topic) DO UPDATE SET last_seq = live_topics.last_seq + EXCLUDED.last_seq \
             RETURNING topic, last_seq \
         ) \
         UPDATE live_messages m SET seq = b.last_seq - counts.c + p.n \
         FROM pending p JOIN counts ON counts.topic = p.topic JOIN bumped b ON b.topic = p.topic \
         WHERE m.id = p.id \
         RETURNING m.topic",
    )
    .bind::<diesel::sql_types::BigInt, _>(SEQUENCE_BATCH)
    .load(c)?;
    let full = rows.len() as i64 == SEQUENCE_BATCH;
    let mut topics: Vec<String> = rows.into_iter().map(|r| r.topic).collect();
    topics.sort_unstable();
    topics.dedup();
    notify(c, instance, &topics)?;
    Ok((topics, full))
}

/// One `NOTIFY` per ~7,000 bytes of topic names (payloads must stay under 8,000).
fn notify(c: &mut diesel::PgConnection, instance: &str, topics: &[String]) -> Result<(), ApiError> {
    let head = format!("{instance}|");
    let mut payload = head.clone();
    for topic in topics {
        if payload.len() > head.len() && payload.len() + topic.len() + 1 > 7_000 {
            send_notify(c, &payload)?;
            payload.clone_from(&head);
        }
        if payload.len() > head.len() {
            payload.push(',');
        }
        payload.push_str(topic);
    }
    if payload.len() > head.len() {
        send_notify(c, &payload)?;
    }
    Ok(())
}

/// The topics of a `NOTIFY` payload, unless this instance sent it.
pub fn notified_topics<'a>(payload: &'a str, instance: &str) -> Vec<&'a str> {
    match payload.split_once('|') {
        Some((from, _)) if from == instance => Vec::new(),
        Some((_, topics)) => topics.split(',').collect(),
        None => payload.split(',').collect(),
    }
}

fn send_notify(c: &mut diesel::PgConnection, payload: &str) -> Result<(), ApiError> {
    diesel::sql_query("SELECT pg_notify($1, $2)")
        .bind::<diesel::sql_types::Text, _>(CHANNEL)
        .bind::<diesel::sql_types::Text, _>(payload)
        .execute(c)?;
    Ok(())
}

/// The last sequence number of a topic (0 before its first message).
pub fn last_seq(conn: &mut DbConn, topic: &str) -> Result<i64, ApiError> {
    Ok(live_topics::table
        .find(topic)
        .select(live_topics::last_seq)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// A numbered message as stored: (seq, kind, data).
pub type Stored = (i64, String, String);

/// Up to `limit` numbered messages of `topic` after `after`, in order.
pub fn after(
    conn: &mut DbConn,
    topic: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<Stored>, ApiError> {
    let rows: Vec<(Option<i64>, String, String)> = live_messages::table
        .filter(live_messages::topic.eq(topic))
        .filter(live_messages::seq.gt(after))
        .order(live_messages::seq.asc())
        .limit(limit)
        .select((live_messages::seq, live_messages::kind, live_messages::data))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(seq, kind, data)| seq.map(|s| (s, kind, data)))
        .collect())
}

/// Deletes numbered messages past both the age and the count kept; run
/// periodically (in a write transaction).
pub fn prune(conn: &mut DbConn) -> Result<usize, ApiError> {
    let cutoff = db::now() - KEEP_AGE;
    let old: Vec<(String, i64)> = live_topics::table
        .select((live_topics::topic, live_topics::last_seq))
        .load(conn)?;
    let mut deleted = 0;
    for (topic, last) in old {
        if last <= KEEP_COUNT {
            continue;
        }
        deleted += diesel::delete(
            live_messages::table
                .filter(live_messages::topic.eq(&topic))
                .filter(live_messages::created_at.lt(cutoff))
                .filter(live_messages::seq.le(last - KEEP_COUNT)),
        )
        .execute(conn)?;
    }
    Ok(deleted)
}
