//! The hub: one task that owns every subscription of this instance. It is woken
//! with the names of topics that have new numbered messages (by the outbox
//! after a SQLite commit, by the sequencer on PostgreSQL, or by the PostgreSQL
//! listener for messages sequenced on other instances), reads those
//! messages once from the database — only for topics somebody here subscribes
//! to — and offers each to every subscriber's bounded queue with `try_send`.
//! It never waits for a client: a full queue closes that connection with 4008.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};

use serde_json::Value;
use tokio::sync::{Notify, mpsc};

use super::ServerMsg;
use super::limits::Budgets;
use super::outbox::{self, Signal};
use crate::db::Db;
use crate::error::ApiError;

/// Frames a connection may have waiting before it counts as a slow consumer
/// (the default of `MULIN_LIVE_QUEUE_FRAMES`). Frames are shared between
/// subscribers, so a slot costs a pointer; the queue holds four read batches,
/// so one large commit (a 500-scan offline batch) does not close a healthy
/// client that is still reading.
pub const QUEUE: usize = 4 * BATCH as usize;
/// How often subscribers still being replayed their history are topped up.
const REPLAY_TICK: std::time::Duration = std::time::Duration::from_millis(20);
pub const SLOW_CONSUMER: u16 = 4008;
/// A display whose token was revoked.
pub const REVOKED: u16 = 4003;
/// A session that ended (logout, revocation, account erased).
pub const SESSION_ENDED: u16 = 4001;
pub const GOING_AWAY: u16 = 1001;
/// Messages read from the database per query.
const BATCH: i64 = 500;

/// Whether a topic is a control topic (watched, never delivered).
fn is_control(key: &str) -> bool {
    ["display:", "session:", "access:"]
        .iter()
        .any(|p| key.starts_with(p))
}

/// Tells a connection to close, with a WebSocket close code.
#[derive(Default)]
pub struct Kill {
    code: AtomicU16,
    pub notify: Notify,
    /// The person's access changed: the connection checks its topics again.
    pub recheck: Notify,
}

impl Kill {
    /// Asks the connection to close with `code`; false if it was already
    /// told to close (the first code stands).
    pub fn kill(&self, code: u16) -> bool {
        let first = self
            .code
            .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if first {
            self.notify.notify_one();
        }
        first
    }

    pub fn code(&self) -> u16 {
        self.code.load(Ordering::SeqCst)
    }
}

/// The hub's handle on one connection.
#[derive(Clone)]
pub struct Peer {
    pub id: u64,
    pub tx: mpsc::Sender<Arc<str>>,
    pub kill: Arc<Kill>,
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub subscriptions: AtomicU64,
    pub sent: AtomicU64,
    pub slow_closes: AtomicU64,
}

pub enum Command {
    Subscribe {
        peer: Peer,
        /// Stored topic key (`user:{id}` for `me`).
        key: String,
        /// The name the client used (`me`).
        label: String,
        since: Option<i64>,
        current: i64,
        snapshot: Value,
    },
    Unsubscribe {
        peer_id: u64,
        key: String,
    },
    /// Watches a control topic for this peer: any message on it closes the
    /// peer instead of being sent (`display:{id}` with 4003, `session:{id}`
    /// with 4001), or makes it check its topics again (`access:{user}`).
    Watch {
        peer: Peer,
        key: String,
        current: i64,
    },
    Disconnect {
        peer_id: u64,
    },
    CloseAll {
        code: u16,
    },
}

struct Subscriber {
    peer: Peer,
    label: String,
    last_sent: i64,
    /// Still being replayed what it missed: given frames only while its queue
    /// is less than half full, never closed for a full queue.
    replaying: bool,
}

impl Subscriber {
    /// A replaying subscriber whose queue has no room for more history now.
    fn paused(&self) -> bool {
        self.replaying && !has_room(&self.peer)
    }
}

/// Whether a peer's queue is less than half full (history may be offered).
fn has_room(peer: &Peer) -> bool {
    peer.tx.capacity() > peer.tx.max_capacity() / 2
}

#[derive(Clone)]
pub struct HubHandle {
    pub commands: mpsc::Sender<Command>,
    /// Frames a connection may have waiting (`MULIN_LIVE_QUEUE_FRAMES`).
    pub queue: usize,
    pub signal: Arc<Signal>,
    pub stats: Arc<Stats>,
    next_id: Arc<AtomicU64>,
    /// Connection seats per user and anonymous subscribes per address.
    pub budgets: Budgets,
}

impl HubHandle {
    pub fn next_peer_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

struct Hub {
    db: Db,
    topics: HashMap<String, Vec<Subscriber>>,
    peers: HashMap<u64, (Peer, HashSet<String>)>,
    /// Topics with subscribers still being replayed their history.
    replaying: HashSet<String>,
    stats: Arc<Stats>,
}

/// Starts the hub task; the handle is cloned into every connection.
pub fn start(db: Db, signal: Arc<Signal>, queue: usize) -> HubHandle {
    let (tx, rx) = mpsc::channel(4096);
    let stats = Arc::new(Stats::default());
    let hub = Hub {
        db,
        topics: HashMap::new(),
        peers: HashMap::new(),
        replaying: HashSet::new(),
        stats: stats.clone(),
    };
    tokio::spawn(hub.run(rx, signal.clone()));
    HubHandle {
        commands: tx,
        queue,
        signal,
        stats,
        next_id: Arc::new(AtomicU64::new(1)),
        budgets: Budgets::default(),
    }
}

type Row = outbox::Stored;

fn render(label: &str, seq: i64, kind: &str, data: &str) -> Arc<str> {
    let data: Value = serde_json::from_str(data).unwrap_or(Value::Null);
    let frame =
        serde_json::json!({"op": "event", "topic": label, "seq": seq, "type": kind, "data": data});
    Arc::from(frame.to_string())
}

impl Hub {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, signal: Arc<Signal>) {
        let mut tick = tokio::time::interval(REPLAY_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = tick.tick(), if !self.replaying.is_empty() => {
                    // Only topics where a replaying client has room again: one
                    // that stopped reading costs no read until it drains.
                    let topics: Vec<String> = self
                        .replaying
                        .iter()
                        .filter(|t| {
                            self.topics.get(*t).is_some_and(|subs| {
                                subs.iter().any(|s| s.replaying && !s.paused())
                            })
                        })
                        .cloned()
                        .collect();
                    for topic in topics {
                        if let Err(e) = self.dispatch(&topic).await {
                            tracing::warn!(error = %e, %topic, "live replay failed");
                        }
                    }
                }
                command = commands.recv() => match command {
                    Some(command) => self.handle(command).await,
                    None => return,
                },
                () = signal.notify.notified() => {
                    let (mut topics, everything) = signal.drain();
                    if everything {
                        // Control topics act on any message; a reconnect is
                        // not one, so only ordinary topics are read again.
                        topics = self
                            .topics
                            .keys()
                            .filter(|k| !is_control(k))
                            .cloned()
                            .collect();
                    }
                    for topic in topics {
                        if let Err(e) = self.dispatch(&topic).await {
                            tracing::warn!(error = %e, %topic, "live dispatch failed");
                        }
                    }
                }
            }
        }
    }

    async fn fetch(&self, key: &str, after: i64) -> Result<Vec<Row>, ApiError> {
        let key = key.to_owned();
        self.db
            .run(move |c| outbox::after(c, &key, after, BATCH))
            .await
    }

    /// Offers a frame to one subscriber; false when the peer must go.
    fn offer(stats: &Stats, peer: &Peer, frame: Arc<str>) -> bool {
        match peer.tx.try_send(frame) {
            Ok(()) => {
                stats.sent.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                // Counted once per connection, however many frames bounced.
                if peer.kill.kill(SLOW_CONSUMER) {
                    stats.slow_closes.fetch_add(1, Ordering::Relaxed);
                }
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Subscribe {
                peer,
                key,
                label,
                since,
                current,
                snapshot,
            } => {
                if let Err(e) = self
                    .subscribe(peer, key, label, since, current, snapshot)
                    .await
                {
                    tracing::warn!(error = %e, "live subscribe failed");
                }
            }
            Command::Unsubscribe { peer_id, key } => self.unsubscribe(peer_id, &key),
            Command::Watch { peer, key, current } => {
                self.peers
                    .entry(peer.id)
                    .or_insert_with(|| (peer.clone(), HashSet::new()))
                    .1
                    .insert(key.clone());
                self.topics.entry(key).or_default().push(Subscriber {
                    peer,
                    label: String::new(),
                    last_sent: current,
                    replaying: false,
                });
                // Counted like a subscription: `Disconnect` takes it off again.
                self.stats.subscriptions.fetch_add(1, Ordering::Relaxed);
            }
            Command::Disconnect { peer_id } => {
                if let Some((_, keys)) = self.peers.remove(&peer_id) {
                    for key in keys {
                        self.unsubscribe(peer_id, &key);
                    }
                }
            }
            Command::CloseAll { code } => {
                for (peer, _) in self.peers.values() {
                    peer.kill.kill(code);
                }
            }
        }
    }

    fn unsubscribe(&mut self, peer_id: u64, key: &str) {
        if let Some(subs) = self.topics.get_mut(key) {
            let before = subs.len();
            subs.retain(|s| s.peer.id != peer_id);
            let removed = before - subs.len();
            self.stats
                .subscriptions
                .fetch_sub(removed as u64, Ordering::Relaxed);
            if subs.is_empty() {
                self.topics.remove(key);
                self.replaying.remove(key);
            }
        }
        if let Some((_, keys)) = self.peers.get_mut(&peer_id) {
            keys.remove(key);
        }
    }

    async fn subscribe(
        &mut self,
        peer: Peer,
        key: String,
        label: String,
        since: Option<i64>,
        current: i64,
        snapshot: Value,
    ) -> Result<(), ApiError> {
        self.unsubscribe(peer.id, &key);
        let subscribed = ServerMsg::Subscribed {
            topic: &label,
            seq: current,
            snapshot,
        }
        .text();
        if !Self::offer(&self.stats, &peer, Arc::from(subscribed)) {
            return Ok(());
        }
        let mut last_sent = since.unwrap_or(current).min(current);
        if let Some(since) = since {
            let missed = self.fetch(&key, since).await?;
            let gap = since < current && missed.first().is_none_or(|(seq, _, _)| *seq != since + 1);
            if gap || since > current {
                let resync = ServerMsg::Resync { topic: &label }.text();
                Self::offer(&self.stats, &peer, Arc::from(resync));
                last_sent = current;
            }
        }
        // Everything after `last_sent` that is already stored, then live. A
        // long history goes out in pages as the client reads (`dispatch`, on
        // the replay tick), within half the queue, so catching up is never
        // mistaken for a slow consumer.
        let mut replaying = false;
        'replay: loop {
            let rows = self.fetch(&key, last_sent).await?;
            let more = rows.len() as i64 == BATCH;
            for (seq, kind, data) in rows {
                if !has_room(&peer) {
                    replaying = true;
                    break 'replay;
                }
                if !Self::offer(&self.stats, &peer, render(&label, seq, &kind, &data)) {
                    return Ok(());
                }
                last_sent = seq;
            }
            if !more {
                break;
            }
        }
        if replaying {
            self.replaying.insert(key.clone());
        }
        self.peers
            .entry(peer.id)
            .or_insert_with(|| (peer.clone(), HashSet::new()))
            .1
            .insert(key.clone());
        self.topics.entry(key).or_default().push(Subscriber {
            peer,
            label,
            last_sent,
            replaying,
        });
        self.stats.subscriptions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn dispatch(&mut self, key: &str) -> Result<(), ApiError> {
        let control = if key.starts_with("display:") {
            Some(REVOKED)
        } else if key.starts_with("session:") {
            Some(SESSION_ENDED)
        } else {
            None
        };
        if let Some(code) = control {
            if let Some(subs) = self.topics.get(key) {
                for sub in subs {
                    sub.peer.kill.kill(code);
                }
            }
            return Ok(());
        }
        if key.starts_with("access:") {
            if let Some(subs) = self.topics.get(key) {
                for sub in subs {
                    sub.peer.kill.recheck.notify_one();
                }
            }
            return Ok(());
        }
        loop {
            // Replaying subscribers with a full half-queue wait for the next tick.
            let Some(from) = self.topics.get(key).and_then(|subs| {
                subs.iter()
                    .filter(|s| !s.paused())
                    .map(|s| s.last_sent)
                    .min()
            }) else {
                return Ok(());
            };
            let rows = self.fetch(key, from).await?;
            let more = rows.len() as i64 == BATCH;
            let Some(subs) = self.topics.get_mut(key) else {
                return Ok(());
            };
            let stats = &self.stats;
            let mut gone: HashSet<u64> = HashSet::new();
            // Replaying subscribers that ran out of room in this batch: they
            // get nothing more of it, so what they receive has no hole.
            let mut held: HashSet<u64> = HashSet::new();
            for (seq, kind, data) in &rows {
                let mut frames: HashMap<&str, Arc<str>> = HashMap::new();
                // `last_sent >= from`: the batch holds the subscriber's next
                // message (a paused one left out of `from` may be further back).
                for sub in subs.iter_mut() {
                    let due = sub.last_sent < *seq && sub.last_sent >= from;
                    if !due || gone.contains(&sub.peer.id) {
                        continue;
                    }
                    if held.contains(&sub.peer.id) || sub.paused() {
                        held.insert(sub.peer.id);
                        continue;
                    }
                    let frame = frames
                        .entry(sub.label.as_str())
                        .or_insert_with(|| render(&sub.label, *seq, kind, data))
                        .clone();
                    if Self::offer(stats, &sub.peer, frame) {
                        sub.last_sent = *seq;
                    } else {
                        gone.insert(sub.peer.id);
                    }
                }
            }
            if !more {
                // Whoever was given the last stored row has caught up.
                let last = rows.last().map_or(from, |(seq, _, _)| *seq);
                for sub in subs
                    .iter_mut()
                    .filter(|s| s.replaying && s.last_sent >= last)
                {
                    sub.replaying = false;
                }
                if !subs.iter().any(|s| s.replaying) {
                    self.replaying.remove(key);
                }
            }
            for id in gone {
                self.unsubscribe(id, key);
            }
            if !more {
                return Ok(());
            }
            // Let the connections drain what they were given before the next batch.
            tokio::task::yield_now().await;
        }
    }
}
