//! The catalogue (推荐目录): organizations' service offerings, searchable by
//! category, street and text, with the ones a buyer recommended first (with
//! the buyer and the year) — how a street office finds who could deliver a
//! service before it opens a project. Organizations' owners and managers keep
//! their offerings; buyer staff record recommendations.

pub mod queries;
pub mod routes;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::offerings;
use crate::projects::money;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = offerings)]
pub struct Offering {
    pub id: String,
    pub organization_id: String,
    pub title: String,
    pub category: String,
    pub description: String,
    pub target_group: String,
    /// JSON array of street names.
    pub streets: String,
    pub unit_price_fen: Option<i64>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub removed_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Recommended {
    pub buyer_id: String,
    #[schema(example = "五角场街道办事处")]
    pub buyer_name: String,
    #[schema(example = 2026)]
    pub year: i32,
    pub note: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OfferingOrganization {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct OfferingView {
    pub id: String,
    pub organization: OfferingOrganization,
    #[schema(example = "老年人手指操健脑课")]
    pub title: String,
    /// An event category.
    #[schema(example = "health_talk")]
    pub category: String,
    pub description: String,
    #[schema(example = "60 岁以上社区老人")]
    pub target_group: String,
    #[schema(example = json!(["五角场街道", "控江路街道"]))]
    pub streets: Vec<String>,
    /// Yuan as a decimal string, when the organization quotes one.
    #[schema(example = "800.00")]
    pub unit_price_cny: Option<String>,
    /// The latest recommendation of the organization, if any.
    pub recommended: Option<Recommended>,
    pub created_at: DateTime<Utc>,
}

impl OfferingView {
    pub fn new(o: Offering, org_name: String, recommended: Option<Recommended>) -> OfferingView {
        OfferingView {
            streets: serde_json::from_str(&o.streets).unwrap_or_default(),
            id: o.id,
            organization: OfferingOrganization {
                id: o.organization_id,
                name: org_name,
            },
            title: o.title,
            category: o.category,
            description: o.description,
            target_group: o.target_group,
            unit_price_cny: o.unit_price_fen.map(money::format),
            recommended,
            created_at: o.created_at.and_utc(),
        }
    }
}
