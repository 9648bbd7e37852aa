//! Every project route, and the projects themselves: creating and changing a
//! draft, reading and listing (the transitions are in `states`).

use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde_json::json;

use super::access::{self, ProjectAccess};
use super::input::{NewProject, PatchProject, ProjectFields};
use super::{
    DRAFT, IndicatorView, Project, ProjectView, REVIEWING, bids, buyers, delivery, money, page,
    queries, report, states,
};
use crate::auth::CurrentUser;
use crate::centres::queries as centres;
use crate::db::{self, Db, DbConn, Tx};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::http::pagination::{PageQuery, Paged};
use crate::live::outbox::publish;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/buyers")
            .route(web::post().to(buyers::create))
            .route(web::get().to(buyers::list)),
    )
    .route("/buyers/{id}/members", web::post().to(buyers::add_member))
    .route(
        "/buyers/{id}/members/{user_id}",
        web::delete().to(buyers::remove_member),
    )
    .service(
        web::resource("/buyers/{id}/projects")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(
        web::resource("/projects/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(patch)),
    )
    .route("/projects/{id}/open", web::post().to(states::open))
    .route("/projects/{id}/review", web::post().to(states::review))
    .route("/projects/{id}/mid-term", web::post().to(states::mid_term))
    .route("/projects/{id}/resume", web::post().to(states::resume))
    .route("/projects/{id}/final", web::post().to(states::final_review))
    .route("/projects/{id}/close", web::post().to(states::close))
    .route("/projects/{id}/cancel", web::post().to(states::cancel))
    .route("/me/evaluations", web::get().to(my_evaluations))
    .route(
        "/projects/{id}/evaluators",
        web::post().to(bids::add_evaluator),
    )
    .route(
        "/projects/{id}/evaluators/{user_id}",
        web::delete().to(bids::remove_evaluator),
    )
    .service(
        web::resource("/projects/{id}/bids")
            .route(web::post().to(bids::create))
            .route(web::get().to(bids::list)),
    )
    .route("/bids/{id}", web::delete().to(bids::withdraw))
    .route("/bids/{id}/scores", web::post().to(bids::score))
    .route("/projects/{id}/award", web::post().to(bids::award))
    .route(
        "/projects/{id}/evaluations",
        web::post().to(delivery::evaluate),
    )
    .route("/indicators/{id}/actual", web::post().to(delivery::actual))
    .route(
        "/indicators/{id}/deviation",
        web::post().to(delivery::deviation),
    )
    .service(
        web::resource("/projects/{id}/expenses")
            .route(web::post().to(delivery::add_expense))
            .route(web::get().to(delivery::expenses)),
    )
    .route("/projects/{id}/report", web::get().to(report::get))
    .route("/projects/{id}/report/links", web::post().to(page::link))
    .route("/reports/projects/{id}", web::get().to(page::show));
}

/// The project as clients see it at `now` (three small queries).
pub fn view(conn: &mut DbConn, p: Project, now: NaiveDateTime) -> Result<ProjectView, ApiError> {
    let buyer_name = queries::buyer(conn, &p.buyer_id)?
        .map(|b| b.name)
        .unwrap_or_default();
    let centre_ids = queries::centres_of(conn, &p.id)?;
    let indicators = queries::indicators_of(conn, &p.id)?
        .into_iter()
        .map(IndicatorView::from)
        .collect();
    Ok(ProjectView {
        status: p.status_at(now).to_owned(),
        id: p.id,
        buyer_id: p.buyer_id,
        buyer_name,
        title: p.title,
        category: p.category,
        description: p.description,
        budget_cny: money::format(p.budget_fen),
        starts_on: p.starts_on,
        ends_on: p.ends_on,
        centre_ids,
        bids_close_at: p.bids_close_at.and_utc(),
        cancel_reason: p.cancel_reason,
        organization_id: p.organization_id,
        awarded_bid_id: p.awarded_bid_id,
        frozen_at: p.frozen_at.map(|t| t.and_utc()),
        indicators,
        created_at: p.created_at.and_utc(),
        updated_at: p.updated_at.and_utc(),
    })
}

/// Announces a change of the project on its topic (ids and states only).
pub fn updated(tx: &mut Tx<'_>, project_id: &str, status: &str) {
    publish(
        tx,
        format!("project:{project_id}"),
        "project.updated",
        &json!({"id": project_id, "status": status}),
    );
}

/// Loads the project for a write, holding its row, with the lazy transition
/// to `reviewing` stored (and announced) first.
pub fn load_for_write(
    tx: &mut Tx<'_>,
    id: &str,
    user: &CurrentUser,
) -> Result<ProjectAccess, ApiError> {
    let mut access = access::load(tx, id, user, true)?;
    let now = db::now();
    if queries::settle(tx, id, now)? {
        access.project.status = REVIEWING.into();
        updated(tx, id, REVIEWING);
    }
    Ok(access)
}

fn check_centres(conn: &mut DbConn, ids: &[String]) -> Result<(), ApiError> {
    for id in ids {
        if centres::find(conn, id)?.is_none() {
            return Err(ApiError::field("centre_ids", Invalid::Unknown));
        }
    }
    Ok(())
}

/// Buyer staff: a draft project with its indicator table.
#[utoipa::path(post, path = "/api/v1/buyers/{id}/projects", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "buyer")),
    request_body = NewProject,
    responses(
        (status = 201, body = ProjectView),
        (status = 404, description = "`not_found` (not its staff)", body = Problem),
        (status = 422, description = "`validation_failed` (weights not summing to 100, more than 30 rows, unknown centre, money not a decimal string…)", body = Problem),
    ))]
pub async fn create(
    Guarded(user, body): Guarded<CurrentUser, Json<NewProject>>,
    db: web::Data<Db>,
    buyer_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let fields = body.into_inner().parse()?;
    let buyer_id = buyer_id.into_inner();
    let view = db
        .write(move |tx| {
            if queries::buyer(tx, &buyer_id)?.is_none()
                || !access::is_buyer_staff(tx, &buyer_id, &user)?
            {
                return Err(Code::NotFound.into());
            }
            check_centres(tx, &fields.centre_ids)?;
            let now = db::now();
            let project = Project {
                id: uuid::Uuid::new_v4().to_string(),
                buyer_id,
                title: fields.title,
                category: fields.category,
                description: fields.description,
                budget_fen: fields.budget_fen,
                starts_on: fields.starts_on,
                ends_on: fields.ends_on,
                bids_close_at: fields.bids_close_at,
                status: DRAFT.into(),
                cancel_reason: None,
                awarded_bid_id: None,
                organization_id: None,
                report_mark: None,
                frozen_at: None,
                frozen_report: None,
                created_by: user.id.clone(),
                created_at: now,
                updated_at: now,
            };
            queries::insert_project(tx, &project)?;
            queries::set_centres(tx, &project.id, &fields.centre_ids)?;
            queries::replace_indicators(
                tx,
                &project.id,
                fields.indicators.as_deref().unwrap_or_default(),
            )?;
            view(tx, project, now)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// A buyer's projects: its staff see drafts too; anyone signed in sees the
/// others.
#[utoipa::path(get, path = "/api/v1/buyers/{id}/projects", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "buyer"), PageQuery),
    responses(
        (status = 200, body = inline(Paged<ProjectView>)),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn list(
    user: CurrentUser,
    db: web::Data<Db>,
    buyer_id: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = q.parse()?;
    let buyer_id = buyer_id.into_inner();
    let paged = db
        .run(move |c| {
            queries::buyer(c, &buyer_id)?.ok_or(ApiError::from(Code::NotFound))?;
            let staff = access::is_buyer_staff(c, &buyer_id, &user)?;
            let rows = queries::of_buyer(c, &buyer_id, staff, &page)?;
            let now = db::now();
            let paged = Paged::from_rows(rows, &page, |p| (p.created_at, &p.id), |p| p);
            let items = paged
                .items
                .into_iter()
                .map(|p| view(c, p, now))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Paged {
                items,
                next_cursor: paged.next_cursor,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(paged))
}

/// The projects the caller evaluates.
#[utoipa::path(get, path = "/api/v1/me/evaluations", tag = "projects",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = inline(Paged<ProjectView>)),
        (status = 401, description = "`unauthenticated`", body = Problem),
    ))]
pub async fn my_evaluations(
    user: CurrentUser,
    db: web::Data<Db>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = q.parse()?;
    let paged = db
        .run(move |c| {
            let rows = queries::evaluated_by(c, &user.id, &page)?;
            let now = db::now();
            let paged = Paged::from_rows(rows, &page, |p| (p.created_at, &p.id), |p| p);
            let items = paged
                .items
                .into_iter()
                .map(|p| view(c, p, now))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Paged {
                items,
                next_cursor: paged.next_cursor,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(paged))
}

/// A project with its indicators: buyer staff and evaluators; past `draft`,
/// anyone signed in.
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ProjectView),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn get(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let view = db
        .run(move |c| {
            let a = access::load(c, &id, &user, false)?;
            view(c, a.project, db::now())
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Buyer staff: changes a draft (`indicators` replaces the whole table).
#[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = PatchProject,
    responses(
        (status = 200, body = ProjectView),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`project_not_editable` (past draft)", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn patch(
    Guarded(user, body): Guarded<CurrentUser, Json<PatchProject>>,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.into_inner();
    let view = db
        .write(move |tx| {
            let a = load_for_write(tx, &id, &user)?;
            a.require(a.buyer_staff)?;
            if a.project.status != DRAFT {
                return Err(Code::ProjectNotEditable.into());
            }
            let p = &a.project;
            let current = ProjectFields {
                title: p.title.clone(),
                category: p.category.clone(),
                description: p.description.clone(),
                budget_fen: p.budget_fen,
                starts_on: p.starts_on,
                ends_on: p.ends_on,
                centre_ids: queries::centres_of(tx, &id)?,
                bids_close_at: p.bids_close_at,
                indicators: None,
            };
            let fields = patch.apply(current)?;
            check_centres(tx, &fields.centre_ids)?;
            queries::update_fields(tx, &id, &fields)?;
            queries::set_centres(tx, &id, &fields.centre_ids)?;
            if let Some(rows) = &fields.indicators {
                queries::replace_indicators(tx, &id, rows)?;
            }
            let project = queries::find(tx, &id)?.ok_or(ApiError::from(Code::NotFound))?;
            updated(tx, &id, DRAFT);
            view(tx, project, db::now())
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
