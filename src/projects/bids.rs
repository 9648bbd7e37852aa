//! Bidding and the award: verified organizations bid while a project is
//! `open` (one live bid each), buyer staff and evaluators score the bids while
//! it is `reviewing` (five criteria 0–20, one score per reviewer and bid), and
//! the award of a scored bid makes the project a contract binding the
//! organization. Evaluators are added per project by its buyer's staff; a
//! member of a bidding organization cannot be one.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::routes::{load_for_write, updated, view};
use super::{
    Bid, BidScore, BidScoreView, BidView, CONTRACTED, LIVE_BID, Milestone, OPEN, ProjectView,
    REVIEWING, access, money, queries,
};
use crate::accounts::{Phone, queries as users};
use crate::auth::CurrentUser;
use crate::auth::ratelimit::{self, Limiter};
use crate::db::{self, Db};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::http::pagination::{PageQuery, Paged};
use crate::organizations::{VERIFIED, queries as orgs};
use crate::parse_fields;
use crate::validate::{int_in, optional_text, text};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBid {
    /// The bidding organization; needed only when the caller manages several.
    pub organization_id: Option<String>,
    /// The service plan (text).
    pub plan: String,
    /// Yuan as a decimal string, at most two decimals.
    #[schema(example = "115000.00")]
    pub budget_cny: String,
    /// The team (text).
    pub team: String,
    /// At most 100.
    pub milestones: Vec<Milestone>,
}

fn milestones(values: &[Milestone]) -> Result<String, Invalid> {
    if values.len() > 100 {
        return Err(Invalid::OutOfRange { min: 0, max: 100 });
    }
    let mut out = Vec::with_capacity(values.len());
    for m in values {
        let month = m.month.trim();
        if chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_err() {
            return Err(Invalid::Date);
        }
        out.push(Milestone {
            month: month.to_owned(),
            what: text(&m.what, 1, 200)?,
        });
    }
    serde_json::to_string(&out).map_err(|_| Invalid::Unknown)
}

fn bid_view(b: Bid, organization_name: String, scores: Option<&[BidScore]>) -> BidView {
    let (score_count, mean_score) = match scores {
        None => (None, None),
        Some([]) => (Some(0), None),
        Some(s) => {
            let totals: i32 = s
                .iter()
                .map(|s| s.qualification + s.plan + s.capacity + s.outputs + s.budget)
                .sum();
            let mean = f64::from(totals) / s.len() as f64;
            (Some(s.len() as i64), Some((mean * 10.0).round() / 10.0))
        }
    };
    BidView {
        milestones: serde_json::from_str(&b.milestones).unwrap_or_default(),
        id: b.id,
        project_id: b.project_id,
        organization_id: b.organization_id,
        organization_name,
        plan: b.plan,
        budget_cny: money::format(b.budget_fen),
        team: b.team,
        status: b.status,
        score_count,
        mean_score,
        created_at: b.created_at.and_utc(),
    }
}

/// The organizations `user_id` runs (owner or manager).
fn managed_orgs(conn: &mut db::DbConn, user_id: &str) -> Result<Vec<String>, ApiError> {
    Ok(orgs::memberships_of(conn, user_id)?
        .into_iter()
        .filter(|m| m.role == "owner" || m.role == "manager")
        .map(|m| m.organization_id)
        .collect())
}

/// Owners and managers of a verified organization: a bid while the project
/// is `open`.
#[utoipa::path(post, path = "/api/v1/projects/{id}/bids", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewBid,
    responses(
        (status = 201, body = BidView),
        (status = 403, description = "`forbidden` (runs no organization)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`already_bid`, `bids_closed`, `organization_not_verified`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn create(
    Guarded(user, body): Guarded<CurrentUser, Json<NewBid>>,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    parse_fields!(
        plan = "plan" => text(&body.plan, 1, 2000),
        budget_fen = "budget_cny" => money::parse(&body.budget_cny),
        team = "team" => text(&body.team, 1, 2000),
        milestones = "milestones" => milestones(&body.milestones),
    );
    let id = id.into_inner();
    let view = db
        .write(move |tx| {
            let a = load_for_write(tx, &id, &user)?;
            let managed = managed_orgs(tx, &user.id)?;
            let org_id = match body.organization_id {
                Some(org) if managed.contains(&org) => org,
                Some(_) => {
                    return Err(ApiError::field("organization_id", Invalid::Unknown));
                }
                None if managed.len() == 1 => managed[0].clone(),
                None if managed.is_empty() => return Err(Code::Forbidden.into()),
                None => return Err(ApiError::field("organization_id", Invalid::Required)),
            };
            let org = orgs::find(tx, &org_id)?.ok_or(ApiError::from(Code::NotFound))?;
            if org.status != VERIFIED {
                return Err(Code::OrganizationNotVerified.into());
            }
            if a.project.status != OPEN {
                return Err(Code::BidsClosed.into());
            }
            if queries::live_bid_of(tx, &id, &org_id)?.is_some() {
                return Err(Code::AlreadyBid.into());
            }
            let bid = Bid {
                id: uuid::Uuid::new_v4().to_string(),
                project_id: id.clone(),
                organization_id: org_id,
                plan,
                budget_fen,
                team,
                milestones,
                status: LIVE_BID.into(),
                created_by: user.id.clone(),
                created_at: db::now(),
                withdrawn_at: None,
            };
            queries::insert_bid(tx, &bid)?;
            updated(tx, &id, OPEN);
            Ok(bid_view(bid, org.name, None))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Buyer staff and evaluators see every bid with its scores; an organization
/// sees its own bids.
#[utoipa::path(get, path = "/api/v1/projects/{id}/bids", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path), PageQuery),
    responses(
        (status = 200, body = inline(Paged<BidView>)),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn list(
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
            let own = if a.reviews() {
                None
            } else {
                let managed = managed_orgs(c, &user.id)?;
                if managed.is_empty() {
                    return Err(Code::Forbidden.into());
                }
                Some(managed)
            };
            let rows = queries::bids_of(c, &id, own.as_deref(), &page)?;
            let ids: Vec<String> = rows.iter().map(|(b, _)| b.id.clone()).collect();
            let scores = if a.reviews() {
                queries::scores_of(c, &ids)?
            } else {
                HashMap::new()
            };
            let reviews = a.reviews();
            Ok(Paged::from_rows(
                rows,
                &page,
                |(b, _)| (b.created_at, &b.id),
                |(b, name)| {
                    let s = reviews.then(|| scores.get(&b.id).map_or(&[][..], |v| v.as_slice()));
                    bid_view(b, name, s)
                },
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(paged))
}

/// The bidding organization's owners and managers: withdraw while `open`.
#[utoipa::path(delete, path = "/api/v1/bids/{id}", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`bids_closed`", body = Problem),
    ))]
pub async fn withdraw(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    db.write(move |tx| {
        let bid = queries::bid(tx, &id)?.ok_or(ApiError::from(Code::NotFound))?;
        let a = load_for_write(tx, &bid.project_id, &user)?;
        let role = orgs::role_of(tx, &bid.organization_id, &user.id)?;
        if role.is_none() && !a.reviews() {
            return Err(Code::NotFound.into());
        }
        if !role.is_some_and(crate::organizations::Role::manages) {
            return Err(Code::Forbidden.into());
        }
        if bid.status != LIVE_BID {
            return Err(Code::NotFound.into());
        }
        if a.project.status != OPEN {
            return Err(Code::BidsClosed.into());
        }
        queries::withdraw_bid(tx, &id)?;
        updated(tx, &bid.project_id, OPEN);
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScore {
    /// 资质, 0–20.
    pub qualification: i64,
    /// 方案, 0–20.
    pub plan: i64,
    /// 能力, 0–20.
    pub capacity: i64,
    /// 产出, 0–20.
    pub outputs: i64,
    /// 预算, 0–20.
    pub budget: i64,
    pub comment: Option<String>,
}

/// Buyer staff and evaluators, while `reviewing`: one score per reviewer.
#[utoipa::path(post, path = "/api/v1/bids/{id}/scores", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "bid")),
    request_body = NewScore,
    responses(
        (status = 201, body = BidScoreView),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`already_scored`, `not_reviewing`, `conflict_of_interest` (the reviewer belongs to the bidding organization)", body = Problem),
        (status = 422, description = "`validation_failed` (a criterion outside 0–20)", body = Problem),
    ))]
pub async fn score(
    Guarded(user, body): Guarded<CurrentUser, Json<NewScore>>,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    parse_fields!(
        qualification = "qualification" => int_in(body.qualification, 0, 20),
        plan = "plan" => int_in(body.plan, 0, 20),
        capacity = "capacity" => int_in(body.capacity, 0, 20),
        outputs = "outputs" => int_in(body.outputs, 0, 20),
        budget = "budget" => int_in(body.budget, 0, 20),
        comment = "comment" => optional_text(body.comment.as_deref(), 2000),
    );
    let view = db
        .write(move |tx| {
            let bid = queries::bid(tx, &id)?.ok_or(ApiError::from(Code::NotFound))?;
            let a = load_for_write(tx, &bid.project_id, &user)?;
            if !a.reviews() {
                let own = orgs::role_of(tx, &bid.organization_id, &user.id)?.is_some();
                return Err(if own { Code::Forbidden } else { Code::NotFound }.into());
            }
            if bid.status != LIVE_BID {
                return Err(Code::NotFound.into());
            }
            // A reviewer who joined the bidding organization after being added.
            if orgs::role_of(tx, &bid.organization_id, &user.id)?.is_some() {
                return Err(Code::ConflictOfInterest.into());
            }
            if a.project.status != REVIEWING {
                return Err(Code::NotReviewing.into());
            }
            let s = BidScore {
                id: uuid::Uuid::new_v4().to_string(),
                bid_id: bid.id,
                reviewer_id: user.id.clone(),
                qualification,
                plan,
                capacity,
                outputs,
                budget,
                comment,
                created_at: db::now(),
            };
            queries::insert_score(tx, &s)?;
            Ok(BidScoreView::from(s))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Award {
    pub bid_id: String,
}

/// Buyer staff, while `reviewing`: the award of a bid with at least one
/// score makes the project a contract (`contracted`).
#[utoipa::path(post, path = "/api/v1/projects/{id}/award", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = Award,
    responses(
        (status = 200, body = ProjectView),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`invalid_transition`, `bid_not_scored`", body = Problem),
        (status = 422, description = "`validation_failed` (not a live bid of this project)", body = Problem),
    ))]
pub async fn award(
    Guarded(user, body): Guarded<CurrentUser, Json<Award>>,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let bid_id = body.into_inner().bid_id;
    let view = db
        .write(move |tx| {
            let a = load_for_write(tx, &id, &user)?;
            a.require(a.buyer_staff)?;
            if a.project.status != REVIEWING {
                return Err(Code::InvalidTransition.into());
            }
            let bid = queries::bid(tx, &bid_id)?
                .filter(|b| b.project_id == id && b.status == LIVE_BID)
                .ok_or_else(|| ApiError::field("bid_id", Invalid::Unknown))?;
            let scored = queries::scores_of(tx, std::slice::from_ref(&bid.id))?;
            if scored.get(&bid.id).is_none_or(Vec::is_empty) {
                return Err(Code::BidNotScored.into());
            }
            queries::award(tx, &id, &bid)?;
            updated(tx, &id, CONTRACTED);
            let project = queries::find(tx, &id)?.ok_or(ApiError::from(Code::NotFound))?;
            view(tx, project, db::now())
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddEvaluator {
    #[schema(example = "13812345678")]
    pub phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluatorView {
    pub project_id: String,
    pub user_id: String,
    pub display_name: String,
}

/// Buyer staff: an evaluator (a third-party agency's person) for this project.
#[utoipa::path(post, path = "/api/v1/projects/{id}/evaluators", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = AddEvaluator,
    responses(
        (status = 201, body = EvaluatorView),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`conflict_of_interest` (a member of a bidding organization), `already_member`", body = Problem),
        (status = 422, description = "`validation_failed` (no account with that phone)", body = Problem),
        (status = 429, description = "`rate_limited`: more than 30 lookups by phone in an hour (with organizations' members)", body = Problem),
    ))]
pub async fn add_evaluator(
    Guarded(user, body): Guarded<CurrentUser, Json<AddEvaluator>>,
    db: web::Data<Db>,
    limiter: web::Data<Limiter>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    parse_fields!(phone = "phone" => Phone::parse(&body.phone));
    // A lookup by phone: who may add evaluators is settled first, then it counts.
    let (project, caller) = (id.clone(), user.clone());
    db.run(move |c| {
        let a = super::access::load(c, &project, &caller, false)?;
        a.require(a.buyer_staff)
    })
    .await?;
    ratelimit::phone_lookup(&db, &limiter, &user).await?;
    let view = db
        .write(move |tx| {
            let a = load_for_write(tx, &id, &user)?;
            a.require(a.buyer_staff)?;
            let target = users::find_by_phone(tx, &phone)?
                .ok_or_else(|| ApiError::field("phone", Invalid::UnknownPhone))?;
            for org in queries::bidding_orgs(tx, &id)? {
                if orgs::role_of(tx, &org, &target.id)?.is_some() {
                    return Err(Code::ConflictOfInterest.into());
                }
            }
            queries::add_evaluator(tx, &id, &target.id, &user.id)?;
            Ok(EvaluatorView {
                project_id: id,
                user_id: target.id,
                display_name: target.display_name,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Buyer staff: removes an evaluator.
#[utoipa::path(delete, path = "/api/v1/projects/{id}/evaluators/{user_id}", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn remove_evaluator(
    user: CurrentUser,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, member) = path.into_inner();
    db.write(move |tx| {
        let a = load_for_write(tx, &id, &user)?;
        a.require(a.buyer_staff)?;
        if queries::remove_evaluator(tx, &id, &member)? == 0 {
            return Err(Code::NotFound.into());
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
