//! Recording messages: `publish` runs inside the transaction of the change,
//! numbers the message within its topic and stores it, so a message exists if
//! and only if its change committed. The topics written are remembered for the
//! current thread and handed to the hub by `Db::write` after the commit.

use std::cell::RefCell;

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::schema::{centres, live_messages, live_topics};
use crate::db::{self, DbConn};
use crate::error::ApiError;
use crate::events::Event;

/// Messages older than this and outside the last `KEEP_COUNT` of their topic
/// are pruned.
pub const KEEP_AGE: chrono::Duration = chrono::Duration::hours(24);
pub const KEEP_COUNT: i64 = 1_000;
pub const CHANNEL: &str = "mulin_live";

thread_local! {
    static PENDING: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Topics published on this thread since the last call (called around each
/// write transaction by `Db::write`).
pub fn take_pending() -> Vec<String> {
    PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()))
}

/// Records one message on `topic` and returns its sequence number.
pub fn publish(conn: &mut DbConn, topic: &str, kind: &str, data: &Value) -> Result<i64, ApiError> {
    // One statement numbers the message; it holds the topic's row until commit,
    // so numbers follow commit order and never skip.
    let seq: i64 = db_run!(conn, |c| diesel::insert_into(live_topics::table)
        .values((live_topics::topic.eq(topic), live_topics::last_seq.eq(1i64)))
        .on_conflict(live_topics::topic)
        .do_update()
        .set(live_topics::last_seq.eq(live_topics::last_seq + 1))
        .returning(live_topics::last_seq)
        .get_result(c))?;
    diesel::insert_into(live_messages::table)
        .values((
            live_messages::topic.eq(topic),
            live_messages::seq.eq(seq),
            live_messages::kind.eq(kind),
            live_messages::data.eq(data.to_string()),
            live_messages::created_at.eq(db::now()),
        ))
        .execute(conn)?;
    PENDING.with(|p| p.borrow_mut().push(topic.to_owned()));
    Ok(seq)
}

/// PostgreSQL: one `NOTIFY` for every topic this transaction published, sent
/// as its last statement (delivered to other instances when it commits).
pub fn notify_pending(conn: &mut DbConn) -> Result<(), ApiError> {
    let DbConn::Pg(c) = conn else { return Ok(()) };
    let topics = PENDING.with(|p| {
        let mut topics = p.borrow().clone();
        topics.sort_unstable();
        topics.dedup();
        topics
    });
    // NOTIFY payloads must stay under 8,000 bytes.
    let mut payload = String::new();
    for topic in topics {
        if payload.len() + topic.len() + 1 > 7_000 {
            send_notify(c, &payload)?;
            payload.clear();
        }
        if !payload.is_empty() {
            payload.push(',');
        }
        payload.push_str(&topic);
    }
    if !payload.is_empty() {
        send_notify(c, &payload)?;
    }
    Ok(())
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

/// The live counts of an event, as `event.counts` and snapshots carry them.
pub fn counts(event: &Event) -> Value {
    json!({
        "capacity": event.capacity,
        "confirmed": event.confirmed_seats,
        "waitlisted": event.waitlist_seats,
        "checked_in": event.checked_in_count,
        "seats_left": event.seats_left(),
    })
}

/// After any change to an event's seats or state: `event.counts` on its topic,
/// and `board.changed` on its centre's topic when it happens today there.
pub fn event_changed(conn: &mut DbConn, event_id: &str) -> Result<(), ApiError> {
    let Some(event) = crate::events::queries::find(conn, event_id)? else {
        return Ok(());
    };
    publish(
        conn,
        &format!("event:{event_id}"),
        "event.counts",
        &counts(&event),
    )?;
    if let Some(centre_id) = &event.centre_id {
        let tz: Option<String> = centres::table
            .find(centre_id)
            .select(centres::timezone)
            .first(conn)
            .optional()?;
        let tz: chrono_tz::Tz = tz
            .and_then(|t| t.parse().ok())
            .unwrap_or(chrono_tz::Asia::Shanghai);
        use chrono::TimeZone;
        let today = tz.from_utc_datetime(&db::now()).date_naive();
        let day = tz.from_utc_datetime(&event.starts_at).date_naive();
        if day == today {
            publish(
                conn,
                &format!("centre:{centre_id}"),
                "board.changed",
                &json!({"event_id": event_id}),
            )?;
        }
    }
    Ok(())
}

/// Publishes `kind` to the organization and, when there is one, to the user.
pub fn to_org_and_user(
    conn: &mut DbConn,
    org_id: &str,
    user_id: Option<&str>,
    kind: &str,
    data: &Value,
) -> Result<(), ApiError> {
    publish(conn, &format!("org:{org_id}"), kind, data)?;
    if let Some(user) = user_id {
        publish(conn, &format!("user:{user}"), kind, data)?;
    }
    Ok(())
}

/// Deletes messages past both the age and the count kept; run periodically.
pub fn prune(conn: &mut DbConn) -> Result<usize, ApiError> {
    let cutoff = db::now() - KEEP_AGE;
    let old: Vec<(String, i64)> = live_messages::table
        .inner_join(live_topics::table)
        .filter(live_messages::created_at.lt(cutoff))
        .filter(live_messages::seq.le(live_topics::last_seq - KEEP_COUNT))
        .select((live_messages::topic, live_messages::seq))
        .limit(10_000)
        .load(conn)?;
    let mut deleted = 0;
    for (topic, seq) in old {
        deleted += diesel::delete(live_messages::table.find((topic, seq))).execute(conn)?;
    }
    Ok(deleted)
}
