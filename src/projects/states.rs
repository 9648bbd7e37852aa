//! The state table's transitions, each by buyer staff (anything else is
//! `409 invalid_transition`): open, review, mid-term, resume, final, close
//! (which freezes the report) and cancel.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::routes::{load_for_write, updated, view};
use super::{
    CANCELLED, CLOSED, CONTRACTED, DRAFT, FINAL, FINAL_REVIEW, MID_TERM_REVIEW, OPEN, ProjectView,
    REVIEWING, queries, report,
};
use crate::auth::CurrentUser;
use crate::db::{self, Db};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::validate::text;

/// A move along the state table, by buyer staff.
#[derive(Clone, Debug)]
enum Move {
    Open,
    Review,
    MidTerm,
    Resume,
    Final,
    Close,
    Cancel(String),
}

impl Move {
    /// The state this move leaves from, and the state it reaches.
    fn edge(&self, from: &str) -> Option<&'static str> {
        match (self, from) {
            (Move::Open, DRAFT) => Some(OPEN),
            (Move::Review, OPEN) => Some(REVIEWING),
            (Move::MidTerm, CONTRACTED) => Some(MID_TERM_REVIEW),
            (Move::Resume, MID_TERM_REVIEW) => Some(CONTRACTED),
            (Move::Final, CONTRACTED) => Some(FINAL_REVIEW),
            (Move::Close, FINAL_REVIEW) => Some(CLOSED),
            (Move::Cancel(_), from) if from != CLOSED && from != CANCELLED => Some(CANCELLED),
            _ => None,
        }
    }
}

async fn apply_move(
    user: CurrentUser,
    db: web::Data<Db>,
    id: String,
    step: Move,
) -> Result<HttpResponse, ApiError> {
    let view = db
        .write(move |tx| {
            let a = load_for_write(tx, &id, &user)?;
            a.require(a.buyer_staff)?;
            let to = step
                .edge(&a.project.status)
                .ok_or(ApiError::from(Code::InvalidTransition))?;
            let now = db::now();
            match &step {
                Move::Open if a.project.bids_close_at <= now => {
                    return Err(ApiError::field("bids_close_at", Invalid::InPast));
                }
                Move::Close => {
                    if queries::count_evaluations(tx, &id, FINAL)? == 0 {
                        return Err(Code::NoFinalEvaluation.into());
                    }
                    let frozen = report::compute(tx, &a.project, Some(now))?;
                    let text = serde_json::to_string(&frozen)
                        .map_err(|e| ApiError::internal(format!("report json: {e}")))?;
                    queries::freeze(tx, &id, &text, now)?;
                }
                Move::Cancel(reason) => queries::cancel(tx, &id, reason)?,
                _ => {}
            }
            if !matches!(step, Move::Close | Move::Cancel(_)) {
                queries::set_status(tx, &id, to)?;
            }
            updated(tx, &id, to);
            let project = queries::find(tx, &id)?.ok_or(ApiError::from(Code::NotFound))?;
            view(tx, project, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

macro_rules! transition {
    ($name:ident, $path:literal, $step:expr, $doc:literal, $extra:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "projects",
            security(("bearer" = [])),
            params(("id" = String, Path)),
            responses(
                (status = 200, body = ProjectView),
                (status = 403, description = "`forbidden` (not buyer staff)", body = Problem),
                (status = 404, description = "`not_found`", body = Problem),
                (status = 409, description = $extra, body = Problem),
            ))]
        pub async fn $name(
            user: CurrentUser,
            db: web::Data<Db>,
            id: web::Path<String>,
        ) -> Result<HttpResponse, ApiError> {
            apply_move(user, db, id.into_inner(), $step).await
        }
    };
}

transition!(
    open,
    "/api/v1/projects/{id}/open",
    Move::Open,
    "`draft` → `open`: bids are accepted until `bids_close_at` (which must be ahead: `422` otherwise).",
    "`invalid_transition`"
);
transition!(
    review,
    "/api/v1/projects/{id}/review",
    Move::Review,
    "`open` → `reviewing` before `bids_close_at` (it happens by itself when that time passes).",
    "`invalid_transition`"
);
transition!(
    mid_term,
    "/api/v1/projects/{id}/mid-term",
    Move::MidTerm,
    "`contracted` → `mid_term_review`.",
    "`invalid_transition`"
);
transition!(
    resume,
    "/api/v1/projects/{id}/resume",
    Move::Resume,
    "`mid_term_review` → `contracted`.",
    "`invalid_transition`"
);
transition!(
    final_review,
    "/api/v1/projects/{id}/final",
    Move::Final,
    "`contracted` → `final_review`.",
    "`invalid_transition`"
);
transition!(
    close,
    "/api/v1/projects/{id}/close",
    Move::Close,
    "`final_review` → `closed` (at least one final evaluation): the report is frozen and never changes again.",
    "`invalid_transition`, `no_final_evaluation`"
);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelProject {
    #[schema(example = "预算调整，项目取消")]
    pub reason: String,
}

/// Any state but `closed` → `cancelled`, with a reason.
#[utoipa::path(post, path = "/api/v1/projects/{id}/cancel", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = CancelProject,
    responses(
        (status = 200, body = ProjectView),
        (status = 403, description = "`forbidden` (not buyer staff)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`invalid_transition`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn cancel(
    Guarded(user, body): Guarded<CurrentUser, Json<CancelProject>>,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reason = text(&body.reason, 1, 500).map_err(|e| ApiError::field("reason", e))?;
    apply_move(user, db, id.into_inner(), Move::Cancel(reason)).await
}
