//! Rate limits for the auth endpoints, per client address and per phone. The
//! counters live in the database so that every instance behind the load balancer
//! counts against the same window.

use chrono::Duration;
use diesel::prelude::*;

use crate::db::schema::rate_limits;
use crate::db::{self, Db, DbConn};
use crate::error::ApiError;

pub const WINDOW: Duration = Duration::seconds(60);
/// Login attempts a minute for one phone number, whatever the address.
pub const PER_PHONE: u32 = 10;

/// Counts one hit in `bucket`; `429 rate_limited` with the seconds until the
/// window ends once `limit` hits were counted in the current window.
fn hit(conn: &mut DbConn, bucket: &str, limit: u32) -> Result<(), ApiError> {
    let now = db::now();
    db_run!(conn, |c| diesel::insert_into(rate_limits::table)
        .values((
            rate_limits::bucket.eq(bucket),
            rate_limits::window_start.eq(now),
            rate_limits::hits.eq(0),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    diesel::update(rate_limits::table.find(bucket))
        .filter(rate_limits::window_start.le(now - WINDOW))
        .set((rate_limits::window_start.eq(now), rate_limits::hits.eq(0)))
        .execute(conn)?;
    let limit = i32::try_from(limit).unwrap_or(i32::MAX);
    let counted = diesel::update(rate_limits::table.find(bucket))
        .filter(rate_limits::hits.lt(limit))
        .set(rate_limits::hits.eq(rate_limits::hits + 1))
        .execute(conn)?;
    if counted == 1 {
        return Ok(());
    }
    let started: chrono::NaiveDateTime = rate_limits::table
        .find(bucket)
        .select(rate_limits::window_start)
        .first(conn)?;
    let retry_after_secs =
        u64::try_from((started + WINDOW - now).num_seconds().max(1)).unwrap_or(1);
    Err(ApiError::RateLimited { retry_after_secs })
}

/// Counts a hit in each `(bucket, limit)`; limits of 0 are off.
pub async fn check(db: &Db, buckets: Vec<(String, u32)>) -> Result<(), ApiError> {
    let buckets: Vec<_> = buckets
        .into_iter()
        .filter(|(_, limit)| *limit > 0)
        .collect();
    if buckets.is_empty() {
        return Ok(());
    }
    // One transaction for all counters: a refused attempt counts nowhere.
    db.write(move |conn| {
        for (bucket, limit) in &buckets {
            hit(conn, bucket, *limit)?;
        }
        Ok(())
    })
    .await
}

/// Deletes windows that ended long ago; run periodically.
pub fn prune(conn: &mut DbConn) -> Result<usize, ApiError> {
    Ok(diesel::delete(
        rate_limits::table.filter(rate_limits::window_start.lt(db::now() - WINDOW * 10)),
    )
    .execute(conn)?)
}
