//! The `centres` table.

use diesel::prelude::*;

use super::Centre;
use crate::db::DbConn;
use crate::db::schema::centres;
use crate::error::ApiError;
use crate::http::pagination::Page;

pub fn insert(conn: &mut DbConn, centre: &Centre) -> Result<(), ApiError> {
    diesel::insert_into(centres::table)
        .values(centre)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Centre>, ApiError> {
    Ok(centres::table
        .find(id)
        .select(Centre::as_select())
        .first(conn)
        .optional()?)
}

/// A page of centres, oldest first.
pub fn list(conn: &mut DbConn, page: &Page) -> Result<Vec<Centre>, ApiError> {
    let mut query = centres::table
        .select(Centre::as_select())
        .order((centres::created_at.asc(), centres::id.asc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some((at, id)) = &page.after {
        query = query.filter(
            centres::created_at
                .gt(*at)
                .or(centres::created_at.eq(*at).and(centres::id.gt(id.clone()))),
        );
    }
    Ok(query.load(conn)?)
}
