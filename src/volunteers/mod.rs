//! Volunteers and their service hours, recorded the way the Ministry of Civil
//! Affairs' rules (民政部令第67号) require: true, complete, free of charge, and
//! certified by whoever recorded them. A resident opts in and gets a
//! `volunteer_no` (no identity-card number is kept); organizations open shifts
//! on their events; volunteers apply; staff sign them in and out at the door;
//! the pairs become one hours record per volunteer, shift and day. Back-filled
//! records need a second manager's verification; only verified hours count.

pub mod certificates;
pub mod door;
pub mod personal;
pub mod profile;
pub mod queries;
pub mod records;
pub mod routes;
pub mod shifts;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{self, shift_applications, volunteer_hours, volunteers};

pub const PENDING: &str = "pending";
pub const APPROVED: &str = "approved";
pub const REJECTED: &str = "rejected";

/// The `typ` of a volunteer's signed door code.
pub const CODE_TYP: &str = "volunteer";

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = volunteers)]
pub struct Volunteer {
    pub user_id: String,
    pub volunteer_no: String,
    /// A JSON array of short texts.
    pub skills: String,
    pub availability: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Volunteer {
    pub fn skills(&self) -> Vec<String> {
        serde_json::from_str(&self.skills).unwrap_or_default()
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::shifts)]
pub struct Shift {
    pub id: String,
    pub event_id: String,
    pub organization_id: String,
    pub role: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub slots: i32,
    /// Approved applications: they fill the slots.
    pub approved: i32,
    pub served_group: String,
    pub content: String,
    pub auto_approve: bool,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ShiftView {
    pub id: String,
    pub event_id: String,
    #[schema(example = "签到引导")]
    pub role: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub slots: i32,
    pub approved: i32,
    pub slots_left: i32,
    #[schema(example = "独居老人")]
    pub served_group: String,
    #[schema(example = "为独居老人送餐")]
    pub content: String,
    pub auto_approve: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Shift> for ShiftView {
    fn from(s: Shift) -> Self {
        ShiftView {
            slots_left: (s.slots - s.approved).max(0),
            id: s.id,
            event_id: s.event_id,
            role: s.role,
            starts_at: s.starts_at.and_utc(),
            ends_at: s.ends_at.and_utc(),
            slots: s.slots,
            approved: s.approved,
            served_group: s.served_group,
            content: s.content,
            auto_approve: s.auto_approve,
            created_at: s.created_at.and_utc(),
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = shift_applications)]
pub struct Application {
    pub id: String,
    pub shift_id: String,
    pub user_id: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ApplicationView {
    pub id: String,
    pub shift_id: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub volunteer_no: String,
    pub display_name: String,
    pub skills: Vec<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = volunteer_hours)]
pub struct HoursRecord {
    pub id: String,
    pub shift_id: String,
    pub organization_id: String,
    pub user_id: String,
    /// The local date of the service.
    pub day: NaiveDate,
    /// Hours in tenths (rounded down), so sums are exact.
    pub tenths: i32,
    pub backfilled: bool,
    pub reason: Option<String>,
    pub in_at: Option<NaiveDateTime>,
    pub out_at: Option<NaiveDateTime>,
    pub recorded_by: String,
    pub verified_by: Option<String>,
    pub verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// An hours record as the organization sees it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct HoursView {
    pub id: String,
    pub shift_id: String,
    pub volunteer_no: String,
    pub day: NaiveDate,
    /// Hours, to 0.1 h.
    #[schema(example = 2.5)]
    pub hours: f64,
    pub backfilled: bool,
    pub reason: Option<String>,
    pub verified: bool,
    pub recorded_by: String,
    pub verified_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl HoursView {
    pub fn new(r: HoursRecord, volunteer_no: String) -> HoursView {
        HoursView {
            id: r.id,
            shift_id: r.shift_id,
            volunteer_no,
            day: r.day,
            hours: hours(i64::from(r.tenths)),
            backfilled: r.backfilled,
            reason: r.reason,
            verified: r.verified_at.is_some(),
            recorded_by: r.recorded_by,
            verified_by: r.verified_by,
            created_at: r.created_at.and_utc(),
        }
    }
}

/// Tenths of an hour as the number the API shows (`27` → `2.7`).
pub fn hours(tenths: i64) -> f64 {
    tenths as f64 / 10.0
}

/// Tenths of an hour as text for files and pages (`27` → `"2.7"`).
pub fn hours_text(tenths: i64) -> String {
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// The hours of in/out pairs: each pair clipped to the shift, the clipped
/// times summed, and the sum rounded down to 0.1 h at the end.
pub fn tenths_of(
    pairs: &[(NaiveDateTime, NaiveDateTime)],
    shift: (NaiveDateTime, NaiveDateTime),
) -> i32 {
    let seconds: i64 = pairs
        .iter()
        .map(|(start, end)| {
            let start = (*start).max(shift.0);
            let end = (*end).min(shift.1);
            (end - start).num_seconds().max(0)
        })
        .sum();
    i32::try_from(seconds / 360).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 22)
            .and_then(|d| d.and_hms_opt(h, m, 0))
            .unwrap_or_default()
    }

    #[test]
    fn pairs_are_clipped_to_the_shift_and_rounded_down_once_at_the_end() {
        let shift = (at(9, 0), at(12, 0));
        // 08:30–09:40 counts 40 min; 10:00–10:05 counts 5 min; 11:50–13:00 counts 10 min.
        let pairs = [
            (at(8, 30), at(9, 40)),
            (at(10, 0), at(10, 5)),
            (at(11, 50), at(13, 0)),
        ];
        // 55 minutes = 0.9166 h → 0.9 (rounding each pair first would give 0.6 + 0.0 + 0.1 = 0.7).
        assert_eq!(tenths_of(&pairs, shift), 9);
        assert_eq!(tenths_of(&[(at(7, 0), at(8, 0))], shift), 0);
        assert_eq!(tenths_of(&[(at(9, 0), at(12, 0))], shift), 30);
        assert_eq!(hours_text(27), "2.7");
        assert_eq!(hours_text(5), "0.5");
    }
}
