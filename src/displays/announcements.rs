//! Announcements on a centre's screens: posted and removed by its managers,
//! shown between their optional start and end.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::require_manager;
use crate::auth::CurrentUser;
use crate::db::schema::announcements;
use crate::db::{self, Db, DbConn};
use crate::error::{ApiError, Code, Invalid, Problem};
use crate::events::input::timestamp;
use crate::http::extract::Guarded;
use crate::http::json::Json;
use crate::live::outbox;
use crate::validate::text;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/centres/{id}/announcements", web::post().to(post))
        .route("/announcements/{id}", web::delete().to(remove));
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnnouncementView {
    pub id: String,
    pub centre_id: String,
    #[schema(example = "本周六上午九点社区花园义务劳动，欢迎参加")]
    pub text: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

type Row = (
    String,
    String,
    String,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

fn view((id, centre_id, text, starts_at, ends_at, created_at): Row) -> AnnouncementView {
    AnnouncementView {
        id,
        centre_id,
        text,
        starts_at: starts_at.map(|t| t.and_utc()),
        ends_at: ends_at.map(|t| t.and_utc()),
        created_at: created_at.and_utc(),
    }
}

/// Announcements showing now, oldest first.
pub fn current(
    conn: &mut DbConn,
    centre_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<AnnouncementView>, ApiError> {
    let rows: Vec<Row> = announcements::table
        .filter(announcements::centre_id.eq(centre_id))
        .filter(announcements::removed_at.is_null())
        .filter(
            announcements::starts_at
                .is_null()
                .or(announcements::starts_at.le(now)),
        )
        .filter(
            announcements::ends_at
                .is_null()
                .or(announcements::ends_at.gt(now)),
        )
        .order((announcements::created_at.asc(), announcements::id.asc()))
        .select((
            announcements::id,
            announcements::centre_id,
            announcements::text,
            announcements::starts_at,
            announcements::ends_at,
            announcements::created_at,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(view).collect())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostAnnouncement {
    pub text: String,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
}

/// Posts an announcement to the centre's screens.
#[utoipa::path(post, path = "/api/v1/centres/{id}/announcements", tag = "displays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "centre")),
    request_body = PostAnnouncement,
    responses(
        (status = 201, body = AnnouncementView),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn post(
    Guarded(user, body): Guarded<CurrentUser, Json<PostAnnouncement>>,
    db: web::Data<Db>,
    centre_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    crate::parse_fields!(
        text = "text" => text(&body.text, 1, 500),
        starts_at = "starts_at" => body.starts_at.as_deref().map(timestamp).transpose(),
        ends_at = "ends_at" => body.ends_at.as_deref().map(timestamp).transpose(),
    );
    if let (Some(s), Some(e)) = (starts_at, ends_at) {
        if e <= s {
            return Err(ApiError::field("ends_at", Invalid::NotAfter("starts_at")));
        }
    }
    let centre_id = centre_id.into_inner();
    let announcement = db
        .write(move |c| {
            require_manager(c, &centre_id, &user)?;
            let now = db::now();
            let row: Row = (
                uuid::Uuid::new_v4().to_string(),
                centre_id.to_string(),
                text,
                starts_at,
                ends_at,
                now,
            );
            diesel::insert_into(announcements::table)
                .values((
                    announcements::id.eq(&row.0),
                    announcements::centre_id.eq(&row.1),
                    announcements::text.eq(&row.2),
                    announcements::starts_at.eq(row.3),
                    announcements::ends_at.eq(row.4),
                    announcements::created_by.eq(&user.id),
                    announcements::created_at.eq(now),
                ))
                .execute(c.conn())?;
            let announcement = view(row);
            let data = serde_json::to_value(&announcement)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            outbox::publish(
                c,
                format!("centre:{centre_id}"),
                "announcement.posted",
                &data,
            );
            Ok(announcement)
        })
        .await?;
    Ok(HttpResponse::Created().json(announcement))
}

/// Takes an announcement off the screens.
#[utoipa::path(delete, path = "/api/v1/announcements/{id}", tag = "displays",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn remove(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    db.write(move |c| {
        let centre: String = announcements::table
            .find(&*id)
            .filter(announcements::removed_at.is_null())
            .select(announcements::centre_id)
            .first(c.conn())
            .optional()?
            .ok_or(ApiError::from(Code::NotFound))?;
        require_manager(c, &centre, &user)?;
        diesel::update(announcements::table.find(&*id))
            .set(announcements::removed_at.eq(Some(db::now())))
            .execute(c.conn())?;
        outbox::publish(
            c,
            format!("centre:{centre}"),
            "announcement.removed",
            &serde_json::json!({"id": *id}),
        );
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
