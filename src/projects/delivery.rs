//! What happens while a contract runs: the organization records expenses and
//! explains missed targets (deviation notes); buyer staff and evaluators type
//! the values of `manual` indicators (with a note, signed by who typed them)
//! and give their mid-term and final evaluations (a score of 0…weight per
//! indicator and an opinion, one per reviewer and stage).

use std::collections::HashSet;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::{self, ProjectAccess};
use super::input::{MANUAL, date};
use super::queries::{self, NewEvaluation};
use super::routes::load_for_write;
use super::{
    CLOSED, Expense, ExpenseView, FINAL, FINAL_REVIEW, IndicatorView, MID_TERM, MID_TERM_REVIEW,
    money,
};
use crate::auth::CurrentUser;
use crate::db::{self, Db, Tx};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::http::pagination::{PageQuery, Paged};
use crate::parse_fields;
use crate::validate::{optional_text, text};

/// Refuses changes to the figures of a project that is not delivering:
/// `report_frozen` once closed, `not_contracted` before the award or once
/// cancelled.
fn require_delivering(a: &ProjectAccess) -> Result<(), ApiError> {
    if a.project.status == CLOSED {
        return Err(Code::ReportFrozen.into());
    }
    if !a.project.delivering() {
        return Err(Code::NotContracted.into());
    }
    Ok(())
}

/// The project of indicator `id`, loaded for a write.
fn indicator_for_write(
    tx: &mut Tx<'_>,
    id: &str,
    user: &CurrentUser,
) -> Result<(super::Indicator, ProjectAccess), ApiError> {
    let indicator = queries::indicator(tx, id)?.ok_or(ApiError::from(Code::NotFound))?;
    let a = load_for_write(tx, &indicator.project_id, user)?;
    Ok((indicator, a))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActual {
    /// A number ≥ 0.
    #[schema(example = 12)]
    pub value: f64,
    /// Where the value comes from.
    #[schema(example = "街道台账，2027 年 1 月核对")]
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActualView {
    pub indicator_id: String,
    pub value: f64,
    pub note: String,
    /// The name of whoever typed it.
    pub author: String,
    pub at: DateTime<Utc>,
}

/// Buyer staff and evaluators: the value of a `manual` indicator (the only
/// typed figure), with its note; the last one counts.
#[utoipa::path(post, path = "/api/v1/indicators/{id}/actual", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "indicator")),
    request_body = NewActual,
    responses(
        (status = 200, body = ActualView),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`not_manual`, `not_contracted`, `report_frozen`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn actual(
    Guarded(user, body): Guarded<CurrentUser, Json<NewActual>>,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    parse_fields!(
        value = "value" => if body.value.is_finite() && body.value >= 0.0 && body.value <= 1e12 {
            Ok(body.value)
        } else {
            Err(Invalid::OutOfRange { min: 0, max: 1_000_000_000_000 })
        },
        note = "note" => text(&body.note, 1, 500),
    );
    let view = db
        .write(move |tx| {
            let (indicator, a) = indicator_for_write(tx, &id, &user)?;
            a.require(a.reviews())?;
            if indicator.source != MANUAL {
                return Err(Code::NotManual.into());
            }
            require_delivering(&a)?;
            queries::insert_actual(tx, &indicator.id, value, &note, &user.id)?;
            queries::touch(tx, &indicator.project_id)?;
            let author = crate::accounts::queries::find(tx, &user.id)?.display_name;
            Ok(ActualView {
                indicator_id: indicator.id,
                value,
                note,
                author,
                at: db::now().and_utc(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeviation {
    #[schema(example = "一月寒潮，两场户外活动改期")]
    pub note: String,
}

/// The contracted organization's owners and managers: why a target is missed.
#[utoipa::path(post, path = "/api/v1/indicators/{id}/deviation", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "indicator")),
    request_body = NewDeviation,
    responses(
        (status = 200, body = IndicatorView),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`not_contracted`, `report_frozen`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn deviation(
    Guarded(user, body): Guarded<CurrentUser, Json<NewDeviation>>,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let note = text(&body.note, 1, 1000).map_err(|e| ApiError::field("note", e))?;
    let view = db
        .write(move |tx| {
            let (indicator, a) = indicator_for_write(tx, &id, &user)?;
            a.require(a.delivers())?;
            require_delivering(&a)?;
            queries::set_deviation(tx, &indicator.id, &note, &user.id)?;
            queries::touch(tx, &indicator.project_id)?;
            let indicator = queries::indicator(tx, &id)?.ok_or(ApiError::from(Code::NotFound))?;
            Ok(IndicatorView::from(indicator))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExpense {
    /// `YYYY-MM-DD`, inside the contract's period.
    #[schema(example = "2026-12-15")]
    pub spent_on: String,
    /// Yuan as a decimal string, at most two decimals.
    #[schema(example = "3200.50")]
    pub amount_cny: String,
    #[schema(example = "讲座教材印刷")]
    pub item: String,
}

fn positive_money(value: &str) -> Result<i64, Invalid> {
    match money::parse(value)? {
        0 => Err(Invalid::OutOfRange {
            min: 0,
            max: 100_000_000,
        }),
        fen => Ok(fen),
    }
}

/// The contracted organization's owners and managers: an expense.
#[utoipa::path(post, path = "/api/v1/projects/{id}/expenses", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewExpense,
    responses(
        (status = 201, body = ExpenseView),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`not_contracted`, `report_frozen`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn add_expense(
    Guarded(user, body): Guarded<CurrentUser, Json<NewExpense>>,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    parse_fields!(
        spent_on = "spent_on" => date(&body.spent_on),
        amount_fen = "amount_cny" => positive_money(&body.amount_cny),
        item = "item" => text(&body.item, 1, 200),
    );
    let view = db
        .write(move |tx| {
            let a = load_for_write(tx, &id, &user)?;
            a.require(a.delivers())?;
            require_delivering(&a)?;
            if spent_on < a.project.starts_on || spent_on > a.project.ends_on {
                return Err(ApiError::field("spent_on", Invalid::OutsideContract));
            }
            let e = Expense {
                id: uuid::Uuid::new_v4().to_string(),
                project_id: id.clone(),
                spent_on,
                amount_fen,
                item,
                created_by: user.id.clone(),
                created_at: db::now(),
            };
            queries::insert_expense(tx, &e)?;
            queries::touch(tx, &id)?;
            Ok(ExpenseView::from(e))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// The expenses: the contracted organization and buyer staff (and evaluators).
#[utoipa::path(get, path = "/api/v1/projects/{id}/expenses", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path), PageQuery),
    responses(
        (status = 200, body = inline(Paged<ExpenseView>)),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn expenses(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let page = q.parse()?;
    let paged = db
        .run(move |c| {
            let a = access::load(c, &id, &user, false)?;
            a.require(a.reads_report())?;
            let rows = queries::expenses_page(c, &id, &page)?;
            Ok(Paged::from_rows(
                rows,
                &page,
                |e| (e.created_at, &e.id),
                ExpenseView::from,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(paged))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIndicatorScore {
    pub indicator_id: String,
    /// 0 … the indicator's weight.
    #[schema(example = 12)]
    pub score: f64,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvaluationBody {
    /// `mid_term` (while `mid_term_review`) or `final` (while `final_review`).
    #[schema(example = "mid_term")]
    pub stage: String,
    /// At most one per indicator.
    pub scores: Vec<NewIndicatorScore>,
    #[schema(example = "服务人次进度偏慢，满意度高。")]
    pub opinion: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationView {
    pub id: String,
    pub project_id: String,
    pub stage: String,
    pub opinion: String,
    /// The sum of the scores given.
    pub total: f64,
}

const STAGES: &[&str] = &[MID_TERM, FINAL];

/// Buyer staff and evaluators, in the matching review: one evaluation per
/// reviewer and stage.
#[utoipa::path(post, path = "/api/v1/projects/{id}/evaluations", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewEvaluationBody,
    responses(
        (status = 201, body = EvaluationView),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`evaluation_not_open`, `already_evaluated`", body = Problem),
        (status = 422, description = "`validation_failed` (a score outside 0…weight, an indicator of another project)", body = Problem),
    ))]
pub async fn evaluate(
    Guarded(user, body): Guarded<CurrentUser, Json<NewEvaluationBody>>,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    parse_fields!(
        stage = "stage" => super::input::one_of(&body.stage, STAGES),
        opinion = "opinion" => text(&body.opinion, 1, 2000),
        _count = "scores" => if body.scores.len() <= super::input::MAX_INDICATORS {
            Ok(body.scores.len())
        } else {
            Err(Invalid::OutOfRange { min: 0, max: super::input::MAX_INDICATORS as i64 })
        },
    );
    let view = db
        .write(move |tx| {
            let a = load_for_write(tx, &id, &user)?;
            a.require(a.reviews())?;
            let open = match stage.as_str() {
                MID_TERM => a.project.status == MID_TERM_REVIEW,
                _ => a.project.status == FINAL_REVIEW,
            };
            if !open {
                return Err(Code::EvaluationNotOpen.into());
            }
            let indicators = queries::indicators_of(tx, &id)?;
            let mut seen = HashSet::new();
            let mut scores = Vec::with_capacity(body.scores.len());
            for (i, s) in body.scores.iter().enumerate() {
                let at = |field: &str, invalid| ApiError::BodyField {
                    path: format!("scores[{i}].{field}"),
                    invalid,
                };
                let indicator = indicators
                    .iter()
                    .find(|x| x.id == s.indicator_id)
                    .ok_or_else(|| at("indicator_id", Invalid::Unknown))?;
                if !seen.insert(indicator.id.clone()) {
                    return Err(at("indicator_id", Invalid::NotAccepted));
                }
                if !s.score.is_finite() || s.score < 0.0 || s.score > f64::from(indicator.weight) {
                    return Err(at(
                        "score",
                        Invalid::OutOfRange {
                            min: 0,
                            max: i64::from(indicator.weight),
                        },
                    ));
                }
                let note = optional_text(s.note.as_deref(), 500).map_err(|e| at("note", e))?;
                scores.push((indicator.id.clone(), s.score, note));
            }
            let eval_id = queries::insert_evaluation(
                tx,
                &NewEvaluation {
                    project_id: &id,
                    stage: &stage,
                    reviewer_id: &user.id,
                    opinion: &opinion,
                    scores: &scores,
                },
            )?;
            queries::touch(tx, &id)?;
            Ok(EvaluationView {
                id: eval_id,
                project_id: id,
                stage,
                opinion,
                total: scores.iter().map(|s| s.1).sum(),
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}
