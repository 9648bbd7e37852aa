//! The projects' section of `/me`: the buyers the user staffs and the
//! projects they evaluate.

use super::queries;
use crate::accounts::{BuyerMembership, ProfileSection, UserView};
use crate::db::DbConn;
use crate::error::ApiError;

/// Fills `buyers` and `evaluator_projects`; registered in `app`.
pub struct ProjectRoles;

impl ProfileSection for ProjectRoles {
    fn fill(&self, conn: &mut DbConn, user_id: &str, view: &mut UserView) -> Result<(), ApiError> {
        view.buyers = queries::buyers_of(conn, user_id)?
            .into_iter()
            .map(|(buyer_id, buyer_name)| BuyerMembership {
                buyer_id,
                buyer_name,
            })
            .collect();
        view.evaluator_projects = queries::evaluator_projects(conn, user_id)?;
        Ok(())
    }
}
