//! Notifications as personal data: the inbox and the settings. Erasing deletes
//! both, and withdraws pushes still waiting for the gateway; a notification
//! job that falls due for an erased account does nothing.

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::schema::{notification_settings, notifications};
use crate::db::{DbConn, Tx};
use crate::error::ApiError;
use crate::privacy::Personal;

pub struct NotificationData;

type Row = (
    String,
    String,
    String,
    String,
    String,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
);

impl Personal for NotificationData {
    fn section(&self) -> &'static str {
        "notifications"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["notifications", "notification_settings"]
    }

    fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError> {
        let rows: Vec<Row> = notifications::table
            .filter(notifications::user_id.eq(user_id))
            .order((notifications::created_at, notifications::id))
            .select((
                notifications::id,
                notifications::kind,
                notifications::title,
                notifications::body,
                notifications::data,
                notifications::created_at,
                notifications::read_at,
            ))
            .load(conn)?;
        let settings: Vec<(String, bool)> = notification_settings::table
            .filter(notification_settings::user_id.eq(user_id))
            .select((notification_settings::kind, notification_settings::enabled))
            .load(conn)?;
        Ok(json!({
            "items": rows.into_iter().map(|(id, kind, title, body, data, at, read)| json!({
                "id": id, "kind": kind, "title": title, "body": body,
                "data": serde_json::from_str::<Value>(&data).unwrap_or(Value::Null),
                "created_at": at.and_utc(), "read_at": read.map(|t| t.and_utc()),
            })).collect::<Vec<_>>(),
            "settings": settings.into_iter().map(|(k, on)| (k, Value::Bool(on))).collect::<serde_json::Map<_, _>>(),
        }))
    }

    fn erase(&self, tx: &mut Tx<'_>, user_id: &str) -> Result<(), ApiError> {
        diesel::delete(notifications::table.filter(notifications::user_id.eq(user_id)))
            .execute(tx.conn())?;
        diesel::delete(
            notification_settings::table.filter(notification_settings::user_id.eq(user_id)),
        )
        .execute(tx.conn())?;
        // Pushes waiting or retrying carry the title and body: they go too.
        crate::jobs::withdraw_about(tx, super::deliver::PUSH_JOB, &format!("user:{user_id}"))?;
        Ok(())
    }
}
