//! The projects' tables: buyers and their staff, projects with their centres
//! and indicators, bids and scores, evaluators, evaluations, typed actual
//! values and expenses. Every change to a project holds its row (`lock`)
//! until the transaction ends, so racing transitions, bids and awards are
//! decided one at a time; unique indexes back the one-per rules
//! (`already_bid`, `already_scored`, `already_evaluated`).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{
    Bid, BidScore, Buyer, Expense, Indicator, LIVE_BID, OPEN, Project, REVIEWING, WITHDRAWN_BID,
};
use crate::db::schema::{
    bid_scores, bids, buyer_members, buyers, evaluation_scores, evaluations, expenses,
    indicator_actuals, indicators, project_centres, project_evaluators, projects, users,
};
use crate::db::{self, DbConn};
use crate::error::{ApiError, Code};
use crate::http::pagination::Page;

/// A unique-index violation as `code` (the transaction ends with it).
fn unique_as(e: diesel::result::Error, code: Code) -> ApiError {
    if db::is_unique_violation(&e) {
        code.into()
    } else {
        e.into()
    }
}

// Buyers ------------------------------------------------------------------

pub fn insert_buyer(conn: &mut DbConn, b: &Buyer) -> Result<(), ApiError> {
    diesel::insert_into(buyers::table).values(b).execute(conn)?;
    Ok(())
}

pub fn buyer(conn: &mut DbConn, id: &str) -> Result<Option<Buyer>, ApiError> {
    Ok(buyers::table
        .find(id)
        .select(Buyer::as_select())
        .first(conn)
        .optional()?)
}

/// A page of buyers: every one for `None` (admins), else those `user_id` staffs.
pub fn buyers_page(
    conn: &mut DbConn,
    user_id: Option<&str>,
    page: &Page,
) -> Result<Vec<Buyer>, ApiError> {
    let mut q = buyers::table
        .select(Buyer::as_select())
        .order((buyers::created_at.asc(), buyers::id.asc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(user_id) = user_id {
        let mine = buyer_members::table
            .filter(buyer_members::user_id.eq(user_id.to_owned()))
            .select(buyer_members::buyer_id);
        q = q.filter(buyers::id.eq_any(mine));
    }
    if let Some((at, id)) = &page.after {
        q = q.filter(
            buyers::created_at
                .gt(*at)
                .or(buyers::created_at.eq(*at).and(buyers::id.gt(id.clone()))),
        );
    }
    Ok(q.load(conn)?)
}

pub fn is_buyer_member(conn: &mut DbConn, buyer_id: &str, user_id: &str) -> Result<bool, ApiError> {
    Ok(buyer_members::table
        .find((buyer_id, user_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

pub fn add_buyer_member(conn: &mut DbConn, buyer_id: &str, user_id: &str) -> Result<(), ApiError> {
    diesel::insert_into(buyer_members::table)
        .values((
            buyer_members::buyer_id.eq(buyer_id),
            buyer_members::user_id.eq(user_id),
            buyer_members::created_at.eq(db::now()),
        ))
        .execute(conn)
        .map_err(|e| unique_as(e, Code::AlreadyMember))?;
    Ok(())
}

pub fn remove_buyer_member(
    conn: &mut DbConn,
    buyer_id: &str,
    user_id: &str,
) -> Result<usize, ApiError> {
    Ok(diesel::delete(buyer_members::table.find((buyer_id, user_id))).execute(conn)?)
}

/// `(buyer id, buyer name)` of every buyer `user_id` staffs, for `/me`.
pub fn buyers_of(conn: &mut DbConn, user_id: &str) -> Result<Vec<(String, String)>, ApiError> {
    Ok(buyer_members::table
        .inner_join(buyers::table)
        .filter(buyer_members::user_id.eq(user_id))
        .order(buyer_members::created_at.asc())
        .select((buyers::id, buyers::name))
        .load(conn)?)
}

// Projects ----------------------------------------------------------------

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

// Bids --------------------------------------------------------------------

pub fn insert_bid(conn: &mut DbConn, bid: &Bid) -> Result<(), ApiError> {
    diesel::insert_into(bids::table)
        .values(bid)
        .execute(conn)
        .map_err(|e| unique_as(e, Code::AlreadyBid))?;
    Ok(())
}

pub fn bid(conn: &mut DbConn, id: &str) -> Result<Option<Bid>, ApiError> {
    Ok(bids::table
        .find(id)
        .select(Bid::as_select())
        .first(conn)
        .optional()?)
}

pub fn live_bid_of(
    conn: &mut DbConn,
    project_id: &str,
    org_id: &str,
) -> Result<Option<Bid>, ApiError> {
    Ok(bids::table
        .filter(bids::project_id.eq(project_id))
        .filter(bids::organization_id.eq(org_id))
        .filter(bids::status.eq(LIVE_BID))
        .select(Bid::as_select())
        .first(conn)
        .optional()?)
}

pub fn withdraw_bid(conn: &mut DbConn, id: &str) -> Result<(), ApiError> {
    diesel::update(bids::table.find(id))
        .set((
            bids::status.eq(WITHDRAWN_BID),
            bids::withdrawn_at.eq(db::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A page of a project's bids with their organization's name; only those of
/// `orgs` when given.
pub fn bids_of(
    conn: &mut DbConn,
    project_id: &str,
    orgs: Option<&[String]>,
    page: &Page,
) -> Result<Vec<(Bid, String)>, ApiError> {
    use crate::db::schema::organizations;
    let mut q = bids::table
        .inner_join(organizations::table)
        .filter(bids::project_id.eq(project_id.to_owned()))
        .select((Bid::as_select(), organizations::name))
        .order((bids::created_at.asc(), bids::id.asc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(orgs) = orgs {
        q = q.filter(bids::organization_id.eq_any(orgs.to_vec()));
    }
    if let Some((at, id)) = &page.after {
        q = q.filter(
            bids::created_at
                .gt(*at)
                .or(bids::created_at.eq(*at).and(bids::id.gt(id.clone()))),
        );
    }
    Ok(q.load(conn)?)
}

/// The organizations with a live bid on the project.
pub fn bidding_orgs(conn: &mut DbConn, project_id: &str) -> Result<Vec<String>, ApiError> {
    Ok(bids::table
        .filter(bids::project_id.eq(project_id))
        .filter(bids::status.eq(LIVE_BID))
        .select(bids::organization_id)
        .load(conn)?)
}

pub fn insert_score(conn: &mut DbConn, s: &BidScore) -> Result<(), ApiError> {
    diesel::insert_into(bid_scores::table)
        .values(s)
        .execute(conn)
        .map_err(|e| unique_as(e, Code::AlreadyScored))?;
    Ok(())
}

/// The scores of each of these bids.
pub fn scores_of(
    conn: &mut DbConn,
    bid_ids: &[String],
) -> Result<HashMap<String, Vec<BidScore>>, ApiError> {
    let rows: Vec<BidScore> = bid_scores::table
        .filter(bid_scores::bid_id.eq_any(bid_ids))
        .order((bid_scores::created_at.asc(), bid_scores::id.asc()))
        .select(BidScore::as_select())
        .load(conn)?;
    let mut by_bid: HashMap<String, Vec<BidScore>> = HashMap::new();
    for s in rows {
        by_bid.entry(s.bid_id.clone()).or_default().push(s);
    }
    Ok(by_bid)
}

// Evaluators and evaluations -------------------------------------------------

pub fn is_evaluator(conn: &mut DbConn, project_id: &str, user_id: &str) -> Result<bool, ApiError> {
    Ok(project_evaluators::table
        .find((project_id, user_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

pub fn add_evaluator(
    conn: &mut DbConn,
    project_id: &str,
    user_id: &str,
    by: &str,
) -> Result<(), ApiError> {
    diesel::insert_into(project_evaluators::table)
        .values((
            project_evaluators::project_id.eq(project_id),
            project_evaluators::user_id.eq(user_id),
            project_evaluators::added_by.eq(by),
            project_evaluators::created_at.eq(db::now()),
        ))
        .execute(conn)
        .map_err(|e| unique_as(e, Code::AlreadyMember))?;
    Ok(())
}

pub fn remove_evaluator(
    conn: &mut DbConn,
    project_id: &str,
    user_id: &str,
) -> Result<usize, ApiError> {
    Ok(diesel::delete(project_evaluators::table.find((project_id, user_id))).execute(conn)?)
}

/// One reviewer's evaluation of a project at a stage.
pub struct NewEvaluation<'a> {
    pub project_id: &'a str,
    pub stage: &'a str,
    pub reviewer_id: &'a str,
    pub opinion: &'a str,
    /// `(indicator id, score, note)`.
    pub scores: &'a [(String, f64, Option<String>)],
}

pub fn insert_evaluation(conn: &mut DbConn, e: &NewEvaluation) -> Result<String, ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(evaluations::table)
        .values((
            evaluations::id.eq(&id),
            evaluations::project_id.eq(e.project_id),
            evaluations::stage.eq(e.stage),
            evaluations::reviewer_id.eq(e.reviewer_id),
            evaluations::opinion.eq(e.opinion),
            evaluations::created_at.eq(db::now()),
        ))
        .execute(conn)
        .map_err(|err| unique_as(err, Code::AlreadyEvaluated))?;
    for (indicator_id, score, note) in e.scores {
        diesel::insert_into(evaluation_scores::table)
            .values((
                evaluation_scores::evaluation_id.eq(&id),
                evaluation_scores::indicator_id.eq(indicator_id),
                evaluation_scores::score.eq(score),
                evaluation_scores::note.eq(note),
            ))
            .execute(conn)?;
    }
    Ok(id)
}

pub fn count_evaluations(
    conn: &mut DbConn,
    project_id: &str,
    stage: &str,
) -> Result<i64, ApiError> {
    Ok(evaluations::table
        .filter(evaluations::project_id.eq(project_id))
        .filter(evaluations::stage.eq(stage))
        .count()
        .get_result(conn)?)
}

/// One reviewer's score of one indicator, as the report shows it.
#[derive(Clone, Debug)]
pub struct GivenScore {
    pub indicator_id: String,
    pub stage: String,
    pub reviewer: String,
    pub score: f64,
    pub note: Option<String>,
}

/// Every evaluation score given on a project, oldest first (one query).
pub fn given_scores(conn: &mut DbConn, project_id: &str) -> Result<Vec<GivenScore>, ApiError> {
    let rows: Vec<(String, String, String, f64, Option<String>)> = evaluation_scores::table
        .inner_join(evaluations::table.inner_join(users::table))
        .filter(evaluations::project_id.eq(project_id))
        .order((evaluations::created_at.asc(), evaluations::id.asc()))
        .select((
            evaluation_scores::indicator_id,
            evaluations::stage,
            users::display_name,
            evaluation_scores::score,
            evaluation_scores::note,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(indicator_id, stage, reviewer, score, note)| GivenScore {
            indicator_id,
            stage,
            reviewer,
            score,
            note,
        })
        .collect())
}

// Expenses ----------------------------------------------------------------

pub fn insert_expense(conn: &mut DbConn, e: &Expense) -> Result<(), ApiError> {
    diesel::insert_into(expenses::table)
        .values(e)
        .execute(conn)?;
    Ok(())
}

pub fn expenses_page(
    conn: &mut DbConn,
    project_id: &str,
    page: &Page,
) -> Result<Vec<Expense>, ApiError> {
    let mut q = expenses::table
        .filter(expenses::project_id.eq(project_id.to_owned()))
        .select(Expense::as_select())
        .order((expenses::created_at.asc(), expenses::id.asc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some((at, id)) = &page.after {
        q = q.filter(
            expenses::created_at.gt(*at).or(expenses::created_at
                .eq(*at)
                .and(expenses::id.gt(id.clone()))),
        );
    }
    Ok(q.load(conn)?)
}

/// Fen recorded as spent on a project.
pub fn spent(conn: &mut DbConn, project_id: &str) -> Result<i64, ApiError> {
    let amounts: Vec<i64> = expenses::table
        .filter(expenses::project_id.eq(project_id))
        .select(expenses::amount_fen)
        .load(conn)?;
    Ok(amounts.iter().sum())
}

/// The projects `user_id` evaluates, for `/me`.
pub fn evaluator_projects(conn: &mut DbConn, user_id: &str) -> Result<Vec<String>, ApiError> {
    Ok(project_evaluators::table
        .filter(project_evaluators::user_id.eq(user_id))
        .order(project_evaluators::created_at.asc())
        .select(project_evaluators::project_id)
        .load(conn)?)
}
