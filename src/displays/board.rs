//! `GET /centres/{id}/board`: today's activities at a centre (in its time zone),
//! in start order, with live counts and their state, and the current
//! announcements. Nothing personal is on it.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::announcements::{self, AnnouncementView};
use crate::centres::{CentreView, queries as centres};
use crate::db::schema::{events, organizations};
use crate::db::{self, Db, DbConn};
use crate::error::{ApiError, Code, Problem};
use crate::events::{CANCELLED, Event, PUBLISHED};
use crate::organizations::VERIFIED;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/centres/{id}/board", web::get().to(board));
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BoardEvent {
    pub id: String,
    pub title: String,
    pub category: String,
    pub organization_name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location: Option<String>,
    /// `upcoming`, `in_progress`, `ended` or `cancelled`.
    #[schema(example = "upcoming")]
    pub status: String,
    pub capacity: i32,
    pub seats_left: i32,
    pub checked_in_count: i32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Board {
    pub centre: CentreView,
    /// Today in the centre's time zone, `YYYY-MM-DD`.
    pub date: String,
    pub events: Vec<BoardEvent>,
    pub announcements: Vec<AnnouncementView>,
}

fn state(event: &Event, now: NaiveDateTime) -> &'static str {
    if event.status == CANCELLED {
        "cancelled"
    } else if now < event.starts_at {
        "upcoming"
    } else if now < event.ends_at {
        "in_progress"
    } else {
        "ended"
    }
}

/// The board of `centre_id` now.
pub fn load(conn: &mut DbConn, centre_id: &str) -> Result<Board, ApiError> {
    let centre = centres::find(conn, centre_id)?.ok_or(ApiError::from(Code::NotFound))?;
    let tz = centre.tz();
    let now = db::now();
    let today = tz.from_utc_datetime(&now).date_naive();
    let midnight = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| tz.from_local_datetime(&t).earliest())
            .map_or(now, |t| t.naive_utc())
    };
    let (from, to) = (midnight(today), midnight(today + Duration::days(1)));
    let rows: Vec<(Event, String)> = events::table
        .inner_join(organizations::table)
        .filter(events::centre_id.eq(centre_id))
        .filter(events::status.eq_any([PUBLISHED, CANCELLED]))
        .filter(organizations::status.eq(VERIFIED))
        .filter(events::starts_at.ge(from))
        .filter(events::starts_at.lt(to))
        .order((events::starts_at.asc(), events::id.asc()))
        .select((Event::as_select(), organizations::name))
        .load(conn)?;
    let events = rows
        .into_iter()
        .map(|(e, organization_name)| BoardEvent {
            status: state(&e, now).to_owned(),
            seats_left: e.seats_left(),
            id: e.id,
            title: e.title,
            category: e.category,
            organization_name,
            starts_at: e.starts_at.and_utc(),
            ends_at: e.ends_at.and_utc(),
            location: e.location,
            capacity: e.capacity,
            checked_in_count: e.checked_in_count,
        })
        .collect();
    Ok(Board {
        date: today.format("%Y-%m-%d").to_string(),
        announcements: announcements::current(conn, centre_id, now)?,
        centre: CentreView::from(centre),
        events,
    })
}

/// Today's board for the hall screen (public; a display token may read its own).
#[utoipa::path(get, path = "/api/v1/centres/{id}/board", tag = "displays",
    params(("id" = String, Path, description = "centre")),
    responses(
        (status = 200, body = Board),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn board(
    db: web::Data<Db>,
    centre_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let board = db.run(move |c| load(c, &centre_id)).await?;
    Ok(HttpResponse::Ok().json(board))
}
