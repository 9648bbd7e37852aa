//! Request bodies of projects: the project itself with its indicator table,
//! parsed into `ProjectFields` whose rules (weights summing to 100, at most 30
//! rows, the period in order, bids closing before delivery starts) are checked
//! in one place for create and patch alike.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use utoipa::ToSchema;

use super::money;
use crate::error::{ApiError, FieldError, Invalid};
use crate::events::CATEGORIES;
use crate::events::input::timestamp;
use crate::validate::{int_in, text};

pub const LEVEL1: &[&str] = &["output", "effect", "satisfaction", "budget"];
pub const OPS: &[&str] = &[">=", "<=", "="];
pub const SOURCES: &[&str] = &[
    "sessions_held",
    "attendances",
    "unique_residents",
    "elderly_share",
    "satisfaction",
    "volunteer_hours",
    "budget_execution",
    "manual",
];
pub const MANUAL: &str = "manual";
pub const MAX_INDICATORS: usize = 30;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIndicator {
    /// `output`, `effect`, `satisfaction` or `budget`.
    #[schema(example = "output")]
    pub level1: String,
    #[schema(example = "数量指标")]
    pub level2: String,
    #[schema(example = "服务人次")]
    pub name: String,
    /// `sessions_held`, `attendances`, `unique_residents`, `elderly_share`,
    /// `satisfaction`, `volunteer_hours`, `budget_execution` or `manual`.
    #[schema(example = "attendances")]
    pub source: String,
    /// `>=`, `<=` or `=`.
    #[schema(example = ">=")]
    pub op: String,
    /// A number ≥ 0.
    #[schema(example = 1200)]
    pub target: f64,
    #[schema(example = "人次")]
    pub unit: String,
    /// An integer; the weights of a table sum to 100.
    #[schema(example = 40)]
    pub weight: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    #[schema(example = "五角场街道为老健康服务项目")]
    pub title: String,
    /// An event category.
    #[schema(example = "health_talk")]
    pub category: String,
    pub description: String,
    /// Yuan as a decimal string, at most two decimals.
    #[schema(example = "120000.00")]
    pub budget_cny: String,
    /// `YYYY-MM-DD`.
    #[schema(example = "2026-12-01")]
    pub starts_on: String,
    #[schema(example = "2027-05-31")]
    pub ends_on: String,
    /// The centres where the service is delivered (1–20).
    pub centre_ids: Vec<String>,
    /// RFC 3339; bids are accepted until then.
    pub bids_close_at: String,
    /// 1–30 rows whose weights sum to 100.
    pub indicators: Vec<NewIndicator>,
}

/// Any field of the create body (a draft only); `indicators` replaces the table.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchProject {
    pub title: Option<String>,
    pub category: Option<String>,
    pub description: Option<String>,
    pub budget_cny: Option<String>,
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    pub centre_ids: Option<Vec<String>>,
    pub bids_close_at: Option<String>,
    pub indicators: Option<Vec<NewIndicator>>,
}

/// One parsed indicator row.
#[derive(Clone, Debug)]
pub struct IndicatorFields {
    pub level1: String,
    pub level2: String,
    pub name: String,
    pub source: String,
    pub op: String,
    pub target: f64,
    pub unit: String,
    pub weight: i32,
}

/// A project's fields, parsed and checked.
#[derive(Clone, Debug)]
pub struct ProjectFields {
    pub title: String,
    pub category: String,
    pub description: String,
    pub budget_fen: i64,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub centre_ids: Vec<String>,
    pub bids_close_at: NaiveDateTime,
    /// `None` in a patch that leaves the table alone.
    pub indicators: Option<Vec<IndicatorFields>>,
}

pub fn one_of(value: &str, allowed: &'static [&'static str]) -> Result<String, Invalid> {
    if allowed.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(Invalid::OneOf(allowed))
    }
}

pub fn date(value: &str) -> Result<NaiveDate, Invalid> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| Invalid::Date)
}

fn centre_ids(values: &[String]) -> Result<Vec<String>, Invalid> {
    if values.is_empty() {
        return Err(Invalid::Required);
    }
    if values.len() > 20 {
        return Err(Invalid::OutOfRange { min: 1, max: 20 });
    }
    let mut ids: Vec<String> = values.iter().map(|c| c.trim().to_owned()).collect();
    ids.sort();
    ids.dedup();
    if ids.iter().any(|c| c.is_empty() || c.len() > 64) {
        return Err(Invalid::Unknown);
    }
    Ok(ids)
}

fn row_error(i: usize, field: &str, invalid: Invalid) -> ApiError {
    ApiError::BodyField {
        path: format!("indicators[{i}].{field}"),
        invalid,
    }
}

/// The indicator table: 1–30 rows, each valid, weights summing to 100.
pub fn indicators(rows: &[NewIndicator]) -> Result<Vec<IndicatorFields>, ApiError> {
    if rows.is_empty() || rows.len() > MAX_INDICATORS {
        return Err(ApiError::field(
            "indicators",
            Invalid::OutOfRange {
                min: 1,
                max: MAX_INDICATORS as i64,
            },
        ));
    }
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let e = |field, invalid| row_error(i, field, invalid);
        let target = if r.target.is_finite() && r.target >= 0.0 && r.target <= 1e12 {
            r.target
        } else {
            return Err(e(
                "target",
                Invalid::OutOfRange {
                    min: 0,
                    max: 1_000_000_000_000,
                },
            ));
        };
        out.push(IndicatorFields {
            level1: one_of(&r.level1, LEVEL1).map_err(|x| e("level1", x))?,
            level2: text(&r.level2, 1, 50).map_err(|x| e("level2", x))?,
            name: text(&r.name, 1, 100).map_err(|x| e("name", x))?,
            source: one_of(&r.source, SOURCES).map_err(|x| e("source", x))?,
            op: one_of(&r.op, OPS).map_err(|x| e("op", x))?,
            target,
            unit: text(&r.unit, 1, 20).map_err(|x| e("unit", x))?,
            weight: int_in(r.weight, 0, 100).map_err(|x| e("weight", x))?,
        });
    }
    let sum: i32 = out.iter().map(|r| r.weight).sum();
    if sum != 100 {
        return Err(ApiError::field("indicators", Invalid::WeightsSum));
    }
    Ok(out)
}

/// Collects field errors while parsing.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn take<T>(&mut self, field: &'static str, result: Result<T, Invalid>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(invalid) => {
                self.0.push(FieldError { field, invalid });
                None
            }
        }
    }
}

impl NewProject {
    pub fn parse(self) -> Result<ProjectFields, ApiError> {
        let mut e = Errors::default();
        let title = e.take("title", text(&self.title, 1, 100));
        let category = e.take("category", one_of(&self.category, CATEGORIES));
        let description = e.take("description", text(&self.description, 1, 2000));
        let budget = e.take("budget_cny", money::parse(&self.budget_cny));
        let starts_on = e.take("starts_on", date(&self.starts_on));
        let ends_on = e.take("ends_on", date(&self.ends_on));
        let centres = e.take("centre_ids", centre_ids(&self.centre_ids));
        let closes = e.take("bids_close_at", timestamp(&self.bids_close_at));
        let (
            Some(title),
            Some(category),
            Some(description),
            Some(budget_fen),
            Some(starts_on),
            Some(ends_on),
            Some(centre_ids),
            Some(bids_close_at),
        ) = (
            title,
            category,
            description,
            budget,
            starts_on,
            ends_on,
            centres,
            closes,
        )
        else {
            return Err(ApiError::Validation(e.0));
        };
        let fields = ProjectFields {
            title,
            category,
            description,
            budget_fen,
            starts_on,
            ends_on,
            centre_ids,
            bids_close_at,
            indicators: Some(indicators(&self.indicators)?),
        };
        fields.check()?;
        Ok(fields)
    }
}

impl PatchProject {
    /// `current` with this patch applied, checked as a whole.
    pub fn apply(self, mut f: ProjectFields) -> Result<ProjectFields, ApiError> {
        let mut e = Errors::default();
        if let Some(v) = self.title {
            f.title = e.take("title", text(&v, 1, 100)).unwrap_or_default();
        }
        if let Some(v) = self.category {
            f.category = e
                .take("category", one_of(&v, CATEGORIES))
                .unwrap_or_default();
        }
        if let Some(v) = self.description {
            f.description = e.take("description", text(&v, 1, 2000)).unwrap_or_default();
        }
        if let Some(v) = self.budget_cny {
            f.budget_fen = e.take("budget_cny", money::parse(&v)).unwrap_or_default();
        }
        if let Some(v) = self.starts_on {
            f.starts_on = e.take("starts_on", date(&v)).unwrap_or(f.starts_on);
        }
        if let Some(v) = self.ends_on {
            f.ends_on = e.take("ends_on", date(&v)).unwrap_or(f.ends_on);
        }
        if let Some(v) = self.centre_ids {
            f.centre_ids = e.take("centre_ids", centre_ids(&v)).unwrap_or_default();
        }
        if let Some(v) = self.bids_close_at {
            f.bids_close_at = e
                .take("bids_close_at", timestamp(&v))
                .unwrap_or(f.bids_close_at);
        }
        if !e.0.is_empty() {
            return Err(ApiError::Validation(e.0));
        }
        f.indicators = self.indicators.map(|rows| indicators(&rows)).transpose()?;
        f.check()?;
        Ok(f)
    }
}

impl ProjectFields {
    /// The rules that span fields.
    pub fn check(&self) -> Result<(), ApiError> {
        if self.ends_on < self.starts_on {
            return Err(ApiError::field("ends_on", Invalid::NotAfter("starts_on")));
        }
        if (self.ends_on - self.starts_on).num_days() > 3 * 366 {
            return Err(ApiError::field("ends_on", Invalid::TooFarAhead));
        }
        Ok(())
    }
}
