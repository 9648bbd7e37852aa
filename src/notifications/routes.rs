//! The inbox (`GET /me/notifications`, newest first), read marks and per-kind
//! settings.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{EVENT_CANCELLED, KINDS};
use crate::auth::CurrentUser;
use crate::db::schema::{notification_settings, notifications};
use crate::db::{self, Db};
use crate::error::{ApiError, Invalid, Problem};
use crate::http::json::Json;
use crate::http::pagination::{PageQuery, Paged};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/notifications", web::get().to(inbox))
        .route("/me/notifications/read", web::post().to(read))
        .service(
            web::resource("/me/notification-settings")
                .route(web::get().to(settings))
                .route(web::patch().to(change_settings)),
        );
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = notifications)]
struct Row {
    id: String,
    kind: String,
    title: String,
    body: String,
    data: String,
    created_at: NaiveDateTime,
    read_at: Option<NaiveDateTime>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: String,
    /// `reminder`, `promoted`, `event_changed`, `event_cancelled`,
    /// `feedback_request`, `shift_approved` or `shift_reminder`.
    #[schema(example = "reminder")]
    pub kind: String,
    #[schema(example = "明天的活动提醒")]
    pub title: String,
    #[schema(example = "「健康讲座」将于12月3日 14:00开始，地点：控江睦邻中心。")]
    pub body: String,
    /// Ids only: `event_id`, `registration_id`, `shift_id`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// The caller's notifications, newest first (also pushed live on `me` as
/// `notification.created`).
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "notifications",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Paged<NotificationView>),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 422, description = "`validation_failed` (limit)", body = Problem),
    ))]
pub async fn inbox(
    user: CurrentUser,
    db: web::Data<Db>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let for_query = page.clone();
    let rows: Vec<Row> = db
        .run(move |c| {
            let mut q = notifications::table
                .filter(notifications::user_id.eq(&user.id))
                .into_boxed();
            if let Some((at, id)) = &for_query.after {
                q = q.filter(
                    notifications::created_at
                        .lt(*at)
                        .or(notifications::created_at
                            .eq(*at)
                            .and(notifications::id.lt(id.clone()))),
                );
            }
            Ok(
                q.order((notifications::created_at.desc(), notifications::id.desc()))
                    .limit(for_query.limit + 1)
                    .select(Row::as_select())
                    .load(c)?,
            )
        })
        .await?;
    let paged = Paged::from_rows(
        rows,
        &page,
        |r| (r.created_at, r.id.as_str()),
        |r| NotificationView {
            data: serde_json::from_str(&r.data).unwrap_or(serde_json::Value::Null),
            id: r.id,
            kind: r.kind,
            title: r.title,
            body: r.body,
            created_at: r.created_at.and_utc(),
            read_at: r.read_at.map(|t| t.and_utc()),
        },
    );
    Ok(HttpResponse::Ok().json(paged))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadMarks {
    /// Notifications to mark read (at most 100); or
    pub ids: Option<Vec<String>>,
    /// `true` marks every notification read.
    pub all: Option<bool>,
}

/// Marks notifications read.
#[utoipa::path(post, path = "/api/v1/me/notifications/read", tag = "notifications",
    security(("bearer" = [])),
    request_body = ReadMarks,
    responses(
        (status = 204, description = "marked"),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 422, description = "`validation_failed`: neither or both of `ids` and `all`, or more than 100 ids", body = Problem),
    ))]
pub async fn read(
    user: CurrentUser,
    db: web::Data<Db>,
    body: Json<ReadMarks>,
) -> Result<HttpResponse, ApiError> {
    let marks = body.into_inner();
    let ids = match (marks.ids, marks.all) {
        (Some(ids), None | Some(false)) if ids.len() <= 100 => Some(ids),
        (Some(_), None | Some(false)) => {
            return Err(ApiError::field(
                "ids",
                Invalid::OutOfRange { min: 0, max: 100 },
            ));
        }
        (None, Some(true)) => None,
        _ => return Err(ApiError::field("ids", Invalid::Required)),
    };
    db.write(move |tx| {
        let now = db::now();
        let unread = notifications::table
            .filter(notifications::user_id.eq(&user.id))
            .filter(notifications::read_at.is_null());
        match ids {
            Some(ids) => diesel::update(unread.filter(notifications::id.eq_any(ids)))
                .set(notifications::read_at.eq(Some(now)))
                .execute(tx.conn())?,
            None => diesel::update(unread)
                .set(notifications::read_at.eq(Some(now)))
                .execute(tx.conn())?,
        };
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettings {
    /// Each kind on (`true`) or off; `event_cancelled` cannot be turned off.
    #[schema(example = json!({"reminder": true, "promoted": true, "event_changed": true, "event_cancelled": true, "feedback_request": false, "shift_approved": true, "shift_reminder": true}))]
    pub kinds: BTreeMap<String, bool>,
}

fn current(conn: &mut crate::db::DbConn, user_id: &str) -> Result<NotificationSettings, ApiError> {
    let stored: Vec<(String, bool)> = notification_settings::table
        .filter(notification_settings::user_id.eq(user_id))
        .select((notification_settings::kind, notification_settings::enabled))
        .load(conn)?;
    let mut kinds: BTreeMap<String, bool> = KINDS.iter().map(|k| (k.to_string(), true)).collect();
    for (kind, enabled) in stored {
        kinds.insert(kind, enabled);
    }
    kinds.insert(EVENT_CANCELLED.into(), true);
    Ok(NotificationSettings { kinds })
}

/// Which kinds of notification the caller receives.
#[utoipa::path(get, path = "/api/v1/me/notification-settings", tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, body = NotificationSettings),
        (status = 401, description = "`unauthenticated`", body = Problem),
    ))]
pub async fn settings(user: CurrentUser, db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    let settings = db.run(move |c| current(c, &user.id)).await?;
    Ok(HttpResponse::Ok().json(settings))
}

/// Turns kinds on or off; kinds not named keep their setting.
#[utoipa::path(patch, path = "/api/v1/me/notification-settings", tag = "notifications",
    security(("bearer" = [])),
    request_body = NotificationSettings,
    responses(
        (status = 200, body = NotificationSettings),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 422, description = "`validation_failed`: an unknown kind, or `event_cancelled` turned off", body = Problem),
    ))]
pub async fn change_settings(
    user: CurrentUser,
    db: web::Data<Db>,
    body: Json<NotificationSettings>,
) -> Result<HttpResponse, ApiError> {
    let changes = body.into_inner().kinds;
    for (kind, enabled) in &changes {
        if !KINDS.contains(&kind.as_str()) {
            return Err(ApiError::field("kinds", Invalid::OneOf(KINDS)));
        }
        if kind == EVENT_CANCELLED && !enabled {
            return Err(ApiError::field("kinds", Invalid::NotAccepted));
        }
    }
    let settings = db
        .write(move |tx| {
            for (kind, enabled) in &changes {
                diesel::delete(
                    notification_settings::table
                        .filter(notification_settings::user_id.eq(&user.id))
                        .filter(notification_settings::kind.eq(kind)),
                )
                .execute(tx.conn())?;
                diesel::insert_into(notification_settings::table)
                    .values((
                        notification_settings::user_id.eq(&user.id),
                        notification_settings::kind.eq(kind),
                        notification_settings::enabled.eq(enabled),
                    ))
                    .execute(tx.conn())?;
            }
            current(tx, &user.id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(settings))
}
