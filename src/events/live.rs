//! An event's live messages and its `event:{id}` topic: `event.counts` after
//! every change to its seats or state, `board.changed` on its centre's topic
//! when it happens there today, and the policy for who may follow it (the same
//! rule as `GET /events/{id}`).

use chrono::TimeZone;
use serde_json::{Value, json};

use super::access::{self, Need};
use super::{Event, EventView, queries};
use crate::centres::queries as centres;
use crate::db::{self, DbConn, Tx};
use crate::error::{ApiError, Code};
use crate::live::outbox::publish;
use crate::live::topics::{TopicPolicy, Viewer};

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
/// `event` must be current in every figure: read, with its check-in count, by
/// a statement that began after the transaction took the event's row (so no
/// check-in is under way). Not the row a locking statement returned after
/// waiting: that one's subqueries (the count) are as they were before it
/// waited (PostgreSQL's read committed). Seats (`queries::claim_seats_returning`, the
/// read a sign-up makes after `queries::claim`, `queries::join_waitlist`) and
/// [`changed_by_id`] read it so.
pub fn changed(tx: &mut Tx<'_>, event: &Event) -> Result<(), ApiError> {
    let event_id = event.id.as_str();
    publish(
        tx,
        format!("event:{event_id}"),
        "event.counts",
        &counts(event),
    );
    if let Some(centre_id) = &event.centre_id
        && may_be_today(event.starts_at, db::now())
        && board_day(tx, centre_id, event.starts_at)?.1
    {
        publish(
            tx,
            format!("centre:{centre_id}"),
            "board.changed",
            &json!({"event_id": event_id}),
        );
    }
    Ok(())
}

/// Whether `at` can fall on the same local date as `now` in some time zone.
/// A local date lasts 24 hours, or up to 26 on the day a zone's clocks go
/// back (Antarctica/Troll moves them two hours), so two instants on one date
/// are less than two days apart. Most sign-ups are for later days, and skip
/// reading the centre's time zone.
fn may_be_today(at: chrono::NaiveDateTime, now: chrono::NaiveDateTime) -> bool {
    (at - now).abs() < chrono::Duration::days(2)
}

/// The local day of `at` at the centre, and whether it is today there.
fn board_day(
    tx: &mut Tx<'_>,
    centre_id: &str,
    at: chrono::NaiveDateTime,
) -> Result<(chrono::NaiveDate, bool), ApiError> {
    let tz = centres::find(tx, centre_id)?.map_or(chrono_tz::Asia::Shanghai, |c| c.tz());
    let today = tz.from_utc_datetime(&db::now()).date_naive();
    let day = tz.from_utc_datetime(&at).date_naive();
    Ok((day, day == today))
}

/// After an event moved (`before` is how it was): the board it was on today,
/// at another centre or on another day now, loses it (`board.changed` with
/// `reason: moved`). Where it is now, [`changed`] tells.
pub fn moved(tx: &mut Tx<'_>, before: &Event, after: &Event) -> Result<(), ApiError> {
    let Some(centre_id) = &before.centre_id else {
        return Ok(());
    };
    let (day, today) = board_day(tx, centre_id, before.starts_at)?;
    if !today {
        return Ok(());
    }
    let still_there = after.centre_id.as_ref() == Some(centre_id)
        && board_day(tx, centre_id, after.starts_at)?.0 == day;
    if !still_there {
        publish(
            tx,
            format!("centre:{centre_id}"),
            "board.changed",
            &json!({"event_id": before.id, "reason": "moved"}),
        );
    }
    Ok(())
}

/// An event message to its own topic and its organization's, plus fresh counts.
pub fn announce(tx: &mut Tx<'_>, view: &EventView, kind: &str) -> Result<(), ApiError> {
    let data = serde_json::to_value(view).map_err(|e| ApiError::internal(e.to_string()))?;
    publish(tx, format!("event:{}", view.id), kind, &data);
    publish(tx, format!("org:{}", view.organization_id), kind, &data);
    changed_by_id(tx, &view.id)
}

/// [`changed`] for an event read afresh.
pub fn changed_by_id(tx: &mut Tx<'_>, event_id: &str) -> Result<(), ApiError> {
    match queries::find(tx, event_id)? {
        Some(event) => changed(tx, &event),
        None => Ok(()),
    }
}

/// `event:{id}`: whoever may see the event; the snapshot is its counts.
pub struct EventTopic;

impl TopicPolicy for EventTopic {
    fn snapshot(&self, conn: &mut DbConn, viewer: &Viewer, id: &str) -> Result<Value, ApiError> {
        let access = access::load(conn, id, viewer.user.as_ref(), Need::See, false).map_err(
            |e| match e {
                ApiError::Problem(Code::Forbidden) => Code::NotFound.into(),
                other => other,
            },
        )?;
        Ok(counts(&access.event))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone};

    use super::may_be_today;

    fn utc(local: NaiveDateTime, tz: chrono_tz::Tz) -> NaiveDateTime {
        tz.from_local_datetime(&local).unwrap().naive_utc()
    }

    #[test]
    fn two_instants_on_one_local_date_are_never_told_apart_by_the_bound() {
        // The longest local dates: clocks going back an hour (London) and
        // two hours (Troll). Just after midnight and just before the next one.
        for (tz, day) in [
            (
                chrono_tz::Europe::London,
                NaiveDate::from_ymd_opt(2026, 10, 25),
            ),
            (
                chrono_tz::Antarctica::Troll,
                NaiveDate::from_ymd_opt(2026, 10, 25),
            ),
            (
                chrono_tz::Asia::Shanghai,
                NaiveDate::from_ymd_opt(2026, 12, 7),
            ),
        ] {
            let day = day.unwrap();
            let early = utc(day.and_hms_opt(0, 0, 1).unwrap(), tz);
            let late = utc(day.and_hms_opt(23, 59, 59).unwrap(), tz);
            assert!(may_be_today(early, late), "{tz}");
            assert!(may_be_today(late, early), "{tz}");
        }
        let now = NaiveDate::from_ymd_opt(2026, 12, 7)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        assert!(!may_be_today(now + chrono::Duration::hours(49), now));
        assert!(!may_be_today(now - chrono::Duration::hours(49), now));
    }
}
