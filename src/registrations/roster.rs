//! The staff roster of an event: who is coming, with phones masked to their
//! last four digits, searchable by name or those digits, as JSON pages or one
//! CSV file.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Registration, WAITLISTED};
use crate::accounts::phone::mask;
use crate::db::DbConn;
use crate::db::schema::{checkins, registrations, users};
use crate::error::ApiError;
use crate::http::csv::{self, cell};
use crate::http::pagination::Page;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RosterEntry {
    pub registration_id: String,
    pub user_id: Option<String>,
    pub display_name: String,
    /// Only the last four digits, e.g. `*******5678`.
    pub phone: String,
    pub party_size: i32,
    /// `confirmed`, `waitlisted` or `cancelled`.
    pub status: String,
    pub waitlist_position: Option<i64>,
    pub accessibility_needs: Option<String>,
    pub note: Option<String>,
    /// When the person was checked in (the scan time).
    pub checked_in_at: Option<DateTime<Utc>>,
    /// A walk-in added at the door rather than a resident's own sign-up.
    pub walk_in: bool,
    /// The person was taken out of this roster (retention, or they deleted
    /// their account): name and phone are empty, the row still counts.
    pub erased: bool,
    pub created_at: DateTime<Utc>,
}

type Row = (
    Registration,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    bool,
);

fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Roster rows in sign-up order; `page: None` returns every row (CSV).
pub fn load(
    conn: &mut DbConn,
    event_id: &str,
    status: Option<&str>,
    q: Option<&str>,
    page: Option<&Page>,
) -> Result<Vec<RosterEntry>, ApiError> {
    let mut query = registrations::table
        .left_join(users::table)
        .left_join(checkins::table)
        .filter(registrations::event_id.eq(event_id.to_owned()))
        .select((
            Registration::as_select(),
            users::display_name.nullable(),
            registrations::walk_in_name,
            users::phone.nullable(),
            registrations::walk_in_phone,
            users::accessibility_needs
                .nullable()
                .assume_not_null()
                .nullable(),
            checkins::scanned_at.nullable(),
            registrations::erased_at,
            users::erased_at.nullable(),
            registrations::walk_in,
        ))
        .order((registrations::created_at.asc(), registrations::id.asc()))
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(registrations::status.eq(status.to_owned()));
    }
    if let Some(q) = q {
        let digits = q.len() == 4 && q.bytes().all(|b| b.is_ascii_digit());
        query = if digits {
            let suffix = format!("%{q}");
            query.filter(
                users::phone
                    .nullable()
                    .like(suffix.clone())
                    .or(registrations::walk_in_phone.like(suffix)),
            )
        } else {
            let pattern = like_pattern(q);
            query.filter(
                users::display_name
                    .nullable()
                    .like(pattern.clone())
                    .escape('\\')
                    .or(registrations::walk_in_name.like(pattern).escape('\\')),
            )
        };
    }
    if let Some(page) = page {
        query = query.limit(page.limit + 1);
        if let Some((at, id)) = &page.after {
            query = query.filter(
                registrations::created_at
                    .gt(*at)
                    .or(registrations::created_at
                        .eq(*at)
                        .and(registrations::id.gt(id.clone()))),
            );
        }
    }
    let rows: Vec<Row> = query.load(conn)?;
    // Waitlist positions in one query: the tickets of everyone still waiting.
    let waiting: Vec<i64> = registrations::table
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::status.eq(WAITLISTED))
        .select(registrations::waitlist_ticket.assume_not_null())
        .order(registrations::waitlist_ticket.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                r,
                name,
                walk_in_name,
                phone,
                walk_in_phone,
                accessibility_needs,
                checked_in_at,
                erased_at,
                account_erased_at,
                walk_in,
            )| {
                let waitlist_position = match (r.status.as_str(), r.waitlist_ticket) {
                    (WAITLISTED, Some(t)) => waiting.binary_search(&t).ok().map(|i| i as i64 + 1),
                    _ => None,
                };
                let account_erased = account_erased_at.is_some();
                let erased = account_erased || (erased_at.is_some() && walk_in_name.is_none());
                let phone = if account_erased { None } else { phone };
                RosterEntry {
                    registration_id: r.id,
                    user_id: r.user_id,
                    display_name: name.or(walk_in_name).unwrap_or_default(),
                    phone: phone
                        .or(walk_in_phone)
                        .map(|p| mask(&p))
                        .unwrap_or_default(),
                    party_size: r.party_size,
                    status: r.status,
                    waitlist_position,
                    accessibility_needs,
                    note: r.note,
                    checked_in_at: checked_in_at.map(|t| t.and_utc()),
                    walk_in,
                    erased,
                    created_at: r.created_at.and_utc(),
                }
            },
        )
        .collect())
}

/// The roster as CSV (UTF-8 with a byte-order mark, so spreadsheet programs
/// show the Chinese names correctly).
pub fn to_csv(entries: &[RosterEntry]) -> Result<Vec<u8>, ApiError> {
    csv::file(
        &[
            "display_name",
            "phone",
            "party_size",
            "status",
            "waitlist_position",
            "accessibility_needs",
            "note",
            "checked_in_at",
            "registered_at",
        ],
        entries.iter().map(|e| {
            vec![
                cell(&e.display_name),
                e.phone.clone(),
                e.party_size.to_string(),
                e.status.clone(),
                e.waitlist_position
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                cell(e.accessibility_needs.as_deref().unwrap_or_default()),
                cell(e.note.as_deref().unwrap_or_default()),
                e.checked_in_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                e.created_at.to_rfc3339(),
            ]
        }),
    )
}

/// (account name, walk-in name, account phone, walk-in phone, account erased)
pub type WhoRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
);

/// The columns of a [`WhoRow`], for a read of registrations left-joined to
/// users (a walk-in has no account).
pub type WhoColumns = (
    dsl::Nullable<users::display_name>,
    dsl::Nullable<registrations::walk_in_name>,
    dsl::Nullable<users::phone>,
    dsl::Nullable<registrations::walk_in_phone>,
    dsl::Nullable<users::erased_at>,
);

pub fn who_columns() -> WhoColumns {
    (
        users::display_name.nullable(),
        registrations::walk_in_name.nullable(),
        users::phone.nullable(),
        registrations::walk_in_phone.nullable(),
        users::erased_at.nullable(),
    )
}

/// Who a registration is, as the door phone greets them: the name, and the
/// last four digits of the phone (`None` for an erased person's number).
pub type Who = (String, Option<String>);

/// The `Who` of a registration.
pub fn who(conn: &mut DbConn, registration_id: &str) -> Result<Option<Who>, ApiError> {
    let row: Option<WhoRow> = registrations::table
        .left_join(users::table)
        .filter(registrations::id.eq(registration_id))
        .select(who_columns())
        .first(conn)
        .optional()?;
    Ok(row.map(who_of))
}

/// The `Who` of a [`WhoRow`].
pub fn who_of((name, walk_in_name, phone, walk_in_phone, erased): WhoRow) -> Who {
    greeting(name, walk_in_name, phone, walk_in_phone, erased.is_some())
}

/// The `Who` of an account's or a walk-in's fields ([`who_of`]).
fn greeting(
    name: Option<String>,
    walk_in_name: Option<String>,
    phone: Option<String>,
    walk_in_phone: Option<String>,
    erased: bool,
) -> Who {
    let phone = if erased {
        None
    } else {
        phone.or(walk_in_phone)
    };
    let last4 = phone.map(|p| {
        p.chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    });
    (name.or(walk_in_name).unwrap_or_default(), last4)
}
