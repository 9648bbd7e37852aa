//! The `offerings` and `recommendations` tables.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Offering, Recommended};
use crate::db::schema::{buyers, offerings, organizations, recommendations};
use crate::db::{self, DbConn};
use crate::error::ApiError;
use crate::organizations::VERIFIED;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

pub fn insert(conn: &mut DbConn, o: &Offering) -> Result<(), ApiError> {
    diesel::insert_into(offerings::table)
        .values(o)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Offering>, ApiError> {
    Ok(offerings::table
        .find(id)
        .filter(offerings::removed_at.is_null())
        .select(Offering::as_select())
        .first(conn)
        .optional()?)
}

pub fn remove(conn: &mut DbConn, id: &str) -> Result<(), ApiError> {
    diesel::update(offerings::table.find(id))
        .set(offerings::removed_at.eq(db::now()))
        .execute(conn)?;
    Ok(())
}

/// The organization's offerings, oldest first.
pub fn of_org(conn: &mut DbConn, org_id: &str) -> Result<Vec<Offering>, ApiError> {
    Ok(offerings::table
        .filter(offerings::organization_id.eq(org_id))
        .filter(offerings::removed_at.is_null())
        .order((offerings::created_at.asc(), offerings::id.asc()))
        .limit(500)
        .select(Offering::as_select())
        .load(conn)?)
}

/// What the catalogue is searched by.
#[derive(Debug, Default)]
pub struct Search {
    pub category: Option<String>,
    pub street: Option<String>,
    pub q: Option<String>,
}

/// The offerings of verified organizations matching `s`, with the
/// organization's name, oldest first (the catalogue is small: a district has
/// hundreds of organizations, so at most 2,000 rows are read).
pub fn search(conn: &mut DbConn, s: &Search) -> Result<Vec<(Offering, String)>, ApiError> {
    let mut q = offerings::table
        .inner_join(organizations::table)
        .filter(offerings::removed_at.is_null())
        .filter(organizations::status.eq(VERIFIED))
        .select((Offering::as_select(), organizations::name))
        .order((offerings::created_at.asc(), offerings::id.asc()))
        .limit(2000)
        .into_boxed();
    if let Some(category) = &s.category {
        q = q.filter(offerings::category.eq(category.clone()));
    }
    if let Some(street) = &s.street {
        let quoted = serde_json::to_string(street).unwrap_or_default();
        q = q.filter(
            offerings::streets
                .like(format!("%{}%", escape_like(&quoted)))
                .escape('\\'),
        );
    }
    if let Some(text) = &s.q {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        q = q.filter(
            lower(offerings::title)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(offerings::description)
                    .like(pattern.clone())
                    .escape('\\'))
                .or(lower(organizations::name).like(pattern).escape('\\')),
        );
    }
    Ok(q.load(conn)?)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub fn recommend(
    conn: &mut DbConn,
    buyer_id: &str,
    org_id: &str,
    year: i32,
    note: &str,
    by: &str,
) -> Result<(String, NaiveDateTime), ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = db::now();
    diesel::insert_into(recommendations::table)
        .values((
            recommendations::id.eq(&id),
            recommendations::buyer_id.eq(buyer_id),
            recommendations::organization_id.eq(org_id),
            recommendations::year.eq(year),
            recommendations::note.eq(note),
            recommendations::created_by.eq(by),
            recommendations::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok((id, now))
}

/// The latest recommendation of each recommended organization (one query).
pub fn latest_recommendations(conn: &mut DbConn) -> Result<HashMap<String, Recommended>, ApiError> {
    let rows: Vec<(String, String, String, i32, String)> = recommendations::table
        .inner_join(buyers::table)
        .order((
            recommendations::year.asc(),
            recommendations::created_at.asc(),
        ))
        .select((
            recommendations::organization_id,
            buyers::id,
            buyers::name,
            recommendations::year,
            recommendations::note,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(org, buyer_id, buyer_name, year, note)| {
            (
                org,
                Recommended {
                    buyer_id,
                    buyer_name,
                    year,
                    note,
                },
            )
        })
        .collect())
}
