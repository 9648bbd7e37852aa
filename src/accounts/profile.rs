//! The signed-in user as `GET /me` and the auth answers show them: the `users`
//! row plus sections that other features fill in (an organization's
//! memberships, …). Features implement [`ProfileSection`]; `app` registers them
//! in a [`Profile`] passed as app data, so accounts never imports them.

use std::sync::Arc;

use super::{UserView, queries};
use crate::db::DbConn;
use crate::error::ApiError;

/// One part of the profile that another feature owns.
pub trait ProfileSection: Send + Sync {
    /// Fills this section of `view`, the profile of `user_id`.
    fn fill(&self, conn: &mut DbConn, user_id: &str, view: &mut UserView) -> Result<(), ApiError>;
}

/// Every registered section, in order of registration.
#[derive(Clone, Default)]
pub struct Profile {
    sections: Vec<Arc<dyn ProfileSection>>,
}

impl Profile {
    pub fn new() -> Profile {
        Profile::default()
    }

    /// Adds a section, filled after those already registered.
    pub fn with(mut self, section: impl ProfileSection + 'static) -> Profile {
        self.sections.push(Arc::new(section));
        self
    }

    /// The user with every section filled in.
    pub fn view(&self, conn: &mut DbConn, user_id: &str) -> Result<UserView, ApiError> {
        let mut view = UserView::new(queries::find(conn, user_id)?);
        for section in &self.sections {
            section.fill(conn, user_id, &mut view)?;
        }
        Ok(view)
    }
}
