//! Who may see or act on a registration: its resident, and the event's
//! organization (members and platform admins) under the event-access rule.
//! Anyone else gets `404`: a registration is nobody else's business.

use super::{Registration, queries};
use crate::auth::CurrentUser;
use crate::db::DbConn;
use crate::error::{ApiError, Code};
use crate::events::access::{self as event_access, Need};

/// Loads a registration for `need`. Its resident and the event's
/// organization (members, admins) may see it; anyone else gets `404`. Beyond
/// its resident, the action needs `need` in the organization (`403` otherwise).
pub fn load(
    c: &mut DbConn,
    id: &str,
    user: &CurrentUser,
    need: Need,
) -> Result<Registration, ApiError> {
    let r = queries::find(c, id)?.ok_or(ApiError::from(Code::NotFound))?;
    if r.user_id.as_deref() == Some(user.id.as_str()) {
        return Ok(r);
    }
    event_access::load_inside(c, &r.event_id, user, need)?;
    Ok(r)
}
