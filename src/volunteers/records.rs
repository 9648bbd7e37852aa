//! Reading hours records: the volunteer's own list, an organization's list
//! (what awaits verification) and its CSV export in the columns the national
//! volunteer information system takes. Only verified hours are exported.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{HoursRecord, HoursView, Shift, hours, hours_text, queries};
use crate::auth::CurrentUser;
use crate::centres::queries as centres;
use crate::db::{Db, DbConn};
use crate::error::{ApiError, Invalid, Problem};
use crate::events::queries as events;
use crate::http::csv::{self, cell};
use crate::http::pagination::{PageQuery, Paged};
use crate::organizations::access::{self as org_access, Need};

/// What a record says about the activity behind it.
#[derive(Clone, Debug, Default)]
pub struct Activity {
    pub title: String,
    pub place: String,
}

/// The activity and place of each shift's event, read once per event.
#[derive(Default)]
pub struct Activities(HashMap<String, Activity>);

impl Activities {
    pub fn of(&mut self, conn: &mut DbConn, shift: &Shift) -> Result<Activity, ApiError> {
        if let Some(found) = self.0.get(&shift.event_id) {
            return Ok(found.clone());
        }
        let activity = match events::find(conn, &shift.event_id)? {
            Some(event) => {
                let centre = match &event.centre_id {
                    Some(id) => centres::find(conn, id)?,
                    None => None,
                };
                let place = match (centre, event.location) {
                    (Some(c), Some(l)) => format!("{} {}", c.name, l),
                    (Some(c), None) => format!("{}（{}）", c.name, c.address),
                    (None, Some(l)) => l,
                    (None, None) => String::new(),
                };
                Activity {
                    title: event.title,
                    place,
                }
            }
            None => Activity::default(),
        };
        self.0.insert(shift.event_id.clone(), activity.clone());
        Ok(activity)
    }
}

/// A record as its volunteer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyHours {
    pub id: String,
    pub shift_id: String,
    /// The activity's title.
    pub activity: String,
    pub date: NaiveDate,
    pub place: String,
    pub role: String,
    pub served_group: String,
    pub content: String,
    #[schema(example = 2.5)]
    pub hours: f64,
    /// The name of who recorded the hours.
    pub recorder: String,
    /// The name of who verified them; `null` while waiting.
    pub verifier: Option<String>,
    pub verified: bool,
    pub backfilled: bool,
    pub created_at: DateTime<Utc>,
}

/// The volunteer's records, newest first: verified or waiting.
#[utoipa::path(get, path = "/api/v1/me/volunteer/hours", tag = "volunteers",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Paged<MyHours>),
        (status = 401, description = "`unauthenticated`", body = Problem),
    ))]
pub async fn mine(
    user: CurrentUser,
    db: web::Data<Db>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let for_query = page.clone();
    let rows = db
        .run(move |c| {
            let rows = queries::hours_of_user(c, &user.id, Some(&for_query), None)?;
            let ids: Vec<&str> = rows
                .iter()
                .flat_map(|(r, _)| [Some(r.recorded_by.as_str()), r.verified_by.as_deref()])
                .flatten()
                .collect();
            let names = crate::accounts::queries::display_names(c, &ids)?;
            let mut activities = Activities::default();
            rows.into_iter()
                .map(|(r, shift)| {
                    let activity = activities.of(c, &shift)?;
                    Ok(MyHours {
                        activity: activity.title,
                        place: activity.place,
                        date: r.day,
                        role: shift.role,
                        served_group: shift.served_group,
                        content: shift.content,
                        hours: hours(i64::from(r.tenths)),
                        recorder: names.get(&r.recorded_by).cloned().unwrap_or_default(),
                        verifier: r.verified_by.as_ref().and_then(|v| names.get(v).cloned()),
                        verified: r.verified_at.is_some(),
                        backfilled: r.backfilled,
                        created_at: r.created_at.and_utc(),
                        id: r.id,
                        shift_id: r.shift_id,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .await?;
    let paged = Paged::from_rows(
        rows,
        &page,
        |r| (r.created_at.naive_utc(), r.id.as_str()),
        |r| r,
    );
    Ok(HttpResponse::Ok().json(paged))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrgHoursQuery {
    /// `false`: only records awaiting verification; `true`: only verified ones.
    pub verified: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Owners and managers: the organization's records, newest first.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/hours", tag = "volunteers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "organization"), OrgHoursQuery),
    responses(
        (status = 200, body = Paged<HoursView>),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn of_org(
    user: CurrentUser,
    db: web::Data<Db>,
    org_id: web::Path<String>,
    query: web::Query<OrgHoursQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse()?;
    let for_query = page.clone();
    let rows = db
        .run(move |c| {
            org_access::require(c, &org_id, &user, Need::Manager)?;
            queries::hours_of_org(c, &org_id, query.verified, &for_query)
        })
        .await?;
    let paged = Paged::from_rows(
        rows,
        &page,
        |(r, _): &(HoursRecord, String)| (r.created_at, r.id.as_str()),
        |(r, no)| HoursView::new(r, no),
    );
    Ok(HttpResponse::Ok().json(paged))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// First day, `YYYY-MM-DD` (default: a year before `to`).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today).
    pub to: Option<String>,
}

/// The days a `from`/`to` pair names: at most about five years, `from` first.
pub fn days(from: Option<&str>, to: Option<&str>) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let parse = |field: &'static str, v: &str| {
        NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
            .map_err(|_| ApiError::field(field, Invalid::Date))
    };
    let to = match to {
        Some(v) => parse("to", v)?,
        // Records are dated by the centre's local day (Shanghai's unless the
        // centre says otherwise), and so is a certificate's period: today is
        // Shanghai's today, not the UTC date (from 00:00 to 08:00 there they
        // differ, and today's records were left out).
        None => {
            use chrono::TimeZone;
            chrono_tz::Asia::Shanghai
                .from_utc_datetime(&crate::db::now())
                .date_naive()
        }
    };
    let from = match from {
        Some(v) => parse("from", v)?,
        None => to - chrono::Duration::days(365),
    };
    if from > to {
        return Err(ApiError::field("to", Invalid::NotAfter("from")));
    }
    if to - from > chrono::Duration::days(5 * 366) {
        return Err(ApiError::field("from", Invalid::TooFarAhead));
    }
    Ok((from, to))
}

/// The CSV header row, as the national volunteer information system takes it.
pub const CSV_HEADER: [&str; 10] = [
    "姓名",
    "志愿者编号",
    "活动名称",
    "服务日期",
    "服务地点",
    "服务对象",
    "服务内容",
    "服务时长（小时）",
    "记录人",
    "审核人",
];

/// Owners and managers: verified hours between two days as CSV.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/volunteer-hours.csv", tag = "volunteers",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "organization"), Span),
    responses(
        (status = 200, content_type = "text/csv", body = String, description = "UTF-8 with a byte-order mark; header 姓名,志愿者编号,活动名称,服务日期,服务地点,服务对象,服务内容,服务时长（小时）,记录人,审核人"),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem),
    ))]
pub async fn csv(
    user: CurrentUser,
    db: web::Data<Db>,
    org_id: web::Path<String>,
    query: web::Query<Span>,
) -> Result<HttpResponse, ApiError> {
    let (from, to) = days(query.from.as_deref(), query.to.as_deref())?;
    let body = db
        .run(move |c| {
            org_access::require(c, &org_id, &user, Need::Manager)?;
            let rows = queries::verified_of_org(c, &org_id, from, to)?;
            let mut ids: Vec<&str> = Vec::new();
            for (r, _, _) in &rows {
                ids.push(&r.user_id);
                ids.push(&r.recorded_by);
                ids.extend(r.verified_by.as_deref());
            }
            let names = crate::accounts::queries::display_names(c, &ids)?;
            let name = |id: &str| names.get(id).cloned().unwrap_or_default();
            let mut activities = Activities::default();
            let mut lines = Vec::with_capacity(rows.len());
            for (r, shift, no) in &rows {
                let activity = activities.of(c, shift)?;
                lines.push(vec![
                    cell(&name(&r.user_id)),
                    no.clone(),
                    cell(&activity.title),
                    r.day.to_string(),
                    cell(&activity.place),
                    cell(&shift.served_group),
                    cell(&shift.content),
                    hours_text(i64::from(r.tenths)),
                    cell(&name(&r.recorded_by)),
                    cell(&r.verified_by.as_deref().map(name).unwrap_or_default()),
                ]);
            }
            csv::file(&CSV_HEADER, lines)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"volunteer-hours.csv\"",
        ))
        .body(body))
}
