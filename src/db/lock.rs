//! `FOR SHARE OF <table>`: a row lock on one table of a join, which diesel's
//! own `for_share` cannot say (it locks every table, and PostgreSQL refuses a
//! lock on the nullable side of an outer join). PostgreSQL only.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// `query` followed by `FOR SHARE OF table`.
#[derive(Debug, Clone, Copy, QueryId)]
pub struct ForShareOf<Q, T> {
    query: Q,
    table: T,
}

/// Locks, in share mode, the rows of `table` that `query` (a complete
/// `SELECT`, its `LIMIT` included) reads, and no other table's.
pub fn for_share_of<Q, T>(query: Q, table: T) -> ForShareOf<Q, T> {
    ForShareOf { query, table }
}

impl<Q: Query, T> Query for ForShareOf<Q, T> {
    type SqlType = Q::SqlType;
}

impl<Q, T> QueryFragment<Pg> for ForShareOf<Q, T>
where
    Q: QueryFragment<Pg>,
    T: QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(" FOR SHARE OF ");
        self.table.walk_ast(out.reborrow())
    }
}

impl<Q, T, C> RunQueryDsl<C> for ForShareOf<Q, T> {}
