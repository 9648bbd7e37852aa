//! Request bodies for creating and changing events, parsed into `EventFields`
//! whose cross-field rules (end after start, sign-up window inside sensible
//! bounds, ages 0–120…) are checked in one place for create and patch alike.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SubsecRound, Weekday};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{CATEGORIES, Event, recurrence};
use crate::error::{ApiError, FieldError, Invalid};
use crate::validate::{int_in, optional_text, present, text};

pub const MAX_CAPACITY: i64 = 10_000;
pub const MAX_PARTY: i64 = 10;
pub const DEFAULT_PARTY: i32 = 2;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEvent {
    #[schema(example = "手指操：老年人健脑课")]
    pub title: String,
    pub description: Option<String>,
    /// `garden`, `health_talk`, `meal_help`, `legal_aid`, `counselling`,
    /// `culture_sports`, `volunteering` or `other`.
    #[schema(example = "health_talk")]
    pub category: String,
    pub centre_id: Option<String>,
    /// Free-text place, when the event is not at a centre (or a room inside it).
    #[schema(example = "二楼活动室")]
    pub location: Option<String>,
    /// RFC 3339, any offset.
    #[schema(example = "2026-12-01T09:30:00+08:00")]
    pub starts_at: String,
    #[schema(example = "2026-12-01T11:00:00+08:00")]
    pub ends_at: String,
    /// 1–10,000 seats.
    #[schema(example = 25)]
    pub capacity: i64,
    /// Default true.
    pub waitlist_enabled: Option<bool>,
    /// People one registration may bring, 1–10 (default 2: a resident and a companion).
    pub max_party_size: Option<i64>,
    pub registration_opens_at: Option<String>,
    /// Default: the start of the event.
    pub registration_closes_at: Option<String>,
    pub min_age: Option<i64>,
    pub max_age: Option<i64>,
    #[schema(example = "无障碍通道，提供助听设备")]
    pub accessibility: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Online check-in opens this many minutes before the start, 0–1440 (default 60).
    pub checkin_opens_minutes: Option<i64>,
    /// A contracted purchased-service project this event delivers (by the
    /// contracted organization, inside its period, at one of its centres).
    pub contract_id: Option<String>,
    /// Makes this a recurring programme: one event per chosen weekday until the date.
    pub repeat: Option<Repeat>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// `mon` … `sun`.
    #[schema(example = json!(["tue", "thu"]))]
    pub weekdays: Vec<String>,
    /// Last date (inclusive), `YYYY-MM-DD`, in the centre's time zone.
    #[schema(example = "2027-01-31")]
    pub until: String,
}

/// Any field of the create body; `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchEvent {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub category: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub centre_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub capacity: Option<i64>,
    pub waitlist_enabled: Option<bool>,
    pub max_party_size: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub registration_opens_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub registration_closes_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub min_age: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub max_age: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub accessibility: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub checkin_opens_minutes: Option<i64>,
    /// `null` unlinks the event from its contract.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub contract_id: Option<Option<String>>,
}

/// Everything an event is made of, parsed and checked.
#[derive(Clone, Debug)]
pub struct EventFields {
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
    pub tags: Vec<String>,
    pub checkin_opens_minutes: i32,
    /// Checked against the contract by `Contracts::check_link`.
    pub contract_id: Option<String>,
}

pub struct RepeatSpec {
    pub weekdays: Vec<Weekday>,
    pub until: NaiveDate,
}

pub fn timestamp(value: &str) -> Result<NaiveDateTime, Invalid> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.naive_utc().trunc_subsecs(6))
        .map_err(|_| Invalid::Timestamp)
}

fn category(value: &str) -> Result<String, Invalid> {
    if CATEGORIES.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(Invalid::OneOf(CATEGORIES))
    }
}

fn tags(values: &[String]) -> Result<Vec<String>, Invalid> {
    if values.len() > 10 {
        return Err(Invalid::OutOfRange { min: 0, max: 10 });
    }
    values.iter().map(|t| text(t, 1, 20)).collect()
}

fn age(value: Option<i64>) -> Result<Option<i32>, Invalid> {
    value.map(|a| int_in(a, 0, 120)).transpose()
}

fn optional_timestamp(value: Option<&str>) -> Result<Option<NaiveDateTime>, Invalid> {
    value.map(timestamp).transpose()
}

/// Collects field errors while parsing.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn take<T>(&mut self, field: &'static str, result: Result<T, Invalid>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(invalid) => {
                self.0.push(FieldError { field, invalid });
                None
            }
        }
    }
}

impl CreateEvent {
    pub fn parse(self) -> Result<(EventFields, Option<RepeatSpec>), ApiError> {
        let mut e = Errors::default();
        let title = e.take("title", text(&self.title, 1, 100));
        let description = e.take(
            "description",
            optional_text(self.description.as_deref(), 5000),
        );
        let category = e.take("category", category(&self.category));
        let location = e.take("location", optional_text(self.location.as_deref(), 200));
        let starts_at = e.take("starts_at", timestamp(&self.starts_at));
        let ends_at = e.take("ends_at", timestamp(&self.ends_at));
        let capacity = e.take("capacity", int_in(self.capacity, 1, MAX_CAPACITY));
        let max_party = e.take(
            "max_party_size",
            self.max_party_size
                .map_or(Ok(DEFAULT_PARTY), |p| int_in(p, 1, MAX_PARTY)),
        );
        let opens = e.take(
            "registration_opens_at",
            optional_timestamp(self.registration_opens_at.as_deref()),
        );
        let closes = e.take(
            "registration_closes_at",
            optional_timestamp(self.registration_closes_at.as_deref()),
        );
        let min_age = e.take("min_age", age(self.min_age));
        let max_age = e.take("max_age", age(self.max_age));
        let accessibility = e.take(
            "accessibility",
            optional_text(self.accessibility.as_deref(), 500),
        );
        let tags = e.take("tags", tags(self.tags.as_deref().unwrap_or_default()));
        let checkin_opens = e.take(
            "checkin_opens_minutes",
            self.checkin_opens_minutes
                .map_or(Ok(60), |m| int_in(m, 0, 1440)),
        );
        let repeat = match self.repeat {
            None => Some(None),
            Some(r) => {
                let weekdays: Option<Vec<Weekday>> = e.take(
                    "repeat.weekdays",
                    if r.weekdays.is_empty() {
                        Err(Invalid::Required)
                    } else {
                        r.weekdays
                            .iter()
                            .map(|d| recurrence::parse_weekday(d))
                            .collect()
                    },
                );
                let until = e.take(
                    "repeat.until",
                    NaiveDate::parse_from_str(r.until.trim(), "%Y-%m-%d")
                        .map_err(|_| Invalid::Date),
                );
                weekdays
                    .zip(until)
                    .map(|(weekdays, until)| Some(RepeatSpec { weekdays, until }))
            }
        };
        let centre_id = self
            .centre_id
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        let (
            Some(title),
            Some(description),
            Some(category),
            Some(location),
            Some(starts_at),
            Some(ends_at),
            Some(capacity),
            Some(max_party_size),
            Some(registration_opens_at),
            Some(registration_closes_at),
            Some(min_age),
            Some(max_age),
            Some(accessibility),
            Some(tags),
            Some(repeat),
            Some(checkin_opens_minutes),
        ) = (
            title,
            description,
            category,
            location,
            starts_at,
            ends_at,
            capacity,
            max_party,
            opens,
            closes,
            min_age,
            max_age,
            accessibility,
            tags,
            repeat,
            checkin_opens,
        )
        else {
            return Err(ApiError::Validation(e.0));
        };
        let fields = EventFields {
            title,
            description,
            category,
            centre_id,
            location,
            starts_at,
            ends_at,
            capacity,
            waitlist_enabled: self.waitlist_enabled.unwrap_or(true),
            max_party_size,
            registration_opens_at,
            registration_closes_at,
            min_age,
            max_age,
            accessibility,
            tags,
            checkin_opens_minutes,
            contract_id: self
                .contract_id
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
        };
        fields.check(true)?;
        Ok((fields, repeat))
    }
}

impl PatchEvent {
    /// The event's fields with this patch applied, checked as a whole.
    pub fn apply(self, event: &Event) -> Result<EventFields, ApiError> {
        let mut f = EventFields::from(event);
        let mut e = Errors::default();
        let times_changed = self.starts_at.is_some() || self.ends_at.is_some();
        if let Some(v) = self.title {
            f.title = e.take("title", text(&v, 1, 100)).unwrap_or_default();
        }
        if let Some(v) = self.description {
            f.description = e
                .take("description", optional_text(v.as_deref(), 5000))
                .flatten();
        }
        if let Some(v) = self.category {
            f.category = e.take("category", category(&v)).unwrap_or_default();
        }
        if let Some(v) = self.centre_id {
            f.centre_id = v.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        }
        if let Some(v) = self.location {
            f.location = e
                .take("location", optional_text(v.as_deref(), 200))
                .flatten();
        }
        if let Some(v) = self.starts_at {
            f.starts_at = e.take("starts_at", timestamp(&v)).unwrap_or(f.starts_at);
        }
        if let Some(v) = self.ends_at {
            f.ends_at = e.take("ends_at", timestamp(&v)).unwrap_or(f.ends_at);
        }
        if let Some(v) = self.capacity {
            f.capacity = e
                .take("capacity", int_in(v, 1, MAX_CAPACITY))
                .unwrap_or(f.capacity);
        }
        if let Some(v) = self.waitlist_enabled {
            f.waitlist_enabled = v;
        }
        if let Some(v) = self.max_party_size {
            f.max_party_size = e
                .take("max_party_size", int_in(v, 1, MAX_PARTY))
                .unwrap_or(f.max_party_size);
        }
        if let Some(v) = self.registration_opens_at {
            f.registration_opens_at = e
                .take("registration_opens_at", optional_timestamp(v.as_deref()))
                .flatten();
        }
        if let Some(v) = self.registration_closes_at {
            f.registration_closes_at = e
                .take("registration_closes_at", optional_timestamp(v.as_deref()))
                .flatten();
        }
        if let Some(v) = self.min_age {
            f.min_age = e.take("min_age", age(v)).flatten();
        }
        if let Some(v) = self.max_age {
            f.max_age = e.take("max_age", age(v)).flatten();
        }
        if let Some(v) = self.accessibility {
            f.accessibility = e
                .take("accessibility", optional_text(v.as_deref(), 500))
                .flatten();
        }
        if let Some(v) = self.tags {
            f.tags = e.take("tags", tags(&v)).unwrap_or_default();
        }
        if let Some(v) = self.checkin_opens_minutes {
            f.checkin_opens_minutes = e
                .take("checkin_opens_minutes", int_in(v, 0, 1440))
                .unwrap_or(f.checkin_opens_minutes);
        }
        if let Some(v) = self.contract_id {
            f.contract_id = v.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        }
        if !e.0.is_empty() {
            return Err(ApiError::Validation(e.0));
        }
        f.check(times_changed)?;
        Ok(f)
    }
}

impl From<&Event> for EventFields {
    fn from(e: &Event) -> Self {
        EventFields {
            title: e.title.clone(),
            description: e.description.clone(),
            category: e.category.clone(),
            centre_id: e.centre_id.clone(),
            location: e.location.clone(),
            starts_at: e.starts_at,
            ends_at: e.ends_at,
            capacity: e.capacity,
            waitlist_enabled: e.waitlist_enabled,
            max_party_size: e.max_party_size,
            registration_opens_at: e.registration_opens_at,
            registration_closes_at: e.registration_closes_at,
            min_age: e.min_age,
            max_age: e.max_age,
            accessibility: e.accessibility.clone(),
            tags: serde_json::from_str(&e.tags).unwrap_or_default(),
            checkin_opens_minutes: e.checkin_opens_minutes,
            contract_id: e.contract_id.clone(),
        }
    }
}

impl EventFields {
    /// Fields with every optional part at its default (waitlist on, parties of
    /// two, check-in an hour before): for seeding demo and benchmark data.
    pub fn basic(
        title: &str,
        category: &str,
        location: &str,
        starts_at: NaiveDateTime,
        ends_at: NaiveDateTime,
        capacity: i32,
    ) -> EventFields {
        EventFields {
            title: title.to_owned(),
            description: None,
            category: category.to_owned(),
            centre_id: None,
            location: Some(location.to_owned()),
            starts_at,
            ends_at,
            capacity,
            waitlist_enabled: true,
            max_party_size: DEFAULT_PARTY,
            registration_opens_at: None,
            registration_closes_at: None,
            min_age: None,
            max_age: None,
            accessibility: None,
            tags: Vec::new(),
            checkin_opens_minutes: 60,
            contract_id: None,
        }
    }

    /// The rules that span fields. `new_times`: the start must not be in the past.
    pub fn check(&self, new_times: bool) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        let mut bad = |field, invalid| errors.push(FieldError { field, invalid });
        let now = crate::db::now();
        if new_times && self.starts_at < now - Duration::minutes(5) {
            bad("starts_at", Invalid::InPast);
        }
        if self.starts_at > now + Duration::days(2 * 366) {
            bad("starts_at", Invalid::TooFarAhead);
        }
        if self.ends_at <= self.starts_at {
            bad("ends_at", Invalid::NotAfter("starts_at"));
        } else if self.ends_at - self.starts_at > Duration::days(7) {
            bad("ends_at", Invalid::TooFarAhead);
        }
        if self.centre_id.is_none() && self.location.is_none() {
            bad("location", Invalid::OneRequired("centre_id"));
        }
        if let Some(opens) = self.registration_opens_at {
            if opens >= self.starts_at {
                bad("registration_opens_at", Invalid::NotBefore("starts_at"));
            }
            if self
                .registration_closes_at
                .is_some_and(|closes| closes <= opens)
            {
                bad(
                    "registration_closes_at",
                    Invalid::NotAfter("registration_opens_at"),
                );
            }
        }
        if self
            .registration_closes_at
            .is_some_and(|closes| closes > self.ends_at)
        {
            bad("registration_closes_at", Invalid::NotBefore("ends_at"));
        }
        if let (Some(min), Some(max)) = (self.min_age, self.max_age) {
            if min > max {
                bad("max_age", Invalid::NotAfter("min_age"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    pub fn tags_json(&self) -> String {
        serde_json::to_string(&self.tags).unwrap_or_else(|_| "[]".into())
    }
}
