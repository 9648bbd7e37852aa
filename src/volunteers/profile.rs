//! The volunteer section of `/me`: the caller's volunteer profile, if any.

use super::queries;
use crate::accounts::{ProfileSection, UserView, VolunteerSummary};
use crate::db::DbConn;
use crate::error::ApiError;

/// Fills `volunteer`; registered with the accounts' profile in `app`.
pub struct VolunteerProfile;

impl ProfileSection for VolunteerProfile {
    fn fill(&self, conn: &mut DbConn, user_id: &str, view: &mut UserView) -> Result<(), ApiError> {
        view.volunteer = queries::volunteer(conn, user_id)?.map(|v| VolunteerSummary {
            skills: v.skills(),
            volunteer_no: v.volunteer_no,
            availability: v.availability,
        });
        Ok(())
    }
}
