//! Changes that come with the clock rather than a request: a centre's day rolls
//! over at its local midnight (`board.changed`), and an announcement's end time
//! passes (`announcement.removed`). Every instance looks once a minute; each
//! moment is claimed in the database first, so exactly one instance announces it.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeZone};
use diesel::prelude::*;
use serde_json::json;

use crate::centres::Centre;
use crate::db::schema::{announcements, app_secrets, centres};
use crate::db::{self, Db, DbConn, Tx};
use crate::error::ApiError;
use crate::live::outbox;

/// Claims a one-off moment; true for the first instance to ask.
fn claim(conn: &mut DbConn, key: &str) -> Result<bool, ApiError> {
    let inserted = db_run!(conn, |c| diesel::insert_into(app_secrets::table)
        .values((
            app_secrets::name.eq(key),
            app_secrets::value.eq(""),
            app_secrets::created_at.eq(db::now()),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// The local date of each centre now, as `YYYY-MM-DD`.
pub fn local_date(centre: &Centre, now: NaiveDateTime) -> String {
    centre
        .tz()
        .from_utc_datetime(&now)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// One look: announce new days and ended announcements not yet announced.
pub fn tick(conn: &mut Tx<'_>) -> Result<usize, ApiError> {
    let now = db::now();
    let mut announced = 0;
    let all: Vec<Centre> = centres::table
        .select(Centre::as_select())
        .load(conn.conn())?;
    for centre in all {
        let date = local_date(&centre, now);
        if claim(conn, &format!("day:{}:{date}", centre.id))? {
            outbox::publish(
                conn,
                format!("centre:{}", centre.id),
                "board.changed",
                &json!({"reason": "new_day", "date": date}),
            );
            announced += 1;
        }
    }
    let ended: Vec<(String, String)> = announcements::table
        .filter(announcements::removed_at.is_null())
        .filter(announcements::ends_at.le(now))
        .filter(announcements::ends_at.gt(now - chrono::Duration::days(1)))
        .select((announcements::id, announcements::centre_id))
        .load(conn.conn())?;
    for (id, centre) in ended {
        if claim(conn, &format!("ended:{id}"))? {
            outbox::publish(
                conn,
                format!("centre:{centre}"),
                "announcement.removed",
                &json!({"id": id, "reason": "ended"}),
            );
            announced += 1;
        }
    }
    Ok(announced)
}

/// Runs `tick` every minute until the runtime stops.
pub async fn run(db: Db) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        if let Err(e) = db.write(tick).await {
            tracing::warn!(error = %e, "display clock failed");
        }
    }
}

/// Forgets claims older than a week; run periodically.
pub fn prune(conn: &mut DbConn) -> Result<usize, ApiError> {
    let week_ago = db::now() - chrono::Duration::days(7);
    Ok(diesel::delete(
        app_secrets::table
            .filter(
                app_secrets::name
                    .like("day:%")
                    .or(app_secrets::name.like("ended:%")),
            )
            .filter(app_secrets::created_at.lt(week_ago)),
    )
    .execute(conn)?)
}
