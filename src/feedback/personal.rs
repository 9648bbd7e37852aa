//! Feedback as personal data: the scores and comments a person gave. Erasing
//! removes the comments (free text may name people); the scores stay, so an
//! activity's mean and distribution do not change.

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::schema::{feedback, registrations};
use crate::db::{DbConn, Tx};
use crate::error::ApiError;
use crate::privacy::Personal;

pub struct FeedbackData;

/// The ids of the person's registrations, which their feedback hangs on.
fn registrations_of(conn: &mut DbConn, user_id: &str) -> Result<Vec<String>, ApiError> {
    Ok(registrations::table
        .filter(registrations::user_id.eq(user_id))
        .select(registrations::id)
        .load(conn)?)
}

impl Personal for FeedbackData {
    fn section(&self) -> &'static str {
        "feedback"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["feedback"]
    }

    fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError> {
        let ids = registrations_of(conn, user_id)?;
        let rows: Vec<(String, String, i32, Option<String>, chrono::NaiveDateTime)> =
            feedback::table
                .filter(feedback::registration_id.eq_any(&ids))
                .order(feedback::created_at)
                .select((
                    feedback::id,
                    feedback::event_id,
                    feedback::score,
                    feedback::comment,
                    feedback::created_at,
                ))
                .load(conn)?;
        Ok(Value::Array(
            rows.into_iter()
                .map(|(id, event, score, comment, at)| {
                    json!({"id": id, "event_id": event, "score": score, "comment": comment, "created_at": at.and_utc()})
                })
                .collect(),
        ))
    }

    /// At a sensitive activity the comments go with the roster (free text
    /// about health, family or legal matters); the scores stay.
    fn erase_event(
        &self,
        tx: &mut Tx<'_>,
        event_id: &str,
        sensitive: bool,
    ) -> Result<(), ApiError> {
        if sensitive {
            diesel::update(feedback::table.filter(feedback::event_id.eq(event_id)))
                .set(feedback::comment.eq(None::<String>))
                .execute(tx.conn())?;
        }
        Ok(())
    }

    fn erase(&self, tx: &mut Tx<'_>, user_id: &str) -> Result<(), ApiError> {
        let ids = registrations_of(tx, user_id)?;
        diesel::update(feedback::table.filter(feedback::registration_id.eq_any(&ids)))
            .set(feedback::comment.eq(None::<String>))
            .execute(tx.conn())?;
        Ok(())
    }
}
