//! The `org:{id}` live topic: its staff (members and platform admins) follow
//! sign-ups, cancellations and check-ins as they happen.

use serde_json::{Value, json};

use super::access::{self, Need};
use crate::db::DbConn;
use crate::error::{ApiError, Code};
use crate::live::topics::{TopicPolicy, Viewer};

pub struct OrgTopic;

impl TopicPolicy for OrgTopic {
    fn snapshot(&self, conn: &mut DbConn, viewer: &Viewer, id: &str) -> Result<Value, ApiError> {
        let user = viewer
            .user
            .as_ref()
            .ok_or(ApiError::from(Code::Forbidden))?;
        match access::require(conn, id, user, Need::Staff) {
            Ok(_) => Ok(json!({})),
            Err(ApiError::Problem(Code::NotFound)) => Err(Code::Forbidden.into()),
            Err(e) => Err(e),
        }
    }
}
