//! Events: an organization's activities, from draft to published to cancelled or
//! completed, at a centre or a free-text place, one-off or recurring. Seat
//! counters live on the event row (see `registrations` for who holds them).

pub mod access;
pub mod input;
pub mod live;
pub mod page_cache;
pub mod queries;
pub mod recurrence;
pub mod routes;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::events;
use crate::db::{DbConn, Tx};
use crate::error::ApiError;

/// What events need from the owner of seats (`registrations::seats`) without
/// importing it: implemented there and registered by `app` as
/// `web::Data<dyn Seats>`.
pub trait Seats: Send + Sync + 'static {
    /// The capacity was raised: give the new seats to the waitlist.
    fn capacity_raised(&self, tx: &mut Tx<'_>, event_id: &str) -> Result<(), ApiError>;
    /// The event is being cancelled: cancel every registration and free every
    /// seat; returns the residents who were registered.
    fn event_cancelled(
        &self,
        tx: &mut Tx<'_>,
        event_id: &str,
        actor_id: &str,
    ) -> Result<Vec<String>, ApiError>;
}

/// What events need from purchased-service projects (`projects`) without
/// importing them: implemented there and registered by `app` as
/// `web::Data<dyn Contracts>`.
pub trait Contracts: Send + Sync + 'static {
    /// Whether an event of `organization_id` with these fields may be linked to
    /// contract `contract_id` (the contracted organization, inside the period,
    /// at one of its centres, while delivery runs); else `422
    /// validation_failed` on `contract_id`.
    fn check_link(
        &self,
        conn: &mut DbConn,
        contract_id: &str,
        organization_id: &str,
        fields: &input::EventFields,
    ) -> Result<(), ApiError>;
    /// Whether `user_id` oversees contract `contract_id` (its buyer's staff or
    /// one of its evaluators), and so reads its events' feedback.
    fn oversees(
        &self,
        conn: &mut DbConn,
        contract_id: &str,
        user_id: &str,
    ) -> Result<bool, ApiError>;
}

pub const CATEGORIES: &[&str] = &[
    "garden",
    "health_talk",
    "meal_help",
    "legal_aid",
    "counselling",
    "culture_sports",
    "volunteering",
    "other",
];

/// Categories whose rosters reveal health, family or legal circumstances
/// (sensitive personal information, PIPL Art. 28): signing up needs separate
/// consent, and the roster is erased after the retention period.
pub const SENSITIVE_CATEGORIES: &[&str] = &["counselling", "health_talk", "legal_aid", "meal_help"];

pub const DRAFT: &str = "draft";
pub const PUBLISHED: &str = "published";
pub const CANCELLED: &str = "cancelled";
pub const COMPLETED: &str = "completed";

/// An event's check-in count as a column of any query that reads `events`
/// (an event without a tally row has none checked in).
pub const CHECKED_IN: &str = "COALESCE((SELECT event_tallies.checked_in FROM event_tallies \
     WHERE event_tallies.event_id = events.id), 0)";

/// [`CHECKED_IN`] as an expression of its own type. Not `diesel::dsl::sql`:
/// diesel never caches a prepared statement that holds a literal (it cannot
/// know the text is fixed), and every query that reads an [`Event`] would be
/// parsed and planned afresh each time. A fixed type is cached like any
/// column.
#[derive(
    Clone, Copy, Debug, Default, diesel::query_builder::QueryId, diesel::expression::ValidGrouping,
)]
pub struct CheckedIn;

impl diesel::Expression for CheckedIn {
    type SqlType = diesel::sql_types::Integer;
}

impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for CheckedIn {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        out.push_sql(CHECKED_IN);
        Ok(())
    }
}

/// Readable wherever `events` is (the subquery names `events.id`).
impl<QS> diesel::AppearsOnTable<QS> for CheckedIn {}
impl<QS> diesel::SelectableExpression<QS> for CheckedIn {}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: String,
    pub organization_id: String,
    pub series_id: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub category: String,
    pub centre_id: Option<String>,
    pub location: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub capacity: i32,
    pub waitlist_enabled: bool,
    pub max_party_size: i32,
    pub registration_opens_at: Option<NaiveDateTime>,
    pub registration_closes_at: Option<NaiveDateTime>,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    pub accessibility: Option<String>,
    pub tags: String,
    pub status: String,
    pub cancel_reason: Option<String>,
    pub confirmed_seats: i32,
    pub waitlist_seats: i32,
    /// People checked in, kept on a row of their own (`event_tallies`, changed
    /// by `checkin::record::count_in`) and read with the event.
    #[diesel(skip_insertion)]
    #[diesel(select_expression = CheckedIn)]
    #[diesel(select_expression_type = CheckedIn)]
    pub checked_in_count: i32,
    pub waitlist_seq: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Check-in opens this many minutes before the start and closes at the end.
    pub checkin_opens_minutes: i32,
    /// The purchased-service project (once contracted) this event delivers.
    pub contract_id: Option<String>,
}

impl Event {
    /// Whether taking part reveals sensitive personal information.
    pub fn is_sensitive(&self) -> bool {
        SENSITIVE_CATEGORIES.contains(&self.category.as_str())
    }

    /// A new draft of `f` for an organization.
    pub fn draft(
        org_id: &str,
        user_id: &str,
        f: &input::EventFields,
        series_id: Option<String>,
    ) -> Event {
        let now = crate::db::now();
        Event {
            id: uuid::Uuid::new_v4().to_string(),
            organization_id: org_id.to_owned(),
            series_id,
            title: f.title.clone(),
            description: f.description.clone(),
            category: f.category.clone(),
            centre_id: f.centre_id.clone(),
            location: f.location.clone(),
            starts_at: f.starts_at,
            ends_at: f.ends_at,
            capacity: f.capacity,
            waitlist_enabled: f.waitlist_enabled,
            max_party_size: f.max_party_size,
            registration_opens_at: f.registration_opens_at,
            registration_closes_at: f.registration_closes_at,
            min_age: f.min_age,
            max_age: f.max_age,
            accessibility: f.accessibility.clone(),
            tags: f.tags_json(),
            status: DRAFT.into(),
            cancel_reason: None,
            confirmed_seats: 0,
            waitlist_seats: 0,
            checked_in_count: 0,
            waitlist_seq: 0,
            created_by: user_id.to_owned(),
            created_at: now,
            updated_at: now,
            checkin_opens_minutes: f.checkin_opens_minutes,
            contract_id: f.contract_id.clone(),
        }
    }

    /// The status shown to clients: a published event whose end has passed is
    /// `completed`.
    pub fn status_at(&self, now: NaiveDateTime) -> &str {
        if self.status == PUBLISHED && self.ends_at <= now {
            COMPLETED
        } else {
            &self.status
        }
    }

    pub fn seats_left(&self) -> i32 {
        (self.capacity - self.confirmed_seats).max(0)
    }

    /// When sign-ups close: the configured moment, else the start.
    pub fn closes_at(&self) -> NaiveDateTime {
        self.registration_closes_at.unwrap_or(self.starts_at)
    }
}

/// An event as every client sees it, with its live counts.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    pub id: String,
    pub organization_id: String,
    pub organization_name: String,
    /// Shared by the occurrences of a recurring programme.
    pub series_id: Option<String>,
    #[schema(example = "手指操：老年人健脑课")]
    pub title: String,
    pub description: Option<String>,
    #[schema(example = "health_talk")]
    pub category: String,
    pub centre_id: Option<String>,
    pub location: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
    pub waitlist_enabled: bool,
    pub max_party_size: i32,
    pub registration_opens_at: Option<DateTime<Utc>>,
    pub registration_closes_at: Option<DateTime<Utc>>,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    pub accessibility: Option<String>,
    pub tags: Vec<String>,
    /// `draft`, `published`, `cancelled` or `completed`.
    #[schema(example = "published")]
    pub status: String,
    pub cancel_reason: Option<String>,
    /// Seats not yet held by confirmed registrations or walk-ins.
    pub seats_left: i32,
    /// People (party members included) holding confirmed seats.
    pub confirmed_count: i32,
    /// People (party members included) on the waitlist.
    pub waitlist_count: i32,
    pub checked_in_count: i32,
    /// Online check-in opens this many minutes before the start (default 60).
    pub checkin_opens_minutes: i32,
    /// The purchased-service project this event delivers, if any.
    pub contract_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EventView {
    pub fn new(event: Event, organization_name: String, now: NaiveDateTime) -> EventView {
        let status = event.status_at(now).to_owned();
        let seats_left = event.seats_left();
        EventView {
            tags: serde_json::from_str(&event.tags).unwrap_or_default(),
            id: event.id,
            organization_id: event.organization_id,
            organization_name,
            series_id: event.series_id,
            title: event.title,
            description: event.description,
            category: event.category,
            centre_id: event.centre_id,
            location: event.location,
            starts_at: event.starts_at.and_utc(),
            ends_at: event.ends_at.and_utc(),
            capacity: event.capacity,
            waitlist_enabled: event.waitlist_enabled,
            max_party_size: event.max_party_size,
            registration_opens_at: event.registration_opens_at.map(|t| t.and_utc()),
            registration_closes_at: event.registration_closes_at.map(|t| t.and_utc()),
            min_age: event.min_age,
            max_age: event.max_age,
            accessibility: event.accessibility,
            status,
            cancel_reason: event.cancel_reason,
            seats_left,
            confirmed_count: event.confirmed_seats,
            waitlist_count: event.waitlist_seats,
            checked_in_count: event.checked_in_count,
            checkin_opens_minutes: event.checkin_opens_minutes,
            contract_id: event.contract_id,
            created_at: event.created_at.and_utc(),
            updated_at: event.updated_at.and_utc(),
        }
    }
}
