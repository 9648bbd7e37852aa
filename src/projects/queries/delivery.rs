//! Evaluations and expenses.

use diesel::prelude::*;

use super::unique_as;
use crate::db::schema::{evaluation_scores, evaluations, expenses, users};
use crate::db::{self, DbConn};
use crate::error::{ApiError, Code};
use crate::http::pagination::Page;
use crate::projects::Expense;

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
