//! The service's clock. Everything time-driven (event states, windows, reminders,
//! retries, retention) reads [`now`]. With `MULIN_TEST_CLOCK=true` the clock can
//! be moved forward (`POST /api/v1/test/clock`), like Stripe's test clocks; the
//! offset belongs to the process, as with libfaketime, so tests that move it run
//! the service in a child process of their own. The offset is kept in the
//! database too, so an instance restarted during a test resumes at the moved
//! time. Without the setting the offset is always zero and cannot change.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;

use super::DbConn;
use super::schema::app_secrets;

static ENABLED: AtomicBool = AtomicBool::new(false);
static OFFSET_MICROS: AtomicI64 = AtomicI64::new(0);

/// Where the offset is kept between restarts (only ever written under the test clock).
const OFFSET_ROW: &str = "test_clock_offset_micros";

/// The current time as stored: UTC, truncated to microseconds so that SQLite and
/// PostgreSQL hold the same value and cursors round-trip exactly.
pub fn now() -> NaiveDateTime {
    let wall = Utc::now().naive_utc();
    let offset = OFFSET_MICROS.load(Ordering::Relaxed);
    (wall + chrono::Duration::microseconds(offset)).trunc_subsecs(6)
}

/// Whether this process was started with the test clock.
pub fn is_test_clock() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Turns the test clock on for this process and resumes the offset a previous
/// instance left in the database. Called once at start-up, and only when
/// `MULIN_TEST_CLOCK=true`.
pub fn enable_test_clock(conn: &mut DbConn) -> QueryResult<()> {
    ENABLED.store(true, Ordering::Relaxed);
    let stored: Option<String> = app_secrets::table
        .find(OFFSET_ROW)
        .select(app_secrets::value)
        .first(conn)
        .optional()?;
    if let Some(micros) = stored.and_then(|v| v.parse::<i64>().ok()) {
        OFFSET_MICROS.fetch_max(micros, Ordering::Relaxed);
    }
    Ok(())
}

/// Moves the clock forward by `secs` (never back) and returns the new time;
/// `None` when the test clock is off.
pub fn advance(conn: &mut DbConn, secs: i64) -> QueryResult<Option<NaiveDateTime>> {
    if !is_test_clock() {
        return Ok(None);
    }
    let micros = secs.saturating_mul(1_000_000);
    let offset = OFFSET_MICROS.fetch_add(micros, Ordering::Relaxed) + micros;
    let value = offset.to_string();
    diesel::delete(app_secrets::table.find(OFFSET_ROW)).execute(conn)?;
    diesel::insert_into(app_secrets::table)
        .values((
            app_secrets::name.eq(OFFSET_ROW),
            app_secrets::value.eq(&value),
            app_secrets::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(Some(now()))
}
