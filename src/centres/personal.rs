//! Centres as personal data: the centres a person manages.

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::schema::{centre_managers, centres};
use crate::db::{DbConn, Tx};
use crate::error::ApiError;
use crate::privacy::Personal;

pub struct CentreManagerData;

impl Personal for CentreManagerData {
    fn section(&self) -> &'static str {
        "centres_managed"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["centre_managers"]
    }

    fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError> {
        let rows: Vec<(String, String, chrono::NaiveDateTime)> = centre_managers::table
            .inner_join(centres::table.on(centres::id.eq(centre_managers::centre_id)))
            .filter(centre_managers::user_id.eq(user_id))
            .select((centres::id, centres::name, centre_managers::created_at))
            .load(conn)?;
        Ok(Value::Array(
            rows.into_iter()
                .map(|(id, name, at)| json!({"centre_id": id, "centre_name": name, "since": at.and_utc()}))
                .collect(),
        ))
    }

    fn erase(&self, tx: &mut Tx<'_>, user_id: &str) -> Result<(), ApiError> {
        diesel::delete(centre_managers::table.filter(centre_managers::user_id.eq(user_id)))
            .execute(tx.conn())?;
        Ok(())
    }
}
