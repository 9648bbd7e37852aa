//! The projects' tables: buyers and their staff, projects with their centres
//! and indicators, bids and scores, evaluators, evaluations, typed actual
//! values and expenses. Every change to a project holds its row (`lock`)
//! until the transaction ends, so racing transitions, bids and awards are
//! decided one at a time; unique indexes back the one-per rules
//! (`already_bid`, `already_scored`, `already_evaluated`).

mod bids;
mod buyers;
mod delivery;

pub use bids::*;
pub use buyers::*;
pub use delivery::*;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Bid, Indicator, OPEN, Project, REVIEWING};
use crate::db::schema::{
    indicator_actuals, indicators, project_centres, project_evaluators, projects, users,
};
use crate::db::{self, DbConn};
use crate::error::{ApiError, Code};
use crate::http::pagination::Page;

/// A unique-index violation as `code` (the transaction ends with it).
pub(super) fn unique_as(e: diesel::result::Error, code: Code) -> ApiError {
    if db::is_unique_violation(&e) {
        code.into()
    } else {
        e.into()
    }
}

pub fn insert_project(conn: &mut DbConn, p: &Project) -> Result<(), ApiError> {
    diesel::insert_into(projects::table)
        .values(p)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Project>, ApiError> {
    Ok(projects::table
        .find(id)
        .select(Project::as_select())
        .first(conn)
        .optional()?)
}

/// Loads the project and holds its row until the transaction ends (SQLite's
/// `BEGIN IMMEDIATE` already serializes writers; PostgreSQL takes the row lock).
pub fn lock(conn: &mut DbConn, id: &str) -> Result<Project, ApiError> {
    let project = match conn {
        DbConn::Pg(c) => projects::table
            .find(id)
            .select(Project::as_select())
            .for_update()
            .first(c)
            .optional()?,
        DbConn::Sqlite(_) => find(conn, id)?,
    };
    project.ok_or(ApiError::from(Code::NotFound))
}

pub fn set_status(conn: &mut DbConn, id: &str, status: &str) -> Result<(), ApiError> {
    diesel::update(projects::table.find(id))
        .set((
            projects::status.eq(status),
            projects::updated_at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Open projects whose bids have closed by `now` (the lazy transition to
/// `reviewing`, stored by whoever sees it first).
pub fn closed_for_bids(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<String>, ApiError> {
    Ok(projects::table
        .filter(projects::status.eq(OPEN))
        .filter(projects::bids_close_at.le(now))
        .select(projects::id)
        .load(conn)?)
}

/// Stores `reviewing` for an open project whose bids closed; true if it did.
pub fn settle(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> Result<bool, ApiError> {
    let changed = diesel::update(
        projects::table
            .find(id)
            .filter(projects::status.eq(OPEN))
            .filter(projects::bids_close_at.le(now)),
    )
    .set((projects::status.eq(REVIEWING), projects::updated_at.eq(now)))
    .execute(conn)?;
    Ok(changed > 0)
}

pub fn update_fields(
    conn: &mut DbConn,
    id: &str,
    f: &super::input::ProjectFields,
) -> Result<(), ApiError> {
    diesel::update(projects::table.find(id))
        .set((
            projects::title.eq(&f.title),
            projects::category.eq(&f.category),
            projects::description.eq(&f.description),
            projects::budget_fen.eq(f.budget_fen),
            projects::starts_on.eq(f.starts_on),
            projects::ends_on.eq(f.ends_on),
            projects::bids_close_at.eq(f.bids_close_at),
            projects::updated_at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn cancel(conn: &mut DbConn, id: &str, reason: &str) -> Result<(), ApiError> {
    diesel::update(projects::table.find(id))
        .set((
            projects::status.eq(super::CANCELLED),
            projects::cancel_reason.eq(reason),
            projects::updated_at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn award(conn: &mut DbConn, id: &str, bid: &Bid) -> Result<(), ApiError> {
    diesel::update(projects::table.find(id))
        .set((
            projects::status.eq(super::CONTRACTED),
            projects::awarded_bid_id.eq(&bid.id),
            projects::organization_id.eq(&bid.organization_id),
            projects::updated_at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Closes the project with its report frozen as `report` (JSON).
pub fn freeze(
    conn: &mut DbConn,
    id: &str,
    report: &str,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(projects::table.find(id))
        .set((
            projects::status.eq(super::CLOSED),
            projects::frozen_report.eq(report),
            projects::frozen_at.eq(at),
            projects::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_report_mark(conn: &mut DbConn, id: &str, mark: &str) -> Result<bool, ApiError> {
    let changed = diesel::update(
        projects::table.find(id).filter(
            projects::report_mark
                .ne(mark)
                .or(projects::report_mark.is_null()),
        ),
    )
    .set(projects::report_mark.eq(mark))
    .execute(conn)?;
    Ok(changed > 0)
}

/// Contracts being delivered: `(id, report_mark, updated_at)`.
pub fn delivering(
    conn: &mut DbConn,
) -> Result<Vec<(String, Option<String>, NaiveDateTime)>, ApiError> {
    Ok(projects::table
        .filter(projects::status.eq_any(super::DELIVERING))
        .select((projects::id, projects::report_mark, projects::updated_at))
        .load(conn)?)
}

/// Marks the project changed (its figures' inputs moved: an expense, a typed
/// value, a note, an evaluation).
pub fn touch(conn: &mut DbConn, id: &str) -> Result<(), ApiError> {
    diesel::update(projects::table.find(id))
        .set(projects::updated_at.eq(db::now()))
        .execute(conn)?;
    Ok(())
}

/// A page of a buyer's projects (all states for its staff, else past draft).
pub fn of_buyer(
    conn: &mut DbConn,
    buyer_id: &str,
    drafts: bool,
    page: &Page,
) -> Result<Vec<Project>, ApiError> {
    let mut q = projects::table
        .filter(projects::buyer_id.eq(buyer_id.to_owned()))
        .select(Project::as_select())
        .order((projects::created_at.asc(), projects::id.asc()))
        .limit(page.limit + 1)
        .into_boxed();
    if !drafts {
        q = q.filter(projects::status.ne(super::DRAFT));
    }
    if let Some((at, id)) = &page.after {
        q = q.filter(
            projects::created_at.gt(*at).or(projects::created_at
                .eq(*at)
                .and(projects::id.gt(id.clone()))),
        );
    }
    Ok(q.load(conn)?)
}

/// A page of the projects `user_id` evaluates.
pub fn evaluated_by(
    conn: &mut DbConn,
    user_id: &str,
    page: &Page,
) -> Result<Vec<Project>, ApiError> {
    let mine = project_evaluators::table
        .filter(project_evaluators::user_id.eq(user_id.to_owned()))
        .select(project_evaluators::project_id);
    let mut q = projects::table
        .filter(projects::id.eq_any(mine))
        .select(Project::as_select())
        .order((projects::created_at.asc(), projects::id.asc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some((at, id)) = &page.after {
        q = q.filter(
            projects::created_at.gt(*at).or(projects::created_at
                .eq(*at)
                .and(projects::id.gt(id.clone()))),
        );
    }
    Ok(q.load(conn)?)
}

pub fn set_centres(
    conn: &mut DbConn,
    project_id: &str,
    centres: &[String],
) -> Result<(), ApiError> {
    diesel::delete(project_centres::table.filter(project_centres::project_id.eq(project_id)))
        .execute(conn)?;
    for centre in centres {
        diesel::insert_into(project_centres::table)
            .values((
                project_centres::project_id.eq(project_id),
                project_centres::centre_id.eq(centre),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn centres_of(conn: &mut DbConn, project_id: &str) -> Result<Vec<String>, ApiError> {
    Ok(project_centres::table
        .filter(project_centres::project_id.eq(project_id))
        .order(project_centres::centre_id.asc())
        .select(project_centres::centre_id)
        .load(conn)?)
}

pub fn indicators_of(conn: &mut DbConn, project_id: &str) -> Result<Vec<Indicator>, ApiError> {
    Ok(indicators::table
        .filter(indicators::project_id.eq(project_id))
        .order(indicators::position.asc())
        .select(Indicator::as_select())
        .load(conn)?)
}

pub fn indicator(conn: &mut DbConn, id: &str) -> Result<Option<Indicator>, ApiError> {
    Ok(indicators::table
        .find(id)
        .select(Indicator::as_select())
        .first(conn)
        .optional()?)
}

/// Replaces a draft's indicator table.
pub fn replace_indicators(
    conn: &mut DbConn,
    project_id: &str,
    rows: &[super::input::IndicatorFields],
) -> Result<(), ApiError> {
    diesel::delete(indicators::table.filter(indicators::project_id.eq(project_id)))
        .execute(conn)?;
    for (i, r) in rows.iter().enumerate() {
        let row = Indicator {
            id: uuid::Uuid::new_v4().to_string(),
            project_id: project_id.to_owned(),
            position: i32::try_from(i).unwrap_or(i32::MAX),
            level1: r.level1.clone(),
            level2: r.level2.clone(),
            name: r.name.clone(),
            source: r.source.clone(),
            op: r.op.clone(),
            target: r.target,
            unit: r.unit.clone(),
            weight: r.weight,
            deviation_note: None,
            deviation_by: None,
            deviation_at: None,
        };
        diesel::insert_into(indicators::table)
            .values(&row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn set_deviation(
    conn: &mut DbConn,
    indicator_id: &str,
    note: &str,
    by: &str,
) -> Result<(), ApiError> {
    diesel::update(indicators::table.find(indicator_id))
        .set((
            indicators::deviation_note.eq(note),
            indicators::deviation_by.eq(by),
            indicators::deviation_at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A typed value of a `manual` indicator.
#[derive(Clone, Debug)]
pub struct Actual {
    pub indicator_id: String,
    pub value: f64,
    pub note: String,
    pub author: String,
    pub at: NaiveDateTime,
}

pub fn insert_actual(
    conn: &mut DbConn,
    indicator_id: &str,
    value: f64,
    note: &str,
    author_id: &str,
) -> Result<(), ApiError> {
    diesel::insert_into(indicator_actuals::table)
        .values((
            indicator_actuals::id.eq(uuid::Uuid::new_v4().to_string()),
            indicator_actuals::indicator_id.eq(indicator_id),
            indicator_actuals::value.eq(value),
            indicator_actuals::note.eq(note),
            indicator_actuals::author_id.eq(author_id),
            indicator_actuals::created_at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The last typed value of each manual indicator of a project, by indicator
/// (one query).
pub fn latest_actuals(
    conn: &mut DbConn,
    project_id: &str,
) -> Result<HashMap<String, Actual>, ApiError> {
    let of_project = indicators::table
        .filter(indicators::project_id.eq(project_id.to_owned()))
        .select(indicators::id);
    let rows: Vec<(String, f64, String, String, NaiveDateTime)> = indicator_actuals::table
        .inner_join(users::table)
        .filter(indicator_actuals::indicator_id.eq_any(of_project))
        .order((
            indicator_actuals::created_at.asc(),
            indicator_actuals::id.asc(),
        ))
        .select((
            indicator_actuals::indicator_id,
            indicator_actuals::value,
            indicator_actuals::note,
            users::display_name,
            indicator_actuals::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(indicator_id, value, note, author, at)| {
            (
                indicator_id.clone(),
                Actual {
                    indicator_id,
                    value,
                    note,
                    author,
                    at,
                },
            )
        })
        .collect())
}
