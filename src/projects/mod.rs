//! Purchased-service projects (政府购买服务): a buyer (a street office or a
//! district civil-affairs bureau) opens a project with its indicator table,
//! verified organizations bid, buyer staff and evaluators score the bids, the
//! award makes the project a contract, the contracted organization delivers
//! events linked to it, and evaluators judge it on figures Mulin computed from
//! check-ins, feedback, volunteer hours and expenses. Closing freezes the
//! report.
//!
//! The state table (anything else is `409 invalid_transition`):
//! `draft → open → reviewing → contracted ⇄ mid_term_review`,
//! `contracted → final_review → closed`, and `cancelled` from any state but
//! `closed`. `open` becomes `reviewing` when `bids_close_at` passes: the state
//! is settled lazily, on every read and write of the project (see
//! [`Project::status_at`] and `queries::settle`), so no timer is needed and
//! the test clock moves it like real time.

pub mod access;
pub mod bids;
pub mod buyers;
pub mod contracts;
pub mod delivery;
pub mod input;
pub mod live;
pub mod money;
pub mod page;
pub mod personal;
pub mod profile;
pub mod queries;
pub mod report;
pub mod report_csv;
pub mod routes;
pub mod states;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{self, bid_scores, expenses, indicators, projects};

pub const DRAFT: &str = "draft";
pub const OPEN: &str = "open";
pub const REVIEWING: &str = "reviewing";
pub const CONTRACTED: &str = "contracted";
pub const MID_TERM_REVIEW: &str = "mid_term_review";
pub const FINAL_REVIEW: &str = "final_review";
pub const CLOSED: &str = "closed";
pub const CANCELLED: &str = "cancelled";

/// States in which the contract runs: events link to it, expenses and
/// figures are recorded.
pub const DELIVERING: &[&str] = &[CONTRACTED, MID_TERM_REVIEW, FINAL_REVIEW];

pub const LIVE_BID: &str = "live";
pub const WITHDRAWN_BID: &str = "withdrawn";

pub const MID_TERM: &str = "mid_term";
pub const FINAL: &str = "final";

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::buyers)]
pub struct Buyer {
    pub id: String,
    pub name: String,
    pub level: String,
    pub region: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BuyerView {
    pub id: String,
    #[schema(example = "杨浦区五角场街道办事处")]
    pub name: String,
    /// `street` (街道办) or `district` (区民政局).
    #[schema(example = "street")]
    pub level: String,
    #[schema(example = "上海市杨浦区五角场街道")]
    pub region: String,
    pub created_at: DateTime<Utc>,
}

impl From<Buyer> for BuyerView {
    fn from(b: Buyer) -> Self {
        BuyerView {
            id: b.id,
            name: b.name,
            level: b.level,
            region: b.region,
            created_at: b.created_at.and_utc(),
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = projects)]
pub struct Project {
    pub id: String,
    pub buyer_id: String,
    pub title: String,
    pub category: String,
    pub description: String,
    pub budget_fen: i64,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub bids_close_at: NaiveDateTime,
    pub status: String,
    pub cancel_reason: Option<String>,
    pub awarded_bid_id: Option<String>,
    /// The contracted organization, once awarded.
    pub organization_id: Option<String>,
    /// What the figures last looked like to the live watcher (see `live`).
    pub report_mark: Option<String>,
    pub frozen_at: Option<NaiveDateTime>,
    /// The report as it stood at `close`, JSON.
    pub frozen_report: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Project {
    /// The state at `now`: an `open` project whose bids closed is `reviewing`.
    pub fn status_at(&self, now: NaiveDateTime) -> &str {
        if self.status == OPEN && self.bids_close_at <= now {
            REVIEWING
        } else {
            &self.status
        }
    }

    pub fn delivering(&self) -> bool {
        DELIVERING.contains(&self.status.as_str())
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = indicators)]
pub struct Indicator {
    pub id: String,
    pub project_id: String,
    pub position: i32,
    pub level1: String,
    pub level2: String,
    pub name: String,
    pub source: String,
    pub op: String,
    pub target: f64,
    pub unit: String,
    pub weight: i32,
    pub deviation_note: Option<String>,
    pub deviation_by: Option<String>,
    pub deviation_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct IndicatorView {
    pub id: String,
    /// `output` (产出), `effect` (效益), `satisfaction` (满意度) or `budget` (预算执行).
    #[schema(example = "output")]
    pub level1: String,
    #[schema(example = "数量指标")]
    pub level2: String,
    #[schema(example = "服务人次")]
    pub name: String,
    /// Where the actual value comes from; see the contract's table of sources.
    #[schema(example = "attendances")]
    pub source: String,
    /// `>=`, `<=` or `=`.
    #[schema(example = ">=")]
    pub op: String,
    #[schema(example = 1200)]
    pub target: f64,
    #[schema(example = "人次")]
    pub unit: String,
    #[schema(example = 40)]
    pub weight: i32,
    pub deviation_note: Option<String>,
}

impl From<Indicator> for IndicatorView {
    fn from(i: Indicator) -> Self {
        IndicatorView {
            id: i.id,
            level1: i.level1,
            level2: i.level2,
            name: i.name,
            source: i.source,
            op: i.op,
            target: i.target,
            unit: i.unit,
            weight: i.weight,
            deviation_note: i.deviation_note,
        }
    }
}

/// A project as every client sees it, with its indicator table.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ProjectView {
    pub id: String,
    pub buyer_id: String,
    pub buyer_name: String,
    #[schema(example = "五角场街道为老服务项目")]
    pub title: String,
    /// An event category.
    #[schema(example = "health_talk")]
    pub category: String,
    pub description: String,
    /// Yuan, two decimals.
    #[schema(example = "120000.00")]
    pub budget_cny: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub centre_ids: Vec<String>,
    pub bids_close_at: DateTime<Utc>,
    /// `draft`, `open`, `reviewing`, `contracted`, `mid_term_review`,
    /// `final_review`, `closed` or `cancelled`.
    #[schema(example = "open")]
    pub status: String,
    pub cancel_reason: Option<String>,
    /// The contracted organization, once awarded.
    pub organization_id: Option<String>,
    pub awarded_bid_id: Option<String>,
    pub frozen_at: Option<DateTime<Utc>>,
    pub indicators: Vec<IndicatorView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema::bids)]
pub struct Bid {
    pub id: String,
    pub project_id: String,
    pub organization_id: String,
    pub plan: String,
    pub budget_fen: i64,
    pub team: String,
    /// JSON array of `{month, what}`.
    pub milestones: String,
    pub status: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Milestone {
    /// `YYYY-MM`.
    #[schema(example = "2026-12")]
    pub month: String,
    #[schema(example = "完成首批 8 场健康讲座")]
    pub what: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BidView {
    pub id: String,
    pub project_id: String,
    pub organization_id: String,
    pub organization_name: String,
    pub plan: String,
    #[schema(example = "115000.00")]
    pub budget_cny: String,
    pub team: String,
    pub milestones: Vec<Milestone>,
    /// `live` or `withdrawn`.
    pub status: String,
    /// Scores given so far, and their mean total (0–100), when the caller may
    /// see scores (buyer staff, evaluators).
    pub score_count: Option<i64>,
    pub mean_score: Option<f64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = bid_scores)]
pub struct BidScore {
    pub id: String,
    pub bid_id: String,
    pub reviewer_id: String,
    pub qualification: i32,
    pub plan: i32,
    pub capacity: i32,
    pub outputs: i32,
    pub budget: i32,
    pub comment: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BidScoreView {
    pub id: String,
    pub bid_id: String,
    pub reviewer_id: String,
    pub qualification: i32,
    pub plan: i32,
    pub capacity: i32,
    pub outputs: i32,
    pub budget: i32,
    /// The sum of the five criteria, 0–100.
    pub total: i32,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<BidScore> for BidScoreView {
    fn from(s: BidScore) -> Self {
        BidScoreView {
            total: s.qualification + s.plan + s.capacity + s.outputs + s.budget,
            id: s.id,
            bid_id: s.bid_id,
            reviewer_id: s.reviewer_id,
            qualification: s.qualification,
            plan: s.plan,
            capacity: s.capacity,
            outputs: s.outputs,
            budget: s.budget,
            comment: s.comment,
            created_at: s.created_at.and_utc(),
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = expenses)]
pub struct Expense {
    pub id: String,
    pub project_id: String,
    pub spent_on: NaiveDate,
    pub amount_fen: i64,
    pub item: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ExpenseView {
    pub id: String,
    pub project_id: String,
    pub spent_on: NaiveDate,
    #[schema(example = "3200.50")]
    pub amount_cny: String,
    #[schema(example = "讲座教材印刷")]
    pub item: String,
    pub created_at: DateTime<Utc>,
}

impl From<Expense> for ExpenseView {
    fn from(e: Expense) -> Self {
        ExpenseView {
            id: e.id,
            project_id: e.project_id,
            spent_on: e.spent_on,
            amount_cny: money::format(e.amount_fen),
            item: e.item,
            created_at: e.created_at.and_utc(),
        }
    }
}
