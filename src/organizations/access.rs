//! Who may do what in an organization. Not a member (and not an admin): `404`,
//! as if the organization's inner workings did not exist. A member whose role
//! is too small: `403`.

use super::{Organization, Role, VERIFIED, queries};
use crate::auth::CurrentUser;
use crate::db::DbConn;
use crate::error::{ApiError, Code};

/// What the caller needs to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Any member: staff, manager or owner (rosters, check-in).
    Staff,
    /// Owner or manager (events, members).
    Manager,
}

/// The caller's standing in an organization.
#[derive(Clone, Debug)]
pub struct Standing {
    pub organization: Organization,
    /// `None` for a platform admin who is not a member.
    pub role: Option<Role>,
}

impl Standing {
    pub fn is_owner_or_admin(&self) -> bool {
        self.role.is_none_or(|r| r == Role::Owner)
    }
}

/// Loads the organization if the caller has `need` in it.
pub fn require(
    conn: &mut DbConn,
    org_id: &str,
    user: &CurrentUser,
    need: Need,
) -> Result<Standing, ApiError> {
    let organization = queries::find(conn, org_id)?.ok_or(ApiError::from(Code::NotFound))?;
    let role = queries::role_of(conn, org_id, &user.id)?;
    match (role, user.is_admin) {
        (None, true) => Ok(Standing {
            organization,
            role: None,
        }),
        (None, false) => Err(Code::NotFound.into()),
        (Some(role), admin) => {
            if need == Need::Manager && !role.manages() && !admin {
                return Err(Code::Forbidden.into());
            }
            Ok(Standing {
                organization,
                role: Some(role),
            })
        }
    }
}

/// Whether the organization may be shown to `user`: verified ones to anyone,
/// others to admins and members only.
pub fn visible(
    conn: &mut DbConn,
    org: &Organization,
    user: Option<&CurrentUser>,
) -> Result<bool, ApiError> {
    if org.status == VERIFIED {
        return Ok(true);
    }
    match user {
        None => Ok(false),
        Some(u) if u.is_admin => Ok(true),
        Some(u) => Ok(queries::role_of(conn, &org.id, &u.id)?.is_some()),
    }
}
