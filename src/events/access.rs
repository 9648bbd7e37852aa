//! Who may see or run an event: the one rule every event route and the
//! `event:` live topic use. Load the event (locked if asked), then:
//! - anyone may see a published (or cancelled, or completed) event of a
//!   verified organization; drafts, and events of organizations that are not
//!   verified, only its members and platform admins;
//! - a caller who may not see the event gets `404`, as if it did not exist;
//! - a caller who may see it but lacks the role the action needs gets `403`.

use super::queries;
use super::{DRAFT, Event};
use crate::auth::CurrentUser;
use crate::db::DbConn;
use crate::error::{ApiError, Code};
use crate::organizations::{Organization, Role, VERIFIED, queries as orgs};

/// What the caller means to do with the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Read it.
    See,
    /// Staff work: rosters, check-in, attendance (any member).
    Staff,
    /// Run it: change, publish, cancel, undo (owners and managers).
    Manager,
}

/// The event and the caller's standing in its organization.
#[derive(Clone, Debug)]
pub struct EventAccess {
    pub event: Event,
    pub organization: Organization,
    /// The caller's role; `None` for outsiders and for admins who are not members.
    pub role: Option<Role>,
}

impl EventAccess {
    /// Owners, managers and platform admins.
    pub fn manages(&self, user: &CurrentUser) -> bool {
        user.is_admin || self.role.is_some_and(Role::manages)
    }

    /// Members of the organization and platform admins.
    fn insider(&self, user: Option<&CurrentUser>) -> bool {
        user.is_some_and(|u| u.is_admin) || self.role.is_some()
    }

    /// Whether `user` may do what `need` asks, once the event is visible.
    fn allows(&self, user: Option<&CurrentUser>, need: Need) -> bool {
        match need {
            Need::See => true,
            Need::Staff => self.insider(user),
            Need::Manager => user.is_some_and(|u| self.manages(u)),
        }
    }
}

/// Loads event `id` for `user` wanting `need`; with `lock`, the event's row is
/// held until the transaction ends (see `queries::lock`).
pub fn load(
    conn: &mut DbConn,
    id: &str,
    user: Option<&CurrentUser>,
    need: Need,
    lock: bool,
) -> Result<EventAccess, ApiError> {
    let (event, organization, role) = if lock {
        // The event's row alone is locked: a join would lock the
        // organization's row too, and every write of the organization would
        // queue on it.
        let event = queries::lock(conn, id)?;
        let organization =
            orgs::find(conn, &event.organization_id)?.ok_or(ApiError::from(Code::NotFound))?;
        let role = match user {
            Some(u) => orgs::role_of(conn, &organization.id, &u.id)?,
            None => None,
        };
        (event, organization, role)
    } else {
        unlocked(conn, id, user)?
    };
    let access = EventAccess {
        event,
        organization,
        role,
    };
    let public = access.event.status != DRAFT && access.organization.status == VERIFIED;
    if !public && !access.insider(user) {
        return Err(Code::NotFound.into());
    }
    if !access.allows(user, need) {
        return Err(Code::Forbidden.into());
    }
    Ok(access)
}

/// [`load`] for what lies inside an event and is its organization's business
/// alone (a registration, a check-in): outsiders get `404` even when the
/// event itself is public; insiders without the role `need` asks get `403`.
pub fn load_inside(
    conn: &mut DbConn,
    id: &str,
    user: &CurrentUser,
    need: Need,
) -> Result<EventAccess, ApiError> {
    let access = load(conn, id, Some(user), Need::See, false)?;
    if !access.insider(Some(user)) {
        return Err(Code::NotFound.into());
    }
    if !access.allows(Some(user), need) {
        return Err(Code::Forbidden.into());
    }
    Ok(access)
}

/// The event, its organization and the caller's role in it, in one read.
fn unlocked(
    conn: &mut DbConn,
    id: &str,
    user: Option<&CurrentUser>,
) -> Result<(Event, Organization, Option<Role>), ApiError> {
    use crate::db::schema::{events, memberships, organizations};
    use diesel::prelude::*;
    // No caller matches no membership.
    let user_id = user.map_or("", |u| u.id.as_str());
    let row: Option<(Event, Organization, Option<String>)> = events::table
        .inner_join(organizations::table)
        .left_join(
            memberships::table.on(memberships::organization_id
                .eq(organizations::id)
                .and(memberships::user_id.eq(user_id))),
        )
        .filter(events::id.eq(id))
        .select((
            Event::as_select(),
            Organization::as_select(),
            memberships::role.nullable(),
        ))
        .first(conn)
        .optional()?;
    let (event, organization, role) = row.ok_or(ApiError::from(Code::NotFound))?;
    Ok((
        event,
        organization,
        role.map(orgs::stored_role).transpose()?,
    ))
}
