//! The `users` table.

use diesel::prelude::*;

use super::{Phone, User, UserChanges};
use crate::db::schema::users;
use crate::db::{self, DbConn};
use crate::error::{ApiError, Code};

/// Inserts a new user; a taken phone number is `409 phone_taken`.
pub fn insert(conn: &mut DbConn, user: &User) -> Result<(), ApiError> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)
        .map_err(|e| {
            if db::is_unique_violation(&e) {
                ApiError::from(Code::PhoneTaken)
            } else {
                e.into()
            }
        })?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<User, ApiError> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)?)
}

/// The display names of `ids` (missing ids are left out).
pub fn display_names(
    conn: &mut DbConn,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

pub fn find_by_phone(conn: &mut DbConn, phone: &Phone) -> Result<Option<User>, ApiError> {
    Ok(users::table
        .filter(users::phone.eq(phone.as_str()))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn update(conn: &mut DbConn, id: &str, changes: &UserChanges) -> Result<(), ApiError> {
    diesel::update(users::table.find(id))
        .set(changes)
        .execute(conn)?;
    Ok(())
}

/// Makes the holder of `phone` a platform admin; `Ok(false)` if nobody has it.
pub fn grant_admin(conn: &mut DbConn, phone: &Phone) -> Result<bool, ApiError> {
    let changed = diesel::update(users::table.filter(users::phone.eq(phone.as_str())))
        .set((users::is_admin.eq(true), users::updated_at.eq(db::now())))
        .execute(conn)?;
    Ok(changed == 1)
}
