//! Organizations (社区社会组织) and their members: who runs them (owner,
//! manager) and who works their doors (staff). Other features ask `access` who
//! may do what in an organization.

pub mod access;
pub mod access_log;
pub mod live;
pub mod personal;
pub mod profile;
pub mod queries;
pub mod routes;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::organizations;
use crate::error::Invalid;

/// The four kinds of organization the city supports.
pub const CATEGORIES: &[&str] = &["life_service", "charity", "culture_sports", "mediation"];
pub const ROLES: &[&str] = &["owner", "manager", "staff"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Staff,
    Manager,
    Owner,
}

impl Role {
    pub fn parse(value: &str) -> Result<Role, Invalid> {
        match value {
            "owner" => Ok(Role::Owner),
            "manager" => Ok(Role::Manager),
            "staff" => Ok(Role::Staff),
            _ => Err(Invalid::OneOf(ROLES)),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Staff => "staff",
        }
    }

    /// Owners and managers run events and staff.
    pub fn manages(self) -> bool {
        self >= Role::Manager
    }
}

pub fn parse_category(value: &str) -> Result<String, Invalid> {
    if CATEGORIES.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(Invalid::OneOf(CATEGORIES))
    }
}

pub const PENDING: &str = "pending";
pub const VERIFIED: &str = "verified";
pub const SUSPENDED: &str = "suspended";

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub category: String,
    pub description: Option<String>,
    pub contact_phone: Option<String>,
    pub status: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Set by the owner (`PATCH /organizations/{id}`); else the first owner's name.
    pub person_in_charge: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrganizationView {
    pub id: String,
    #[schema(example = "古美社区花园队")]
    pub name: String,
    /// `life_service`, `charity`, `culture_sports` or `mediation`.
    #[schema(example = "life_service")]
    pub category: String,
    pub description: Option<String>,
    pub contact_phone: Option<String>,
    /// The person in charge (负责人) named on certificates and reports, as
    /// the owner set it; `null` until then (the first owner is named).
    pub person_in_charge: Option<String>,
    /// `pending`, `verified` or `suspended`; only verified ones can publish.
    #[schema(example = "pending")]
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<Organization> for OrganizationView {
    fn from(o: Organization) -> Self {
        OrganizationView {
            id: o.id,
            name: o.name,
            category: o.category,
            description: o.description,
            contact_phone: o.contact_phone,
            person_in_charge: o.person_in_charge,
            status: o.status,
            created_at: o.created_at.and_utc(),
            updated_at: o.updated_at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    pub user_id: String,
    pub display_name: String,
    /// `owner`, `manager` or `staff`.
    pub role: String,
}
