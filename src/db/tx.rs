//! The one way to write: a [`Tx`] is a database transaction that also buffers
//! the live messages its change records. The messages are handed to the
//! [`Outbox`] hook just before `COMMIT` (stored in the same transaction, so a
//! message exists if and only if its change committed) and announced after it.
//! `db` defines the hook; `live` implements it, so this floor names no feature.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::result::QueryResult;

use super::DbConn;
use crate::error::ApiError;

/// One live message recorded inside a transaction, in the order recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub kind: String,
    /// JSON text.
    pub data: String,
}

/// Stores what a transaction recorded and hears when it committed.
pub trait Outbox: Send + Sync + 'static {
    /// Inside the transaction, after the work and right before `COMMIT`.
    fn store(&self, conn: &mut DbConn, messages: &[Message]) -> QueryResult<()>;
    /// After `COMMIT` succeeded (not called for transactions without messages).
    /// May return a wait that ends once the messages are numbered and readable
    /// (PostgreSQL numbers them after the commit); the writer is answered only
    /// then, so a client that subscribes after its own write finds its messages
    /// counted in the topic's `seq`.
    fn committed(&self, messages: &[Message]) -> Option<Numbered>;
}

/// Reacts, inside the same transaction, to the messages a write recorded: the
/// work a change causes (jobs, notifications, webhook deliveries) commits or
/// rolls back with the change itself. `db` defines the hook; features that
/// follow others' changes implement it and `app` attaches them. Messages a
/// follower records are stored but not followed again.
pub trait Follower: Send + Sync + 'static {
    fn follow(&self, tx: &mut Tx<'_>, recorded: &[Message]) -> Result<(), ApiError>;

    /// True for a follower that runs once per commit, over the messages of
    /// every write that succeeded in it (a group commit's dozens), right
    /// before they are stored, instead of inside each write's savepoint: for
    /// work that is cheaper done for many messages at once. Its failure fails
    /// the whole commit.
    fn per_commit(&self) -> bool {
        false
    }
}

/// A wait for messages to be numbered (see [`Outbox::committed`]).
pub type Numbered = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A write transaction in progress: the connection plus its outgoing messages.
pub struct Tx<'c> {
    conn: &'c mut DbConn,
    messages: Vec<Message>,
    followers: &'c [Arc<dyn Follower>],
}

impl<'c> Tx<'c> {
    pub(super) fn new(conn: &'c mut DbConn, followers: &'c [Arc<dyn Follower>]) -> Tx<'c> {
        Tx {
            conn,
            messages: Vec::new(),
            followers,
        }
    }

    /// Hands what the write recorded to the followers (once, after the write).
    fn follow(&mut self) -> Result<(), ApiError> {
        let followers = self.followers;
        if self.messages.is_empty() || followers.is_empty() {
            return Ok(());
        }
        let recorded = self.messages.clone();
        for follower in followers.iter().filter(|f| !f.per_commit()) {
            follower.follow(self, &recorded)?;
        }
        Ok(())
    }

    /// The connection, for diesel statements (`.execute(tx.conn())`).
    pub fn conn(&mut self) -> &mut DbConn {
        self.conn
    }

    /// Records a message; it is stored only if this transaction commits.
    pub fn record(&mut self, topic: String, kind: &str, data: &serde_json::Value) {
        self.messages.push(Message {
            topic,
            kind: kind.to_owned(),
            data: data.to_string(),
        });
    }

    /// Forgets what this transaction recorded so far on `topic` (an erased
    /// person's own topic: nothing new is stored for them).
    pub fn forget_topic(&mut self, topic: &str) {
        self.messages.retain(|m| m.topic != topic);
    }

    /// What this transaction recorded so far.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    pub(super) fn into_messages(self) -> Vec<Message> {
        self.messages
    }
}

impl Deref for Tx<'_> {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        self.conn
    }
}

impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut DbConn {
        self.conn
    }
}

/// `BEGIN` (PostgreSQL, callers lock the rows they change) or `BEGIN IMMEDIATE`
/// (SQLite: take the write lock now rather than fail to upgrade later).
pub(super) fn begin(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c),
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
    }
}

pub(super) fn commit(conn: &mut DbConn) -> QueryResult<()> {
    <DbConn as Connection>::TransactionManager::commit_transaction(conn)
}

pub(super) fn rollback(conn: &mut DbConn) -> QueryResult<()> {
    <DbConn as Connection>::TransactionManager::rollback_transaction(conn)
}

/// A savepoint inside the open transaction (group commit: one per write).
pub(super) fn savepoint(conn: &mut DbConn) -> QueryResult<()> {
    <DbConn as Connection>::TransactionManager::begin_transaction(conn)
}

/// Group commit's next write on PostgreSQL: ends the savepoint of the write
/// before (which succeeded) and opens this one in a single round trip,
/// `RELEASE` and `SAVEPOINT` sent together. The transaction's depth is the
/// same after as before, so diesel's count stays right. Anywhere but directly
/// inside the top level it falls back to the two statements, one at a time.
/// On SQLite, where a statement costs no round trip, it is the same two calls.
pub(super) fn next_savepoint(conn: &mut DbConn) -> QueryResult<()> {
    let depth = depth(conn);
    match (conn, depth) {
        (DbConn::Pg(c), Some(2)) => {
            c.batch_execute("RELEASE SAVEPOINT diesel_savepoint_1; SAVEPOINT diesel_savepoint_1")
        }
        (conn, _) => {
            commit(conn)?;
            savepoint(conn)
        }
    }
}

/// Rolls back every level still open on `conn` (a failed group commit may
/// leave a write's savepoint open inside the transaction), so the
/// connection goes back to the pool clean rather than being discarded.
pub(super) fn rollback_all(conn: &mut DbConn) -> QueryResult<()> {
    let mut first_error = None;
    while in_transaction(conn) {
        let before = depth(conn);
        if let Err(e) = rollback(conn) {
            first_error.get_or_insert(e);
            // diesel lowers the depth of a savepoint it failed to roll back,
            // so the level above is tried next; nothing lowered, give up.
            if depth(conn) == before {
                break;
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn depth(conn: &mut DbConn) -> Option<u32> {
    <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .ok()
        .flatten()
        .map(std::num::NonZeroU32::get)
}

/// Whether a transaction is still open on `conn` (a connection in that state
/// must not go back to the pool).
pub fn in_transaction(conn: &mut DbConn) -> bool {
    let status = <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn);
    !matches!(status.transaction_depth(), Ok(None))
}

/// Runs one write's closure; a panic becomes an error instead of unwinding
/// through the connection.
pub(super) fn run_closure<T, F>(tx: &mut Tx<'_>, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut Tx<'_>) -> Result<T, ApiError>,
{
    catch_unwind(AssertUnwindSafe(|| {
        let value = f(tx)?;
        tx.follow()?;
        Ok(value)
    }))
    .unwrap_or_else(|_| Err(ApiError::internal("a write transaction panicked")))
}

/// One whole transaction on `conn`: begin, `f`, store the messages, commit.
/// Returns the value and the committed messages.
pub(super) fn run<T, F>(
    conn: &mut DbConn,
    outbox: Option<&dyn Outbox>,
    followers: &[Arc<dyn Follower>],
    f: F,
) -> Result<(T, Vec<Message>), ApiError>
where
    F: FnOnce(&mut Tx<'_>) -> Result<T, ApiError>,
{
    begin(conn)?;
    let mut tx = Tx::new(conn, followers);
    let result = run_closure(&mut tx, f);
    let mut messages = tx.into_messages();
    let stored = result.and_then(|value| {
        follow_commit(conn, followers, &mut messages)?;
        store(conn, outbox, &messages)?;
        Ok(value)
    });
    match stored {
        Ok(value) => {
            commit(conn)?;
            Ok((value, messages))
        }
        Err(err) => {
            // The write's own error is the one to answer; a connection whose
            // rollback failed is still in a transaction and the pool drops it.
            if let Err(e) = rollback(conn) {
                tracing::warn!(error = %e, "rollback failed");
            }
            Err(err)
        }
    }
}

/// Runs the [`Follower::per_commit`] followers over the messages of every
/// write in the commit; what they record joins the messages (not followed
/// again).
pub(super) fn follow_commit(
    conn: &mut DbConn,
    followers: &[Arc<dyn Follower>],
    messages: &mut Vec<Message>,
) -> Result<(), ApiError> {
    if messages.is_empty() {
        return Ok(());
    }
    let mut recorded = Vec::new();
    for follower in followers.iter().filter(|f| f.per_commit()) {
        let mut tx = Tx::new(conn, &[]);
        // Runs on the SQLite writer's thread: a panic must not end it.
        catch_unwind(AssertUnwindSafe(|| follower.follow(&mut tx, messages)))
            .unwrap_or_else(|_| Err(ApiError::internal("a follower panicked")))?;
        recorded.extend(tx.into_messages());
    }
    messages.extend(recorded);
    Ok(())
}

/// Hands the messages to the outbox; recording messages with no outbox
/// attached is a wiring bug, never a silent drop.
pub(super) fn store(
    conn: &mut DbConn,
    outbox: Option<&dyn Outbox>,
    messages: &[Message],
) -> Result<(), ApiError> {
    if messages.is_empty() {
        return Ok(());
    }
    match outbox {
        Some(outbox) => Ok(outbox.store(conn, messages)?),
        None => Err(ApiError::internal(
            "live messages were recorded but no outbox is attached",
        )),
    }
}
