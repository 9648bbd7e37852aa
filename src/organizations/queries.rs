//! The `organizations` and `memberships` tables.

use diesel::prelude::*;

use super::{MemberView, Organization, Role, VERIFIED};
use crate::accounts::MembershipView;
use crate::auth::CurrentUser;
use crate::db::schema::{memberships, organizations, users};
use crate::db::{self, DbConn, Tx};
use crate::error::{ApiError, Code};
use crate::http::pagination::Page;

pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Organization>, ApiError> {
    Ok(organizations::table
        .find(id)
        .select(Organization::as_select())
        .first(conn)
        .optional()?)
}

/// Serializes membership changes of one organization. SQLite's `BEGIN
/// IMMEDIATE` already serializes writers; PostgreSQL takes the row lock.
pub fn lock(conn: &mut DbConn, id: &str) -> Result<(), ApiError> {
    if let DbConn::Pg(c) = conn {
        organizations::table
            .find(id)
            .select(organizations::id)
            .for_update()
            .first::<String>(c)
            .optional()?;
    }
    Ok(())
}

pub fn role_of(conn: &mut DbConn, org_id: &str, user_id: &str) -> Result<Option<Role>, ApiError> {
    let role: Option<String> = memberships::table
        .find((org_id, user_id))
        .select(memberships::role)
        .first(conn)
        .optional()?;
    role.map(stored_role).transpose()
}

/// A role as the `memberships` table stores it.
pub fn stored_role(role: String) -> Result<Role, ApiError> {
    Role::parse(&role).map_err(|_| ApiError::internal(format!("stored role {role}")))
}

/// Creates an organization with its creator as owner.
pub fn create(conn: &mut DbConn, org: &Organization) -> Result<(), ApiError> {
    diesel::insert_into(organizations::table)
        .values(org)
        .execute(conn)?;
    add_member(conn, &org.id, &org.created_by, Role::Owner)?;
    Ok(())
}

pub fn set_status(conn: &mut DbConn, id: &str, status: &str) -> Result<Organization, ApiError> {
    let changed = diesel::update(organizations::table.find(id))
        .set((
            organizations::status.eq(status),
            organizations::updated_at.eq(db::now()),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(Code::NotFound.into());
    }
    find(conn, id)?.ok_or(ApiError::from(Code::NotFound))
}

/// A page of organizations the caller may see, oldest first.
pub fn list(
    conn: &mut DbConn,
    user: Option<&CurrentUser>,
    category: Option<&str>,
    page: &Page,
) -> Result<Vec<Organization>, ApiError> {
    let mut query = organizations::table
        .select(Organization::as_select())
        .order((organizations::created_at.asc(), organizations::id.asc()))
        .limit(page.limit + 1)
        .into_boxed();
    query = match user {
        Some(u) if u.is_admin => query,
        Some(u) => query.filter(
            organizations::status
                .eq(VERIFIED)
                .or(organizations::id.eq_any(
                    memberships::table
                        .filter(memberships::user_id.eq(u.id.clone()))
                        .select(memberships::organization_id),
                )),
        ),
        None => query.filter(organizations::status.eq(VERIFIED)),
    };
    if let Some(category) = category {
        query = query.filter(organizations::category.eq(category.to_owned()));
    }
    if let Some((at, id)) = &page.after {
        query = query.filter(
            organizations::created_at
                .gt(*at)
                .or(organizations::created_at
                    .eq(*at)
                    .and(organizations::id.gt(id.clone()))),
        );
    }
    Ok(query.load(conn)?)
}

pub fn add_member(
    conn: &mut DbConn,
    org_id: &str,
    user_id: &str,
    role: Role,
) -> Result<(), ApiError> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::organization_id.eq(org_id),
            memberships::user_id.eq(user_id),
            memberships::role.eq(role.as_str()),
            memberships::created_at.eq(db::now()),
        ))
        .execute(conn)
        .map_err(|e| {
            if db::is_unique_violation(&e) {
                ApiError::from(Code::AlreadyMember)
            } else {
                e.into()
            }
        })?;
    Ok(())
}

/// Removes a member; their open sockets drop the organization's topic.
pub fn remove_member(tx: &mut Tx<'_>, org_id: &str, user_id: &str) -> Result<(), ApiError> {
    diesel::delete(memberships::table.find((org_id, user_id))).execute(tx.conn())?;
    crate::auth::sessions::access_changed(tx, user_id);
    Ok(())
}

pub fn count_owners(conn: &mut DbConn, org_id: &str) -> Result<i64, ApiError> {
    Ok(memberships::table
        .filter(memberships::organization_id.eq(org_id))
        .filter(memberships::role.eq(Role::Owner.as_str()))
        .count()
        .get_result(conn)?)
}

/// The organization's person in charge (负责人) as certificates name it: the
/// one its owner set, else its first owner.
pub fn person_in_charge(conn: &mut DbConn, org_id: &str) -> Result<Option<String>, ApiError> {
    let set: Option<Option<String>> = organizations::table
        .find(org_id)
        .select(organizations::person_in_charge)
        .first(conn)
        .optional()?;
    if let Some(Some(name)) = set {
        return Ok(Some(name));
    }
    Ok(memberships::table
        .inner_join(users::table)
        .filter(memberships::organization_id.eq(org_id))
        .filter(memberships::role.eq(Role::Owner.as_str()))
        .order((memberships::created_at.asc(), memberships::user_id.asc()))
        .select(users::display_name)
        .first(conn)
        .optional()?)
}

/// Sets the person in charge and the contact phone (each only when given).
pub fn update_contacts(
    conn: &mut DbConn,
    org_id: &str,
    person_in_charge: Option<Option<String>>,
    contact_phone: Option<Option<String>>,
) -> Result<(), ApiError> {
    let now = db::now();
    if let Some(person) = person_in_charge {
        diesel::update(organizations::table.find(org_id))
            .set((
                organizations::person_in_charge.eq(person),
                organizations::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    if let Some(phone) = contact_phone {
        diesel::update(organizations::table.find(org_id))
            .set((
                organizations::contact_phone.eq(phone),
                organizations::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn members(conn: &mut DbConn, org_id: &str) -> Result<Vec<MemberView>, ApiError> {
    let rows: Vec<(String, String, String)> = memberships::table
        .inner_join(users::table)
        .filter(memberships::organization_id.eq(org_id))
        .order((memberships::created_at.asc(), memberships::user_id.asc()))
        .select((memberships::user_id, users::display_name, memberships::role))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user_id, display_name, role)| MemberView {
            user_id,
            display_name,
            role,
        })
        .collect())
}

/// Every organization `user_id` belongs to, for `/me`.
pub fn memberships_of(conn: &mut DbConn, user_id: &str) -> Result<Vec<MembershipView>, ApiError> {
    let rows: Vec<(String, String, String)> = memberships::table
        .inner_join(organizations::table)
        .filter(memberships::user_id.eq(user_id))
        .order(memberships::created_at.asc())
        .select((
            memberships::organization_id,
            organizations::name,
            memberships::role,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(organization_id, organization_name, role)| MembershipView {
                organization_id,
                organization_name,
                role,
            },
        )
        .collect())
}
