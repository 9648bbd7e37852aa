//! `POST /registrations/{id}/feedback` (the resident, once, after an attended
//! activity) and `GET /events/{id}/feedback` (the summary, without names).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{Feedback, FeedbackView, Summary, WINDOW, queries};
use crate::auth::CurrentUser;
use crate::checkin::figures as checkins;
use crate::db::{self, Db};
use crate::error::{ApiError, Code, Problem};
use crate::events::access::{self as event_access, Need};
use crate::events::{Contracts, queries as events};
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::http::pagination::{PageQuery, Paged};
use crate::live::outbox::publish;
use crate::parse_fields;
use crate::registrations::access as registrations;
use crate::validate::{int_in, optional_text};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/registrations/{id}/feedback", web::post().to(give))
        .route("/events/{id}/feedback", web::get().to(summary));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFeedback {
    /// 1–5.
    #[schema(example = 5)]
    pub score: i64,
    /// At most 500 characters.
    pub comment: Option<String>,
}

/// The resident's feedback on an activity they attended: after it ended,
/// within 14 days, once.
#[utoipa::path(post, path = "/api/v1/registrations/{id}/feedback", tag = "feedback",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "registration")),
    request_body = NewFeedback,
    responses(
        (status = 201, body = FeedbackView),
        (status = 403, description = "`forbidden` (not the resident)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 409, description = "`not_attended`, `event_not_ended`, `feedback_closed`, `already_given`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn give(
    Guarded(user, body): Guarded<CurrentUser, Json<NewFeedback>>,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    parse_fields!(
        score = "score" => int_in(body.score, 1, 5),
        comment = "comment" => optional_text(body.comment.as_deref(), 500),
    );
    let id = id.into_inner();
    let view = db
        .write(move |tx| {
            let r = registrations::load(tx, &id, &user, Need::Staff)?;
            if r.user_id.as_deref() != Some(user.id.as_str()) {
                return Err(Code::Forbidden.into());
            }
            if !checkins::is_checked_in(tx, &r.id)? {
                return Err(Code::NotAttended.into());
            }
            let event = events::find(tx, &r.event_id)?.ok_or(ApiError::from(Code::NotFound))?;
            let now = db::now();
            if event.ends_at > now {
                return Err(Code::EventNotEnded.into());
            }
            if now > event.ends_at + WINDOW {
                return Err(Code::FeedbackClosed.into());
            }
            if queries::of_registration(tx, &r.id)?.is_some() {
                return Err(Code::AlreadyGiven.into());
            }
            let f = Feedback {
                id: uuid::Uuid::new_v4().to_string(),
                registration_id: r.id,
                event_id: event.id.clone(),
                score,
                comment,
                created_at: now,
            };
            queries::insert(tx, &f)?;
            publish(
                tx,
                format!("org:{}", event.organization_id),
                "feedback.created",
                &json!({"event_id": event.id, "score": f.score}),
            );
            Ok(FeedbackView::from(f))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Comment {
    pub score: i32,
    pub comment: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventFeedback {
    #[serde(flatten)]
    pub summary: Summary,
    /// The comments, a page at a time (`?limit=&cursor=`), without names.
    pub comments: Paged<Comment>,
}

/// The feedback on an event, without names: its organization's owners and
/// managers, and the buyer staff and evaluators of the contract it delivers.
#[utoipa::path(get, path = "/api/v1/events/{id}/feedback", tag = "feedback",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "event"), PageQuery),
    responses(
        (status = 200, body = EventFeedback),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn summary(
    user: CurrentUser,
    db: web::Data<Db>,
    contracts: web::Data<dyn Contracts>,
    id: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let page = q.parse()?;
    let contracts = contracts.into_inner();
    let body = db
        .run(move |c| {
            let access = event_access::load(c, &id, Some(&user), Need::See, false)?;
            let oversees = match &access.event.contract_id {
                Some(contract) => contracts.oversees(c, contract, &user.id)?,
                None => false,
            };
            if !access.manages(&user) && !oversees {
                return Err(Code::Forbidden.into());
            }
            let scores = queries::scores_of(c, std::slice::from_ref(&id))?;
            let rows = queries::comments(c, &id, &page)?;
            Ok(EventFeedback {
                summary: Summary::of(&scores),
                comments: Paged::from_rows(
                    rows,
                    &page,
                    |r| (r.2, &r.3),
                    |(score, comment, created_at, _)| Comment {
                        score,
                        comment,
                        created_at: created_at.and_utc(),
                    },
                ),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
