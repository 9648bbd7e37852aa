//! Volunteering as personal data: the volunteer profile, applications, door
//! sign-ins, hours and certificates. Erasing clears the profile's skills and
//! availability, gives up places on shifts still ahead (recorded as rejected
//! by the person themselves), drops a sign-in never signed out, and renames the
//! person on their certificates to 已注销; hours stay (an organization's
//! service figures) and certificates stay verifiable.

use diesel::prelude::*;
use serde_json::{Value, json};

use super::{APPROVED, PENDING, REJECTED, queries};
use crate::accounts::personal::ERASED_NAME;
use crate::db::schema::{
    shift_applications, shifts, volunteer_certificates, volunteer_hours, volunteer_sessions,
    volunteers,
};
use crate::db::{self, DbConn, Tx};
use crate::error::ApiError;
use crate::privacy::Personal;

pub struct VolunteerData;

type Time = chrono::NaiveDateTime;

#[derive(Queryable, Selectable)]
#[diesel(table_name = volunteer_hours)]
struct Hours {
    id: String,
    shift_id: String,
    organization_id: String,
    day: chrono::NaiveDate,
    tenths: i32,
    backfilled: bool,
    reason: Option<String>,
    in_at: Option<Time>,
    out_at: Option<Time>,
    recorded_by: String,
    verified_by: Option<String>,
    verified_at: Option<Time>,
}

impl Personal for VolunteerData {
    fn section(&self) -> &'static str {
        "volunteer"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "volunteers",
            "shift_applications",
            "volunteer_sessions",
            "volunteer_hours",
            "volunteer_certificates",
        ]
    }

    fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError> {
        let profile: Option<(String, String, Option<String>, Time)> = volunteers::table
            .find(user_id)
            .select((
                volunteers::volunteer_no,
                volunteers::skills,
                volunteers::availability,
                volunteers::created_at,
            ))
            .first(conn)
            .optional()?;
        let applications: Vec<(String, String, String, Time)> = shift_applications::table
            .filter(shift_applications::user_id.eq(user_id))
            .order(shift_applications::created_at)
            .select((
                shift_applications::id,
                shift_applications::shift_id,
                shift_applications::status,
                shift_applications::created_at,
            ))
            .load(conn)?;
        let door: Vec<(String, Time, Option<Time>)> = volunteer_sessions::table
            .filter(volunteer_sessions::user_id.eq(user_id))
            .order(volunteer_sessions::in_at)
            .select((
                volunteer_sessions::shift_id,
                volunteer_sessions::in_at,
                volunteer_sessions::out_at,
            ))
            .load(conn)?;
        let hours: Vec<Hours> = volunteer_hours::table
            .filter(volunteer_hours::user_id.eq(user_id))
            .order(volunteer_hours::day)
            .select(Hours::as_select())
            .load(conn)?;
        let certificates: Vec<(String, String, Time)> = volunteer_certificates::table
            .filter(volunteer_certificates::user_id.eq(user_id))
            .order(volunteer_certificates::issued_at)
            .select((
                volunteer_certificates::certificate_no,
                volunteer_certificates::body,
                volunteer_certificates::issued_at,
            ))
            .load(conn)?;
        Ok(json!({
            "profile": profile.map(|(no, skills, availability, at)| json!({
                "volunteer_no": no,
                "skills": serde_json::from_str::<Value>(&skills).unwrap_or(Value::Null),
                "availability": availability,
                "since": at.and_utc(),
            })),
            "applications": applications.into_iter().map(|(id, shift, status, at)| json!({
                "id": id, "shift_id": shift, "status": status, "created_at": at.and_utc(),
            })).collect::<Vec<_>>(),
            "sign_ins": door.into_iter().map(|(shift, i, o)| json!({
                "shift_id": shift, "in_at": i.and_utc(), "out_at": o.map(|t| t.and_utc()),
            })).collect::<Vec<_>>(),
            "hours": hours.into_iter().map(|h| json!({
                "id": h.id, "shift_id": h.shift_id, "organization_id": h.organization_id,
                "day": h.day, "hours": f64::from(h.tenths) / 10.0,
                "in_at": h.in_at.map(|t| t.and_utc()), "out_at": h.out_at.map(|t| t.and_utc()),
                "backfilled": h.backfilled, "reason": h.reason,
                "recorded_by": h.recorded_by, "verified_by": h.verified_by,
                "verified_at": h.verified_at.map(|t| t.and_utc()),
            })).collect::<Vec<_>>(),
            "certificates": certificates.into_iter().map(|(no, body, at)| json!({
                "certificate_no": no, "issued_at": at.and_utc(),
                "certificate": serde_json::from_str::<Value>(&body).unwrap_or(Value::Null),
            })).collect::<Vec<_>>(),
        }))
    }

    fn erase(&self, tx: &mut Tx<'_>, user_id: &str) -> Result<(), ApiError> {
        // Places on shifts still ahead are given up (an approved one frees
        // its slot), and a sign-in never signed out is dropped (no hours).
        let now = db::now();
        let ahead: Vec<(String, String, String)> = shift_applications::table
            .inner_join(shifts::table)
            .filter(shift_applications::user_id.eq(user_id))
            .filter(shift_applications::status.eq_any([PENDING, APPROVED]))
            .filter(shifts::starts_at.gt(now))
            .select((
                shift_applications::id,
                shift_applications::shift_id,
                shift_applications::status,
            ))
            .load(tx.conn())?;
        for (application, shift, status) in ahead {
            queries::lock_shift(tx, &shift)?;
            if status == APPROVED {
                queries::add_approved(tx, &shift, -1)?;
            }
            queries::decide(tx, &application, REJECTED, user_id, now)?;
        }
        diesel::delete(
            volunteer_sessions::table
                .filter(volunteer_sessions::user_id.eq(user_id))
                .filter(volunteer_sessions::out_at.is_null()),
        )
        .execute(tx.conn())?;
        diesel::update(volunteers::table.find(user_id))
            .set((
                volunteers::skills.eq("[]"),
                volunteers::availability.eq(None::<String>),
            ))
            .execute(tx.conn())?;
        let issued: Vec<(String, String)> = volunteer_certificates::table
            .filter(volunteer_certificates::user_id.eq(user_id))
            .select((
                volunteer_certificates::certificate_no,
                volunteer_certificates::body,
            ))
            .load(tx.conn())?;
        for (no, body) in issued {
            let mut body: Value = serde_json::from_str(&body)
                .map_err(|e| ApiError::internal(format!("certificate {no}: {e}")))?;
            if let Some(volunteer) = body.get_mut("volunteer").and_then(Value::as_object_mut) {
                volunteer.insert("name".into(), Value::String(ERASED_NAME.into()));
            }
            diesel::update(volunteer_certificates::table.find(&no))
                .set(volunteer_certificates::body.eq(body.to_string()))
                .execute(tx.conn())?;
        }
        Ok(())
    }
}
