//! Neighbourhood centres (睦邻中心): where activities happen, each with its own
//! IANA time zone that decides what "today" means on its screens.

pub mod live;
pub mod personal;
pub mod queries;
pub mod routes;

use std::str::FromStr;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::centres;
use crate::error::Invalid;

pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = centres)]
pub struct Centre {
    pub id: String,
    pub name: String,
    pub address: String,
    pub street: String,
    pub district: String,
    pub timezone: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Centre {
    /// The centre's time zone (stored values were checked on the way in).
    pub fn tz(&self) -> chrono_tz::Tz {
        chrono_tz::Tz::from_str(&self.timezone).unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

pub fn parse_timezone(value: Option<&str>) -> Result<String, Invalid> {
    let value = value.map(str::trim).unwrap_or(DEFAULT_TIMEZONE);
    chrono_tz::Tz::from_str(value)
        .map(|tz| tz.name().to_owned())
        .map_err(|_| Invalid::Timezone)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CentreView {
    pub id: String,
    #[schema(example = "古美睦邻中心")]
    pub name: String,
    #[schema(example = "平吉路 100 号")]
    pub address: String,
    #[schema(example = "古美路街道")]
    pub street: String,
    #[schema(example = "闵行区")]
    pub district: String,
    #[schema(example = "Asia/Shanghai")]
    pub timezone: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Centre> for CentreView {
    fn from(c: Centre) -> Self {
        CentreView {
            id: c.id,
            name: c.name,
            address: c.address,
            street: c.street,
            district: c.district,
            timezone: c.timezone,
            created_at: c.created_at.and_utc(),
        }
    }
}
