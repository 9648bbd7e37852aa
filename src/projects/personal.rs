//! Buyers' side as personal data: the buyers a person works for and the
//! projects they evaluate. Erasing removes those roles; the scores and
//! evaluations they gave stay as work done for the buyer, naming the erased
//! account.

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::schema::{buyer_members, buyers, project_evaluators, projects};
use crate::db::{DbConn, Tx};
use crate::error::ApiError;
use crate::privacy::Personal;

pub struct BuyerRoleData;

impl Personal for BuyerRoleData {
    fn section(&self) -> &'static str {
        "buyer_roles"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["buyer_members", "project_evaluators"]
    }

    fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError> {
        let staff: Vec<(String, String, chrono::NaiveDateTime)> = buyer_members::table
            .inner_join(buyers::table)
            .filter(buyer_members::user_id.eq(user_id))
            .select((buyers::id, buyers::name, buyer_members::created_at))
            .load(conn)?;
        let evaluating: Vec<(String, String, chrono::NaiveDateTime)> = project_evaluators::table
            .inner_join(projects::table.on(projects::id.eq(project_evaluators::project_id)))
            .filter(project_evaluators::user_id.eq(user_id))
            .select((
                projects::id,
                projects::title,
                project_evaluators::created_at,
            ))
            .load(conn)?;
        Ok(json!({
            "buyer_staff": staff.into_iter().map(|(id, name, at)| json!({"buyer_id": id, "buyer_name": name, "since": at.and_utc()})).collect::<Vec<_>>(),
            "evaluator_of": evaluating.into_iter().map(|(id, title, at)| json!({"project_id": id, "project_title": title, "since": at.and_utc()})).collect::<Vec<_>>(),
        }))
    }

    fn erase(&self, tx: &mut Tx<'_>, user_id: &str) -> Result<(), ApiError> {
        diesel::delete(buyer_members::table.filter(buyer_members::user_id.eq(user_id)))
            .execute(tx.conn())?;
        diesel::delete(project_evaluators::table.filter(project_evaluators::user_id.eq(user_id)))
            .execute(tx.conn())?;
        Ok(())
    }
}
