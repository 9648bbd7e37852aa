//! Live messages as personal data: what is still kept of a person's `me`
//! topic (their registrations and notifications as they changed). Erasing
//! deletes it.

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::accounts::personal::ERASED_NAME;
use crate::db::schema::{live_messages, registrations};
use crate::db::{DbConn, Tx};
use crate::error::ApiError;
use crate::privacy::Personal;

pub struct LiveMessageData;

impl Personal for LiveMessageData {
    fn section(&self) -> &'static str {
        "live_messages"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["live_messages"]
    }

    fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError> {
        let rows: Vec<(String, String, chrono::NaiveDateTime)> = live_messages::table
            .filter(live_messages::topic.eq(format!("user:{user_id}")))
            .order(live_messages::id)
            .select((
                live_messages::kind,
                live_messages::data,
                live_messages::created_at,
            ))
            .load(conn)?;
        Ok(Value::Array(
            rows.into_iter()
                .map(|(kind, data, at)| {
                    json!({"type": kind, "data": serde_json::from_str::<Value>(&data).unwrap_or(Value::Null), "at": at.and_utc()})
                })
                .collect(),
        ))
    }

    /// Deletes what is kept, and what the erasure itself recorded for them
    /// (the cancellations of their sign-ups), which would be stored at commit;
    /// and blanks the attendee their check-ins named on organizations' topics.
    fn erase(&self, tx: &mut Tx<'_>, user_id: &str) -> Result<(), ApiError> {
        let topic = format!("user:{user_id}");
        tx.forget_topic(&topic);
        diesel::delete(live_messages::table.filter(live_messages::topic.eq(topic)))
            .execute(tx.conn())?;
        let theirs: Vec<String> = registrations::table
            .filter(registrations::user_id.eq(user_id))
            .select(registrations::id)
            .load(tx.conn())?;
        for registration_id in theirs {
            unname_attendee(tx, &registration_id)?;
        }
        Ok(())
    }
}

/// The `org:` check-in messages that name the attendee of `registration_id`
/// keep their figures and lose the name and phone digits (history replayed to
/// a resuming phone shows 已注销).
fn unname_attendee(tx: &mut Tx<'_>, registration_id: &str) -> Result<(), ApiError> {
    let pattern = format!("%\"registration_id\":\"{registration_id}\"%");
    let rows: Vec<(i64, String)> = live_messages::table
        .filter(live_messages::topic.like("org:%"))
        .filter(live_messages::data.like(pattern))
        .select((live_messages::id, live_messages::data))
        .load(tx.conn())?;
    for (id, data) in rows {
        let Ok(mut value) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        if value.get("registration_id").and_then(Value::as_str) != Some(registration_id)
            || value.get("attendee").is_none()
        {
            continue;
        }
        value["attendee"] = json!({"display_name": ERASED_NAME, "phone_last4": null});
        diesel::update(live_messages::table.find(id))
            .set(live_messages::data.eq(value.to_string()))
            .execute(tx.conn())?;
    }
    Ok(())
}
