//! The memberships section of `/me`: every organization the user belongs to.

use super::queries::memberships_of;
use crate::accounts::{ProfileSection, UserView};
use crate::db::DbConn;
use crate::error::ApiError;

/// Fills `memberships`; registered with the accounts' profile in `app`.
pub struct Memberships;

impl ProfileSection for Memberships {
    fn fill(&self, conn: &mut DbConn, user_id: &str, view: &mut UserView) -> Result<(), ApiError> {
        view.memberships = memberships_of(conn, user_id)?;
        Ok(())
    }
}
