//! Changes that come with the clock rather than a request: a centre's day rolls
//! over at its local midnight (`board.changed`, `reason: new_day`), an
//! announcement posted ahead starts (`board.changed`, `announcement_started`)
//! or ends (`announcement.removed`), and an activity on the board starts or
//! ends (`board.changed`, `event_started` / `event_ended`: its state on the
//! board moves to `in_progress` / `ended`). Every instance looks once a minute;
//! each moment is claimed in the database first, so exactly one instance
//! announces it. A moment more than a day old is not announced any more.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeZone};
use diesel::prelude::*;
use serde_json::json;

use crate::centres::Centre;
use crate::db::schema::{announcements, app_secrets, centres, events, organizations};
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
    // Posted ahead of their start (one posted to start at once was announced
    // by its posting).
    let starting: Vec<(String, String)> = announcements::table
        .filter(announcements::removed_at.is_null())
        .filter(announcements::starts_at.le(now))
        .filter(announcements::starts_at.gt(now - chrono::Duration::days(1)))
        .filter(announcements::starts_at.gt(announcements::created_at.nullable()))
        .select((announcements::id, announcements::centre_id))
        .load(conn.conn())?;
    for (id, centre) in starting {
        if claim(conn, &format!("started:{id}"))? {
            outbox::publish(
                conn,
                format!("centre:{centre}"),
                "board.changed",
                &json!({"reason": "announcement_started", "announcement_id": id}),
            );
            announced += 1;
        }
    }
    announced += event_moments(conn, now)?;
    Ok(announced)
}

/// Activities on a board (published, of a verified organization, at a centre)
/// that started or ended since the last look. The claim names the moment, so
/// an activity moved to a later time is announced again at its new one.
fn event_moments(conn: &mut Tx<'_>, now: NaiveDateTime) -> Result<usize, ApiError> {
    let day_ago = now - chrono::Duration::days(1);
    let on_boards = || {
        events::table
            .inner_join(organizations::table)
            .filter(events::status.eq(crate::events::PUBLISHED))
            .filter(organizations::status.eq(crate::organizations::VERIFIED))
            .filter(events::centre_id.is_not_null())
    };
    let started: Vec<(String, Option<String>, NaiveDateTime)> = on_boards()
        .filter(events::starts_at.le(now))
        .filter(events::starts_at.gt(day_ago))
        .select((events::id, events::centre_id, events::starts_at))
        .load(conn.conn())?;
    let ended: Vec<(String, Option<String>, NaiveDateTime)> = on_boards()
        .filter(events::ends_at.le(now))
        .filter(events::ends_at.gt(day_ago))
        .select((events::id, events::centre_id, events::ends_at))
        .load(conn.conn())?;
    let mut announced = 0;
    let moments = started
        .into_iter()
        .map(|m| ("event_started", m))
        .chain(ended.into_iter().map(|m| ("event_ended", m)));
    for (reason, (id, centre, at)) in moments {
        let Some(centre) = centre else { continue };
        let key = format!("{reason}:{id}:{}", at.and_utc().timestamp());
        if claim(conn, &key)? {
            outbox::publish(
                conn,
                format!("centre:{centre}"),
                "board.changed",
                &json!({"reason": reason, "event_id": id}),
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
                    .or(app_secrets::name.like("ended:%"))
                    .or(app_secrets::name.like("started:%"))
                    .or(app_secrets::name.like("event_started:%"))
                    .or(app_secrets::name.like("event_ended:%")),
            )
            .filter(app_secrets::created_at.lt(week_ago)),
    )
    .execute(conn)?)
}
