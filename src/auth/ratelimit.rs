//! Rate limits for the auth endpoints, per client address and per phone, and
//! for looking other people up by phone (an hour's window per caller). The
//! counters live in the database so that every instance behind the load balancer
//! counts against the same window. Each instance also keeps its own count in
//! memory and refuses from there first: a flood of refused logins costs no
//! write on SQLite's single writer, while the first `limit` attempts of a
//! window still go to the database, so the limit holds across instances.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::CurrentUser;
use crate::db::schema::rate_limits;
use crate::db::{self, Db, DbConn};
use crate::error::ApiError;

pub const WINDOW: Duration = Duration::seconds(60);
/// Login attempts a minute for one phone number, whatever the address.
pub const PER_PHONE: u32 = 10;
/// Lookups of other people by phone one caller may make in an hour (adding an
/// organization's member, a buyer's staff member, a project's evaluator): each
/// "no such account" tells whether a number is registered.
pub const PHONE_LOOKUPS_PER_HOUR: u32 = 30;
const HOUR: Duration = Duration::hours(1);
/// The prefix of the phone-lookup buckets (one per caller).
const LOOKUP: &str = "phone-lookup:";
/// Hour windows are kept in the database this long after they start.
const KEEP: Duration = Duration::hours(2);

/// Counts one hit in `bucket`; `429 rate_limited` with the seconds until the
/// window ends once `limit` hits were counted in the current window.
fn hit(conn: &mut DbConn, bucket: &str, limit: u32, window: Duration) -> Result<(), ApiError> {
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
        .filter(rate_limits::window_start.le(now - window))
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
        u64::try_from((started + window - now).num_seconds().max(1)).unwrap_or(1);
    Err(ApiError::RateLimited { retry_after_secs })
}

/// This instance's view of each bucket's window.
#[derive(Clone, Copy, Debug)]
struct Local {
    window_start: NaiveDateTime,
    hits: u32,
    /// The database refused: refuse from memory until then.
    blocked_until: Option<NaiveDateTime>,
}

/// Buckets kept in memory before old windows are swept out.
const MEMORY_BUCKETS: usize = 10_000;

/// The in-memory first line (one per instance, shared by its workers).
#[derive(Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<String, Local>>,
}

impl Limiter {
    /// Counts the attempt in memory; `Err` with the seconds to wait when any
    /// bucket is already over its limit here (no database write then).
    fn admit(
        &self,
        buckets: &[(String, u32)],
        now: NaiveDateTime,
        window: Duration,
    ) -> Result<(), ApiError> {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > MEMORY_BUCKETS {
            map.retain(|_, l| l.window_start > now - window);
            // Still full (a flood of distinct buckets): forget them all. This
            // is only the first line; the database keeps counting.
            if map.len() > MEMORY_BUCKETS {
                map.clear();
            }
        }
        for (bucket, limit) in buckets {
            let local = map.entry(bucket.clone()).or_insert(Local {
                window_start: now,
                hits: 0,
                blocked_until: None,
            });
            if local.window_start <= now - window {
                *local = Local {
                    window_start: now,
                    hits: 0,
                    blocked_until: None,
                };
            }
            let until = match local.blocked_until {
                Some(until) if until > now => Some(until),
                _ if local.hits >= *limit => Some(local.window_start + window),
                _ => None,
            };
            if let Some(until) = until {
                let retry_after_secs =
                    u64::try_from((until - now).num_seconds().max(1)).unwrap_or(1);
                return Err(ApiError::RateLimited { retry_after_secs });
            }
        }
        for (bucket, _) in buckets {
            if let Some(local) = map.get_mut(bucket) {
                local.hits += 1;
            }
        }
        Ok(())
    }

    /// The database refused: remember it for the rest of its window.
    fn block(&self, buckets: &[(String, u32)], retry_after_secs: u64, now: NaiveDateTime) {
        let until = now + Duration::seconds(i64::try_from(retry_after_secs).unwrap_or(60));
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        for (bucket, _) in buckets {
            if let Some(local) = map.get_mut(bucket) {
                local.blocked_until = Some(until);
            }
        }
    }
}

/// Counts a hit in each `(bucket, limit)` of a minute's window; limits of 0
/// are off. Refused from memory when this instance already saw the limit
/// reached; otherwise counted in the database, which holds the limit across
/// instances.
pub async fn check(
    db: &Db,
    limiter: &Limiter,
    buckets: Vec<(String, u32)>,
) -> Result<(), ApiError> {
    check_within(db, limiter, buckets, WINDOW).await
}

/// Counts one lookup of another person by phone for `caller` (admins are not
/// limited): `429` past [`PHONE_LOOKUPS_PER_HOUR`] in the hour.
pub async fn phone_lookup(
    db: &Db,
    limiter: &Limiter,
    caller: &CurrentUser,
) -> Result<(), ApiError> {
    if caller.is_admin {
        return Ok(());
    }
    let bucket = format!("{LOOKUP}{}", caller.id);
    check_within(db, limiter, vec![(bucket, PHONE_LOOKUPS_PER_HOUR)], HOUR).await
}

async fn check_within(
    db: &Db,
    limiter: &Limiter,
    buckets: Vec<(String, u32)>,
    window: Duration,
) -> Result<(), ApiError> {
    let buckets: Vec<_> = buckets
        .into_iter()
        .filter(|(_, limit)| *limit > 0)
        .collect();
    if buckets.is_empty() {
        return Ok(());
    }
    let now = db::now();
    limiter.admit(&buckets, now, window)?;
    // One transaction for all counters: a refused attempt counts nowhere.
    let counted = buckets.clone();
    // Which bucket the database refused: only that one is blocked in memory
    // (a phone over its limit must not block its caller's address as well).
    let refused: Arc<Mutex<Option<(String, u32)>>> = Arc::default();
    let noted = refused.clone();
    let result = db
        .write(move |conn| {
            for (bucket, limit) in &counted {
                if let Err(e) = hit(conn, bucket, *limit, window) {
                    if matches!(e, ApiError::RateLimited { .. }) {
                        *noted.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some((bucket.clone(), *limit));
                    }
                    return Err(e);
                }
            }
            Ok(())
        })
        .await;
    if let Err(ApiError::RateLimited { retry_after_secs }) = &result {
        let refused = refused.lock().unwrap_or_else(|p| p.into_inner()).take();
        limiter.block(&Vec::from_iter(refused), *retry_after_secs, now);
    }
    result
}

/// Deletes windows that ended long ago; run periodically.
pub fn prune(conn: &mut DbConn) -> Result<usize, ApiError> {
    let now = db::now();
    // Minute windows go after ten minutes, the lookups' hour windows after two.
    let minutes = rate_limits::window_start
        .lt(now - WINDOW * 10)
        .and(rate_limits::bucket.not_like(format!("{LOOKUP}%")));
    let hours = rate_limits::window_start.lt(now - KEEP);
    Ok(diesel::delete(rate_limits::table.filter(minutes.or(hours))).execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_refuses_past_the_limit_and_forgets_after_the_window() {
        let limiter = Limiter::default();
        let now = db::now();
        let buckets = vec![("login-phone:x".to_owned(), 3)];
        for _ in 0..3 {
            assert!(limiter.admit(&buckets, now, WINDOW).is_ok());
        }
        assert!(matches!(
            limiter.admit(&buckets, now, WINDOW),
            Err(ApiError::RateLimited { .. })
        ));
        assert!(limiter.admit(&buckets, now + WINDOW, WINDOW).is_ok());
        limiter.block(&buckets, 30, now + WINDOW);
        assert!(matches!(
            limiter.admit(&buckets, now + WINDOW + Duration::seconds(10), WINDOW),
            Err(ApiError::RateLimited {
                retry_after_secs: 20
            })
        ));
    }
}
