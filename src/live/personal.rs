//! Live messages as personal data: what is still kept of a person's `me`
//! topic (their registrations and notifications as they changed). Erasing
//! deletes it.

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::schema::live_messages;
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
    /// (the cancellations of their sign-ups), which would be stored at commit.
    fn erase(&self, tx: &mut Tx<'_>, user_id: &str) -> Result<(), ApiError> {
        let topic = format!("user:{user_id}");
        tx.forget_topic(&topic);
        diesel::delete(live_messages::table.filter(live_messages::topic.eq(topic)))
            .execute(tx.conn())?;
        Ok(())
    }
}
