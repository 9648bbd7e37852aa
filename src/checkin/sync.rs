//! For staff phones that work offline: the roster changes since a cursor (new,
//! cancelled, promoted, checked in elsewhere, undone), so a phone can verify
//! tickets and search names without a connection; and the anomalies of offline
//! uploads (refused scans, and scans beaten by an earlier scan on another phone).

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::accounts::personal::ERASED_PHONE_PREFIX;
use crate::accounts::phone::mask;
use crate::auth::CurrentUser;
use crate::db::schema::{checkin_scans, checkins, registrations, users};
use crate::db::{Db, DbConn};
use crate::error::{ApiError, Problem};
use crate::events::access::{self as event_access, Need};
use crate::organizations::access_log::{self, Access};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events/{id}/checkin/sync", web::get().to(sync))
        .route("/events/{id}/checkin/anomalies", web::get().to(anomalies));
}

pub const PAGE: i64 = 500;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncEntry {
    pub registration_id: String,
    pub display_name: String,
    /// Last four digits only.
    pub phone: Option<String>,
    pub party_size: i32,
    /// `confirmed`, `waitlisted` or `cancelled` (cancelled tickets must be refused).
    pub status: String,
    pub checkin_id: Option<String>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub checked_in_by_device: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncPage {
    pub items: Vec<SyncEntry>,
    /// Pass as `since` next time; unchanged when nothing changed.
    pub next_cursor: String,
    /// More changes are waiting: ask again with `next_cursor` at once.
    pub more: bool,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SyncQuery {
    /// `next_cursor` from the last sync; absent for the whole roster.
    pub since: Option<String>,
}

fn decode(cursor: &str) -> Option<(NaiveDateTime, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (micros, id) = text.split_once('|')?;
    Some((
        DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc(),
        id.to_owned(),
    ))
}

fn encode(at: NaiveDateTime, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.and_utc().timestamp_micros()))
}

type Row = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i32,
    String,
    NaiveDateTime,
    Option<String>,
    Option<NaiveDateTime>,
    Option<String>,
);

fn changes(
    conn: &mut DbConn,
    event_id: &str,
    since: Option<(NaiveDateTime, String)>,
) -> Result<Vec<Row>, ApiError> {
    let mut query = registrations::table
        .left_join(users::table)
        .left_join(checkins::table)
        .filter(registrations::event_id.eq(event_id.to_owned()))
        .select((
            registrations::id,
            users::display_name.nullable(),
            registrations::walk_in_name,
            users::phone.nullable(),
            registrations::walk_in_phone,
            registrations::party_size,
            registrations::status,
            registrations::updated_at,
            checkins::id.nullable(),
            checkins::scanned_at.nullable(),
            checkins::device_id.nullable().assume_not_null().nullable(),
        ))
        .order((registrations::updated_at.asc(), registrations::id.asc()))
        .limit(PAGE + 1)
        .into_boxed();
    if let Some((at, id)) = since {
        query = query.filter(
            registrations::updated_at
                .gt(at)
                .or(registrations::updated_at
                    .eq(at)
                    .and(registrations::id.gt(id))),
        );
    }
    Ok(query.load(conn)?)
}

/// Roster changes since `since`, oldest change first.
#[utoipa::path(get, path = "/api/v1/events/{id}/checkin/sync", tag = "check-in",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "event"), SyncQuery),
    responses(
        (status = 200, body = SyncPage),
        (status = 400, description = "`invalid_query` (bad cursor)", body = Problem),
        (status = 403, description = "`forbidden`: not staff of the event's organization", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn sync(
    user: CurrentUser,
    db: web::Data<Db>,
    event_id: web::Path<String>,
    query: web::Query<SyncQuery>,
) -> Result<HttpResponse, ApiError> {
    let since = match query.into_inner().since {
        None => None,
        Some(c) => Some(decode(&c).ok_or_else(|| ApiError::InvalidQuery("since".into()))?),
    };
    let previous = since.clone();
    let (reader, logged_event) = (user.id.clone(), event_id.to_string());
    let (mut rows, org_id) = db
        .run(move |c| {
            let access = event_access::load(c, &event_id, Some(&user), Need::Staff, false)?;
            Ok((changes(c, &event_id, since)?, access.event.organization_id))
        })
        .await?;
    access_log::note(&db, org_id, reader, Access::SyncFeed, Some(logged_event)).await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let next_cursor = match rows.last() {
        Some(last) => encode(last.7, &last.0),
        None => previous.map_or_else(
            || encode(NaiveDateTime::MIN, ""),
            |(at, id)| encode(at, &id),
        ),
    };
    let items = rows
        .into_iter()
        .map(
            |(
                id,
                name,
                walk_in_name,
                phone,
                walk_in_phone,
                party_size,
                status,
                updated_at,
                checkin_id,
                scanned_at,
                device,
            )| SyncEntry {
                registration_id: id,
                display_name: name.or(walk_in_name).unwrap_or_default(),
                // An erased account's tombstone is not a phone number.
                phone: phone
                    .filter(|p| !p.starts_with(ERASED_PHONE_PREFIX))
                    .or(walk_in_phone)
                    .map(|p| mask(&p)),
                party_size,
                status,
                checkin_id,
                checked_in_at: scanned_at.map(|t| t.and_utc()),
                checked_in_by_device: device,
                updated_at: updated_at.and_utc(),
            },
        )
        .collect();
    Ok(HttpResponse::Ok().json(SyncPage {
        items,
        next_cursor,
        more,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Anomaly {
    pub device_id: String,
    pub scan_id: String,
    pub registration_id: Option<String>,
    /// The refusal, or `already_checked_in` for a scan that lost to another.
    pub result: String,
    pub scanned_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// For a duplicate: the device and time of the scan that counts.
    pub counted_device_id: Option<String>,
    pub counted_scanned_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AnomalyList {
    pub items: Vec<Anomaly>,
}

/// Every uploaded scan that did not simply count: nothing is dropped silently.
#[utoipa::path(get, path = "/api/v1/events/{id}/checkin/anomalies", tag = "check-in",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "event")),
    responses(
        (status = 200, body = AnomalyList),
        (status = 403, description = "`forbidden`: not staff of the event's organization", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
    ))]
pub async fn anomalies(
    user: CurrentUser,
    db: web::Data<Db>,
    event_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let event_id = event_id.into_inner();
    type ScanRow = (
        String,
        String,
        Option<String>,
        String,
        bool,
        NaiveDateTime,
        NaiveDateTime,
        Option<String>,
        Option<NaiveDateTime>,
    );
    let rows: Vec<ScanRow> = db
        .run(move |c| {
            event_access::load(c, &event_id, Some(&user), Need::Staff, false)?;
            Ok(checkin_scans::table
                .left_join(
                    checkins::table.on(checkins::registration_id
                        .nullable()
                        .eq(checkin_scans::registration_id)),
                )
                .filter(checkin_scans::event_id.eq(&event_id))
                .filter(
                    checkin_scans::result
                        .ne("ok")
                        .or(checkin_scans::superseded.eq(true)),
                )
                .order((
                    checkin_scans::received_at.asc(),
                    checkin_scans::scan_id.asc(),
                ))
                .select((
                    checkin_scans::device_id,
                    checkin_scans::scan_id,
                    checkin_scans::registration_id,
                    checkin_scans::result,
                    checkin_scans::superseded,
                    checkin_scans::scanned_at,
                    checkin_scans::received_at,
                    checkins::device_id.nullable().assume_not_null().nullable(),
                    checkins::scanned_at.nullable(),
                ))
                .load(c)?)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(
            |(
                device_id,
                scan_id,
                registration_id,
                result,
                superseded,
                scanned_at,
                received_at,
                counted_device,
                counted_at,
            )| Anomaly {
                device_id,
                scan_id,
                registration_id,
                // A counted scan another phone's earlier scan replaced: the
                // phone was told `ok`, and that answer is kept for replays.
                result: if superseded {
                    "already_checked_in".to_owned()
                } else {
                    result
                },
                scanned_at: scanned_at.and_utc(),
                received_at: received_at.and_utc(),
                counted_device_id: counted_device,
                counted_scanned_at: counted_at.map(|t| t.and_utc()),
            },
        )
        .collect();
    Ok(HttpResponse::Ok().json(AnomalyList { items }))
}
