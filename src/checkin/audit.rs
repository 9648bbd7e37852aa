//! `GET /events/{id}/checkin/audit`: the check-in audit trail of an event
//! (scans, undos, offline scans superseded by earlier ones, walk-ins and
//! overrides), with who did it and from which phone, oldest first. For the
//! organization's owners and managers and platform admins; each read is
//! recorded in the organization's access log.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::queries as users;
use crate::auth::CurrentUser;
use crate::db::Db;
use crate::db::schema::{checkin_audit, registrations};
use crate::error::{ApiError, Problem};
use crate::events::access::{self as event_access, Need};
use crate::http::pagination::{PageQuery, Paged};
use crate::organizations::access_log::{self, Access};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events/{id}/checkin/audit", web::get().to(audit));
}

#[derive(Debug, Queryable)]
struct Row {
    id: String,
    checkin_id: String,
    registration_id: String,
    action: String,
    actor: String,
    device_id: Option<String>,
    method: String,
    offline: bool,
    scanned_at: NaiveDateTime,
    at: NaiveDateTime,
    over_capacity: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditActor {
    pub id: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    /// `created`, `undone` or `superseded` (an offline scan replaced by an
    /// earlier one of the same ticket).
    #[schema(example = "created")]
    pub action: String,
    pub checkin_id: String,
    pub registration_id: String,
    /// `qr`, `manual` or `walk_in`.
    #[schema(example = "qr")]
    pub method: String,
    /// A walk-in a manager admitted past capacity.
    pub over_capacity: bool,
    pub device_id: Option<String>,
    pub offline: bool,
    /// When the phone scanned (for offline scans, before it was received).
    pub scanned_at: DateTime<Utc>,
    /// When the server recorded this entry.
    pub at: DateTime<Utc>,
    pub actor: AuditActor,
}

/// The event's check-in audit trail, oldest first.
#[utoipa::path(get, path = "/api/v1/events/{id}/checkin/audit", tag = "check-in",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "event"), PageQuery),
    responses(
        (status = 200, body = Paged<AuditEntry>),
        (status = 400, description = "`invalid_query` (bad cursor)", body = Problem),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden` (staff who are not owners or managers)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 422, description = "`validation_failed` (limit)", body = Problem),
    ))]
pub async fn audit(
    user: CurrentUser,
    db: web::Data<Db>,
    event_id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let for_query = page.clone();
    let (reader, logged_event) = (user.id.clone(), event_id.to_string());
    let (rows, names, org_id) = db
        .run(move |c| {
            let access = event_access::load(c, &event_id, Some(&user), Need::Manager, false)?;
            let mut q = checkin_audit::table
                .inner_join(
                    registrations::table.on(registrations::id.eq(checkin_audit::registration_id)),
                )
                .filter(checkin_audit::event_id.eq(&*event_id))
                .into_boxed();
            if let Some((at, id)) = &for_query.after {
                q = q.filter(
                    checkin_audit::at.gt(*at).or(checkin_audit::at
                        .eq(*at)
                        .and(checkin_audit::id.gt(id.clone()))),
                );
            }
            let rows: Vec<Row> = q
                .order((checkin_audit::at, checkin_audit::id))
                .limit(for_query.limit + 1)
                .select((
                    checkin_audit::id,
                    checkin_audit::checkin_id,
                    checkin_audit::registration_id,
                    checkin_audit::action,
                    checkin_audit::actor,
                    checkin_audit::device_id,
                    checkin_audit::method,
                    checkin_audit::offline,
                    checkin_audit::scanned_at,
                    checkin_audit::at,
                    registrations::over_capacity,
                ))
                .load(c)?;
            let ids: Vec<&str> = rows.iter().map(|r| r.actor.as_str()).collect();
            let names = users::display_names(c, &ids)?;
            Ok((rows, names, access.event.organization_id))
        })
        .await?;
    access_log::note(
        &db,
        org_id,
        reader,
        Access::CheckinAudit,
        Some(logged_event),
    )
    .await?;
    let paged = Paged::from_rows(
        rows,
        &page,
        |r| (r.at, r.id.as_str()),
        |r| AuditEntry {
            actor: AuditActor {
                display_name: names.get(&r.actor).cloned(),
                id: r.actor,
            },
            id: r.id,
            action: r.action,
            checkin_id: r.checkin_id,
            registration_id: r.registration_id,
            method: r.method,
            over_capacity: r.over_capacity,
            device_id: r.device_id,
            offline: r.offline,
            scanned_at: r.scanned_at.and_utc(),
            at: r.at.and_utc(),
        },
    );
    Ok(HttpResponse::Ok().json(paged))
}
