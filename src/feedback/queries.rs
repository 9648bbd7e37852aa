//! The `feedback` table. One answer per registration, backed by a unique
//! index (`already_given` even when two phones send at once).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Feedback;
use crate::db::schema::feedback;
use crate::db::{self, DbConn};
use crate::error::{ApiError, Code};
use crate::http::pagination::Page;

pub fn insert(conn: &mut DbConn, f: &Feedback) -> Result<(), ApiError> {
    diesel::insert_into(feedback::table)
        .values(f)
        .execute(conn)
        .map_err(|e| {
            if db::is_unique_violation(&e) {
                Code::AlreadyGiven.into()
            } else {
                ApiError::from(e)
            }
        })?;
    Ok(())
}

pub fn of_registration(
    conn: &mut DbConn,
    registration_id: &str,
) -> Result<Option<Feedback>, ApiError> {
    Ok(feedback::table
        .filter(feedback::registration_id.eq(registration_id))
        .select(Feedback::as_select())
        .first(conn)
        .optional()?)
}

/// Every score given on these events (one query).
pub fn scores_of(conn: &mut DbConn, event_ids: &[String]) -> Result<Vec<i32>, ApiError> {
    if event_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(feedback::table
        .filter(feedback::event_id.eq_any(event_ids))
        .select(feedback::score)
        .load(conn)?)
}

/// A page of one event's answers that carry a comment, oldest first.
pub fn comments(
    conn: &mut DbConn,
    event_id: &str,
    page: &Page,
) -> Result<Vec<(i32, String, NaiveDateTime, String)>, ApiError> {
    let mut q = feedback::table
        .filter(feedback::event_id.eq(event_id.to_owned()))
        .filter(feedback::comment.is_not_null())
        .select((
            feedback::score,
            feedback::comment.assume_not_null(),
            feedback::created_at,
            feedback::id,
        ))
        .order((feedback::created_at.asc(), feedback::id.asc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some((at, id)) = &page.after {
        q = q.filter(
            feedback::created_at.gt(*at).or(feedback::created_at
                .eq(*at)
                .and(feedback::id.gt(id.clone()))),
        );
    }
    Ok(q.load(conn)?)
}

/// How many answers each of these events has (one query).
pub fn counts_by_event(
    conn: &mut DbConn,
    event_ids: &[String],
) -> Result<Vec<(String, i64)>, ApiError> {
    if event_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(feedback::table
        .filter(feedback::event_id.eq_any(event_ids))
        .group_by(feedback::event_id)
        .select((feedback::event_id, diesel::dsl::count_star()))
        .load(conn)?)
}
