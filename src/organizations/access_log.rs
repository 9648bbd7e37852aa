//! The access log: who read or exported which roster of an organization (the
//! JSON roster, its CSV, the offline sync feed, the check-in audit trail) and
//! who looked people up by phone to add them. Readable by the organization's
//! owners and platform admins (`GET /organizations/{id}/access-log`).
//!
//! A staff phone polls the sync feed every few seconds at the door; the same
//! reader reading the same roster or feed again within ten minutes is one
//! entry, so the log stays readable and the door adds no write per poll. Every
//! CSV export and every phone lookup is an entry of its own.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::access::{self, Need};
use crate::accounts::queries as users;
use crate::auth::CurrentUser;
use crate::db::schema::access_log;
use crate::db::{self, Db, DbConn, Tx};
use crate::error::{ApiError, Code, Problem};
use crate::http::pagination::{PageQuery, Paged};

/// What was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Roster,
    RosterCsv,
    SyncFeed,
    CheckinAudit,
    PhoneLookup,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Roster => "roster",
            Access::RosterCsv => "roster_csv",
            Access::SyncFeed => "sync_feed",
            Access::CheckinAudit => "checkin_audit",
            Access::PhoneLookup => "phone_lookup",
        }
    }
}

/// Repeats of one read by one reader within this window are one entry.
const COALESCE: Duration = Duration::minutes(10);

/// Whether the same read by the same reader is already in the log (within
/// the coalescing window). Phone lookups and CSV exports are never coalesced.
fn logged_recently(
    conn: &mut DbConn,
    org_id: &str,
    actor: &str,
    what: Access,
    event_id: Option<&str>,
) -> Result<bool, ApiError> {
    // Each lookup counts; each CSV is a copy that leaves the service.
    if matches!(what, Access::PhoneLookup | Access::RosterCsv) {
        return Ok(false);
    }
    let mut recent = access_log::table
        .filter(access_log::actor.eq(actor))
        .filter(access_log::what.eq(what.as_str()))
        .filter(access_log::organization_id.eq(org_id))
        .filter(access_log::at.gt(db::now() - COALESCE))
        .into_boxed();
    recent = match event_id {
        Some(e) => recent.filter(access_log::event_id.eq(e)),
        None => recent.filter(access_log::event_id.is_null()),
    };
    Ok(recent
        .select(access_log::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Records, inside the caller's write, that `actor` read `what` (of
/// `event_id`) in `org_id`.
pub fn record(
    tx: &mut Tx<'_>,
    org_id: &str,
    actor: &str,
    what: Access,
    event_id: Option<&str>,
) -> Result<(), ApiError> {
    if logged_recently(tx, org_id, actor, what, event_id)? {
        return Ok(());
    }
    diesel::insert_into(access_log::table)
        .values((
            access_log::id.eq(uuid::Uuid::new_v4().to_string()),
            access_log::organization_id.eq(org_id),
            access_log::actor.eq(actor),
            access_log::what.eq(what.as_str()),
            access_log::event_id.eq(event_id),
            access_log::at.eq(db::now()),
        ))
        .execute(tx.conn())?;
    Ok(())
}

/// Records a read made outside a write (a roster, a feed): a read-only check
/// first, so a door phone polling the same feed adds no write per poll. The
/// caller answers only once this succeeded: no read goes unlogged.
pub async fn note(
    db: &Db,
    org_id: String,
    actor: String,
    what: Access,
    event_id: Option<String>,
) -> Result<(), ApiError> {
    let (o, a, e) = (org_id.clone(), actor.clone(), event_id.clone());
    if db
        .run(move |c| logged_recently(c, &o, &a, what, e.as_deref()))
        .await?
    {
        return Ok(());
    }
    db.write(move |tx| record(tx, &org_id, &actor, what, event_id.as_deref()))
        .await
}

/// The entries `user_id` made, for their own data export.
pub fn by_actor(conn: &mut DbConn, user_id: &str) -> Result<Vec<AccessEntry>, ApiError> {
    let rows: Vec<Row> = access_log::table
        .filter(access_log::actor.eq(user_id))
        .order((access_log::at, access_log::id))
        .select(Row::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|r| r.view(None)).collect())
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = access_log)]
struct Row {
    id: String,
    organization_id: String,
    actor: String,
    what: String,
    event_id: Option<String>,
    at: NaiveDateTime,
}

impl Row {
    fn view(self, actor_name: Option<String>) -> AccessEntry {
        AccessEntry {
            id: self.id,
            organization_id: self.organization_id,
            actor: AccessActor {
                id: self.actor,
                display_name: actor_name,
            },
            what: self.what,
            event_id: self.event_id,
            at: self.at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessActor {
    pub id: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessEntry {
    pub id: String,
    pub organization_id: String,
    pub actor: AccessActor,
    /// `roster`, `roster_csv`, `sync_feed`, `checkin_audit` or `phone_lookup`.
    #[schema(example = "roster_csv")]
    pub what: String,
    pub event_id: Option<String>,
    pub at: DateTime<Utc>,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/organizations/{id}/access-log", web::get().to(list));
}

/// Who read or exported which roster of the organization, newest first.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/access-log", tag = "organizations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "organization"), PageQuery),
    responses(
        (status = 200, body = Paged<AccessEntry>),
        (status = 401, description = "`unauthenticated`", body = Problem),
        (status = 403, description = "`forbidden` (not an owner)", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 422, description = "`validation_failed` (limit)", body = Problem),
    ))]
pub async fn list(
    user: CurrentUser,
    db: web::Data<Db>,
    org_id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.parse()?;
    let for_query = page.clone();
    let (rows, names) = db
        .run(move |c| {
            let standing = access::require(c, &org_id, &user, Need::Manager)?;
            if !user.is_admin && !standing.is_owner_or_admin() {
                return Err(Code::Forbidden.into());
            }
            let mut q = access_log::table
                .filter(access_log::organization_id.eq(&*org_id))
                .into_boxed();
            if let Some((at, id)) = &for_query.after {
                q = q.filter(
                    access_log::at
                        .lt(*at)
                        .or(access_log::at.eq(*at).and(access_log::id.lt(id.clone()))),
                );
            }
            let rows: Vec<Row> = q
                .order((access_log::at.desc(), access_log::id.desc()))
                .limit(for_query.limit + 1)
                .select(Row::as_select())
                .load(c)?;
            let ids: Vec<&str> = rows.iter().map(|r| r.actor.as_str()).collect();
            let names = users::display_names(c, &ids)?;
            Ok((rows, names))
        })
        .await?;
    let paged = Paged::from_rows(
        rows,
        &page,
        |r| (r.at, r.id.as_str()),
        |r| {
            let name = names.get(&r.actor).cloned();
            r.view(name)
        },
    );
    Ok(HttpResponse::Ok().json(paged))
}
