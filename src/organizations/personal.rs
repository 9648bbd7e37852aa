//! Organizations as personal data: a person's memberships (erased with the
//! account, refused while they are an organization's only owner) and the
//! rosters they read (kept for the organization's accountability: the entry
//! stays, naming the erased account).

use diesel::prelude::*;
use serde_json::{Value, json};

use super::access_log;
use crate::db::schema::{memberships, organizations};
use crate::db::{DbConn, Tx};
use crate::error::{ApiError, Code};
use crate::privacy::Personal;

pub struct MembershipData;

impl Personal for MembershipData {
    fn section(&self) -> &'static str {
        "memberships"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["memberships"]
    }

    fn refuse_erasure(&self, conn: &mut DbConn, user_id: &str) -> Result<(), ApiError> {
        // Two co-owners deleting their accounts at once must not both pass
        // the count: PostgreSQL holds the owners' rows until commit (SQLite's
        // `BEGIN IMMEDIATE` already serializes writers).
        let owned: Vec<String> = memberships::table
            .filter(memberships::user_id.eq(user_id))
            .filter(memberships::role.eq("owner"))
            .select(memberships::organization_id)
            .load(conn)?;
        if let DbConn::Pg(c) = conn {
            memberships::table
                .filter(memberships::organization_id.eq_any(&owned))
                .filter(memberships::role.eq("owner"))
                .select(memberships::user_id)
                .for_update()
                .load::<String>(c)?;
        }
        for org in owned {
            let owners: i64 = memberships::table
                .filter(memberships::organization_id.eq(&org))
                .filter(memberships::role.eq("owner"))
                .count()
                .get_result(conn)?;
            if owners <= 1 {
                return Err(Code::SoleOwner.into());
            }
        }
        Ok(())
    }

    fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError> {
        let rows: Vec<(String, String, String, chrono::NaiveDateTime)> = memberships::table
            .inner_join(organizations::table)
            .filter(memberships::user_id.eq(user_id))
            .order(memberships::created_at)
            .select((
                memberships::organization_id,
                organizations::name,
                memberships::role,
                memberships::created_at,
            ))
            .load(conn)?;
        Ok(Value::Array(
            rows.into_iter()
                .map(|(id, name, role, at)| {
                    json!({"organization_id": id, "organization_name": name, "role": role, "since": at.and_utc()})
                })
                .collect(),
        ))
    }

    fn erase(&self, tx: &mut Tx<'_>, user_id: &str) -> Result<(), ApiError> {
        diesel::delete(memberships::table.filter(memberships::user_id.eq(user_id)))
            .execute(tx.conn())?;
        Ok(())
    }
}

pub struct RosterReadData;

impl Personal for RosterReadData {
    fn section(&self) -> &'static str {
        "roster_reads"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["access_log"]
    }

    fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError> {
        serde_json::to_value(access_log::by_actor(conn, user_id)?)
            .map_err(|e| ApiError::internal(e.to_string()))
    }

    /// Kept: the organization must still be able to tell who read its
    /// rosters; the entries name the erased account (已注销).
    fn erase(&self, _tx: &mut Tx<'_>, _user_id: &str) -> Result<(), ApiError> {
        Ok(())
    }
}
