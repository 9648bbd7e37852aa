//! Who may see or do what with a project: one rule for every project route,
//! the `project:` live topic and the report link.
//! - buyer staff (members of the project's buyer) and platform admins run it;
//! - evaluators added to it review and evaluate it;
//! - the contracted organization's owners and managers deliver it;
//! - past `draft`, anyone signed in may read it;
//! - a caller who may not see it gets `404`; one who may see it but lacks the
//!   role gets `403`.

use super::{Project, queries};
use crate::auth::CurrentUser;
use crate::db::DbConn;
use crate::error::{ApiError, Code};
use crate::organizations::{Role, queries as orgs};

/// The project and the caller's standing in it.
#[derive(Clone, Debug)]
pub struct ProjectAccess {
    pub project: Project,
    /// A member of its buyer, or a platform admin.
    pub buyer_staff: bool,
    pub evaluator: bool,
    /// The caller's role in the contracted organization, if any.
    pub org_role: Option<Role>,
}

impl ProjectAccess {
    /// Buyer staff and evaluators: they see scores and every bid.
    pub fn reviews(&self) -> bool {
        self.buyer_staff || self.evaluator
    }

    /// An owner or manager of the contracted organization.
    pub fn delivers(&self) -> bool {
        self.org_role.is_some_and(Role::manages)
    }

    /// Buyer staff, evaluators and the contracted organization's managers:
    /// who reads the report.
    pub fn reads_report(&self) -> bool {
        self.reviews() || self.delivers()
    }

    pub fn require(&self, allowed: bool) -> Result<(), ApiError> {
        if allowed {
            Ok(())
        } else {
            Err(Code::Forbidden.into())
        }
    }
}

/// Whether `user` is staff of buyer `buyer_id` (admins count).
pub fn is_buyer_staff(
    conn: &mut DbConn,
    buyer_id: &str,
    user: &CurrentUser,
) -> Result<bool, ApiError> {
    Ok(user.is_admin || queries::is_buyer_member(conn, buyer_id, &user.id)?)
}

/// The caller's standing in a project already loaded.
pub fn standing(
    conn: &mut DbConn,
    project: Project,
    user: &CurrentUser,
) -> Result<ProjectAccess, ApiError> {
    let buyer_staff = is_buyer_staff(conn, &project.buyer_id, user)?;
    let evaluator = queries::is_evaluator(conn, &project.id, &user.id)?;
    let org_role = match &project.organization_id {
        Some(org) => orgs::role_of(conn, org, &user.id)?,
        None => None,
    };
    let visible = buyer_staff || evaluator || project.status != super::DRAFT;
    if !visible {
        return Err(Code::NotFound.into());
    }
    Ok(ProjectAccess {
        project,
        buyer_staff,
        evaluator,
        org_role,
    })
}

/// Loads project `id` for `user` (with `lock`, held until the transaction
/// ends, and settled: an `open` project whose bids closed is stored as
/// `reviewing` first).
pub fn load(
    conn: &mut DbConn,
    id: &str,
    user: &CurrentUser,
    lock: bool,
) -> Result<ProjectAccess, ApiError> {
    let project = if lock {
        queries::lock(conn, id)?
    } else {
        queries::find(conn, id)?.ok_or(ApiError::from(Code::NotFound))?
    };
    standing(conn, project, user)
}
