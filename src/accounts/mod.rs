//! Accounts: residents, staff and admins as people with a phone number and a
//! profile. This module owns the `users` table, `GET/PATCH /me` and the
//! `/auth/*` routes (registration, login, refresh, logout), which use `auth`'s
//! passwords, tokens and sessions.

pub mod auth_routes;
pub mod personal;
pub mod phone;
pub mod profile;
pub mod queries;
pub mod routes;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::users;
use crate::error::Invalid;

pub use phone::Phone;
pub use profile::{Profile, ProfileSection};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub phone: String,
    pub password_hash: String,
    pub display_name: String,
    pub birth_year: Option<i32>,
    pub locale: String,
    pub accessibility_needs: Option<String>,
    pub is_admin: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Set when the person deleted their account (`DELETE /me`).
    pub erased_at: Option<NaiveDateTime>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub birth_year: Option<Option<i32>>,
    pub locale: Option<String>,
    pub accessibility_needs: Option<Option<String>>,
    pub updated_at: Option<NaiveDateTime>,
}

/// The languages a user can choose for messages sent to them.
pub const LOCALES: &[&str] = &["zh-CN", "en"];

pub fn parse_locale(value: Option<&str>) -> Result<String, Invalid> {
    match value {
        None => Ok("zh-CN".into()),
        Some(v) if LOCALES.contains(&v) => Ok(v.to_owned()),
        Some(_) => Err(Invalid::OneOf(LOCALES)),
    }
}

/// A person's role in one organization.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MembershipView {
    pub organization_id: String,
    pub organization_name: String,
    /// `owner`, `manager` or `staff`.
    pub role: String,
}

/// The signed-in user, as `GET /me` and the auth endpoints show them.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub id: String,
    /// Normal form, e.g. `+8613812345678`.
    pub phone: String,
    pub display_name: String,
    pub birth_year: Option<i32>,
    /// `zh-CN` or `en`.
    pub locale: String,
    pub accessibility_needs: Option<String>,
    pub is_admin: bool,
    // Filled in by the organizations' profile section.
    pub memberships: Vec<MembershipView>,
    /// Filled in by the volunteers' profile section; `null` until the user opts in.
    pub volunteer: Option<VolunteerSummary>,
    /// Buyers (street offices, district bureaus) the user staffs; filled in
    /// by the projects' profile section.
    pub buyers: Vec<BuyerMembership>,
    /// Projects the user evaluates; filled in by the projects' profile section.
    pub evaluator_projects: Vec<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A buyer the user staffs, as `/me` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BuyerMembership {
    pub buyer_id: String,
    pub buyer_name: String,
}

/// The user's volunteer profile as `/me` shows it (the full one, with the
/// door code, is `GET /me/volunteer`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VolunteerSummary {
    pub volunteer_no: String,
    pub skills: Vec<String>,
    pub availability: Option<String>,
}

impl UserView {
    /// The user's own fields; the sections of other features start empty.
    pub fn new(user: User) -> UserView {
        UserView {
            id: user.id,
            phone: user.phone,
            display_name: user.display_name,
            birth_year: user.birth_year,
            locale: user.locale,
            accessibility_needs: user.accessibility_needs,
            is_admin: user.is_admin,
            memberships: Vec::new(),
            volunteer: None,
            buyers: Vec::new(),
            evaluator_projects: Vec::new(),
            created_at: user.created_at.and_utc(),
        }
    }
}
