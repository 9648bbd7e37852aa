//! `FOR SHARE OF <table> FOR NO KEY UPDATE OF <table>`: row locks on
//! some tables of a join, which diesel's own `for_share` cannot say (it locks
//! every table, and PostgreSQL refuses a lock on the nullable side of an
//! outer join). PostgreSQL only.
//!
//! A row locked in share or update mode is read as it is once the lock is
//! held, even when the statement had to wait for it; a row of a table the
//! statement does not lock is read as it was when the statement began. (Not
//! so in key-share mode, which no update of a row's other columns conflicts
//! with: such a row is read as it was, checked on PostgreSQL 15.)

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// `query` followed by `FOR SHARE OF share FOR NO KEY UPDATE OF update`.
#[derive(Debug, Clone, Copy, QueryId)]
pub struct Locked<Q, S, U> {
    query: Q,
    share: S,
    update: U,
}

/// Locks, in share mode, the rows of `share` (a table, or a tuple of
/// tables) that `query` (a complete `SELECT`, its `LIMIT` included) reads,
/// and the rows of `update` as an `UPDATE` of their non-key columns does (for
/// rows the transaction is about to change).
pub fn share_and_no_key_update<Q, S, U>(query: Q, share: S, update: U) -> Locked<Q, S, U> {
    Locked {
        query,
        share,
        update,
    }
}

impl<Q: Query, S, U> Query for Locked<Q, S, U> {
    type SqlType = Q::SqlType;
}

impl<Q, S, U> QueryFragment<Pg> for Locked<Q, S, U>
where
    Q: QueryFragment<Pg>,
    S: QueryFragment<Pg>,
    U: QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(" FOR SHARE OF ");
        self.share.walk_ast(out.reborrow())?;
        out.push_sql(" FOR NO KEY UPDATE OF ");
        self.update.walk_ast(out.reborrow())
    }
}

impl<Q, S, U, C> RunQueryDsl<C> for Locked<Q, S, U> {}
