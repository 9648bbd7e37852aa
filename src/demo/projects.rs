//! The purchased-service part of the demo: a street office (a buyer with one
//! staff member) and an evaluator, and a health-promotion project contracted
//! to one organization five weeks ago, with a month of delivered activities
//! at its centre, check-ins, feedback, an expense and a typed value, so the
//! report has something true to show.

use chrono::{Duration, TimeZone};

use super::activity;
use crate::accounts::User;
use crate::centres::Centre;
use crate::checkin::queries::{Outcome, Scan, apply};
use crate::db::{self, Tx};
use crate::error::ApiError;
use crate::events::queries as events;
use crate::feedback::{Feedback, queries as feedback};
use crate::organizations::Organization;
use crate::projects::input::IndicatorFields;
use crate::projects::{
    Bid, BidScore, Buyer, CONTRACTED, Expense, LIVE_BID, Project, queries as projects,
};
use crate::registrations::{CONFIRMED, Registration, seats};

#[expect(
    clippy::too_many_arguments,
    reason = "one indicator row, field by field"
)]
fn row(
    level1: &str,
    level2: &str,
    name: &str,
    source: &str,
    op: &str,
    target: f64,
    unit: &str,
    weight: i32,
) -> IndicatorFields {
    IndicatorFields {
        level1: level1.into(),
        level2: level2.into(),
        name: name.into(),
        source: source.into(),
        op: op.into(),
        target,
        unit: unit.into(),
        weight,
    }
}

fn indicators() -> Vec<IndicatorFields> {
    vec![
        row(
            "output",
            "数量指标",
            "服务人次",
            "attendances",
            ">=",
            400.0,
            "人次",
            30,
        ),
        row(
            "output",
            "数量指标",
            "活动场次",
            "sessions_held",
            ">=",
            48.0,
            "场",
            15,
        ),
        row(
            "output",
            "质量指标",
            "服务居民数",
            "unique_residents",
            ">=",
            60.0,
            "人",
            10,
        ),
        row(
            "effect",
            "社会效益",
            "老年人占比",
            "elderly_share",
            ">=",
            70.0,
            "%",
            10,
        ),
        row(
            "satisfaction",
            "服务对象满意度",
            "居民满意度",
            "satisfaction",
            ">=",
            90.0,
            "%",
            15,
        ),
        row(
            "effect",
            "社会效益",
            "志愿服务时长",
            "volunteer_hours",
            ">=",
            100.0,
            "小时",
            5,
        ),
        row(
            "budget",
            "预算执行",
            "预算执行率",
            "budget_execution",
            "<=",
            100.0,
            "%",
            10,
        ),
        row(
            "effect",
            "可持续影响",
            "居民健康档案建立",
            "manual",
            ">=",
            50.0,
            "份",
            5,
        ),
    ]
}

/// Seeds the buyer (with `clerk` as staff), `evaluator` and the contracted
/// project of `org` at `centre`, delivered to `residents`.
pub fn seed(
    c: &mut Tx<'_>,
    clerk: &User,
    evaluator: &User,
    org: &Organization,
    centre: &Centre,
    residents: &[User],
) -> Result<(), ApiError> {
    let now = db::now();
    let today = centre.tz().from_utc_datetime(&now).date_naive();
    let buyer = Buyer {
        id: uuid::Uuid::new_v4().to_string(),
        name: format!("{}办事处", centre.street),
        level: "street".into(),
        region: format!("{}{}", centre.district, centre.street),
        created_by: clerk.id.clone(),
        created_at: now - Duration::days(50),
    };
    projects::insert_buyer(c, &buyer)?;
    projects::add_buyer_member(c, &buyer.id, &clerk.id)?;

    let starts_on = today - Duration::days(35);
    let mut project = Project {
        id: uuid::Uuid::new_v4().to_string(),
        buyer_id: buyer.id.clone(),
        title: format!("{}为老健康服务项目", centre.street),
        category: "health_talk".into(),
        description: "为辖区老年人开展健康讲座与手指操，每周两场。".into(),
        budget_fen: 12_000_000,
        starts_on,
        ends_on: starts_on + Duration::days(182),
        bids_close_at: now - Duration::days(40),
        status: CONTRACTED.into(),
        cancel_reason: None,
        awarded_bid_id: None,
        organization_id: Some(org.id.clone()),
        report_mark: None,
        frozen_at: None,
        frozen_report: None,
        created_by: clerk.id.clone(),
        created_at: now - Duration::days(48),
        updated_at: now - Duration::days(36),
    };
    let bid = Bid {
        id: uuid::Uuid::new_v4().to_string(),
        project_id: project.id.clone(),
        organization_id: org.id.clone(),
        plan: "每周二、周四上午各一场健康讲座或手指操，配合血压测量。".into(),
        budget_fen: 11_500_000,
        team: "社工 3 名，社区医生志愿者 2 名".into(),
        milestones: "[]".into(),
        status: LIVE_BID.into(),
        created_by: org.created_by.clone(),
        created_at: now - Duration::days(44),
        withdrawn_at: None,
    };
    project.awarded_bid_id = Some(bid.id.clone());
    projects::insert_project(c, &project)?;
    projects::set_centres(c, &project.id, std::slice::from_ref(&centre.id))?;
    projects::replace_indicators(c, &project.id, &indicators())?;
    projects::insert_bid(c, &bid)?;
    projects::add_evaluator(c, &project.id, &evaluator.id, &clerk.id)?;
    projects::insert_score(
        c,
        &BidScore {
            id: uuid::Uuid::new_v4().to_string(),
            bid_id: bid.id.clone(),
            reviewer_id: evaluator.id.clone(),
            qualification: 18,
            plan: 17,
            capacity: 16,
            outputs: 18,
            budget: 17,
            comment: Some("方案扎实，团队有医生志愿者。".into()),
            created_at: now - Duration::days(39),
        },
    )?;

    // A month of delivery: Tuesday and Thursday mornings of the last four weeks.
    for day in (1..=29).rev() {
        let date = today - Duration::days(day);
        let weekday = chrono::Datelike::weekday(&date);
        if weekday != chrono::Weekday::Tue && weekday != chrono::Weekday::Thu {
            continue;
        }
        let mut event = activity(
            org,
            centre,
            "手指操：老年人健脑课",
            "health_talk",
            -day,
            9,
            30,
        );
        event.contract_id = Some(project.id.clone());
        events::insert(c, &event)?;
        let attending = 6 + usize::try_from(day % 5).unwrap_or(0);
        for (n, resident) in residents
            .iter()
            .cycle()
            .skip(usize::try_from(day).unwrap_or(0))
            .take(attending.min(residents.len()))
            .enumerate()
        {
            let party = if n == 0 { 2 } else { 1 };
            let consent = crate::registrations::consent::check(&event, true)?;
            let registration = Registration {
                id: uuid::Uuid::new_v4().to_string(),
                event_id: event.id.clone(),
                user_id: Some(resident.id.clone()),
                party_size: party,
                note: None,
                status: CONFIRMED.into(),
                waitlist_ticket: None,
                created_at: event.starts_at - Duration::days(2),
                updated_at: event.starts_at - Duration::days(2),
                promoted_at: None,
                cancelled_at: None,
                cancelled_by: None,
                over_capacity: false,
                consent_version: consent.map(str::to_owned),
                consented_at: consent.map(|_| event.starts_at - Duration::days(2)),
            };
            seats::confirmed_before(c, &registration)?;
            // Most come; the staff phone was offline in the hall.
            if n % 7 == 6 {
                continue;
            }
            let scan = Scan {
                event_id: &event.id,
                registration_id: &registration.id,
                method: crate::checkin::QR,
                device_id: Some("demo-phone"),
                offline: true,
                scanned_at: event.starts_at + Duration::minutes(i64::try_from(n).unwrap_or(0)),
                actor: &org.created_by,
            };
            let event_now = events::find(c, &event.id)?.unwrap_or(event.clone());
            let (outcome, people) = apply(c, &event_now, &scan)?;
            crate::checkin::queries::settle(c, &event_now, people)?;
            if let Outcome::Ok(..) = outcome {
                if n % 3 != 2 {
                    feedback::insert(
                        c,
                        &Feedback {
                            id: uuid::Uuid::new_v4().to_string(),
                            registration_id: registration.id.clone(),
                            event_id: event.id.clone(),
                            score: if n % 4 == 3 { 4 } else { 5 },
                            comment: (n == 1).then(|| "老师讲得很清楚，手指操回家也能做。".into()),
                            created_at: event.ends_at + Duration::hours(3),
                        },
                    )?;
                }
            }
        }
    }
    projects::insert_expense(
        c,
        &Expense {
            id: uuid::Uuid::new_v4().to_string(),
            project_id: project.id.clone(),
            spent_on: starts_on + Duration::days(10),
            amount_fen: 1_860_000,
            item: "讲座教材与血压计".into(),
            created_by: org.created_by.clone(),
            created_at: now - Duration::days(20),
        },
    )?;
    let manual = indicators_id(c, &project.id, "manual")?;
    projects::insert_actual(c, &manual, 21.0, "街道卫生服务中心台账", &evaluator.id)?;
    Ok(())
}

/// The id of the project's first indicator with `source`.
fn indicators_id(c: &mut Tx<'_>, project_id: &str, source: &str) -> Result<String, ApiError> {
    projects::indicators_of(c, project_id)?
        .into_iter()
        .find(|i| i.source == source)
        .map(|i| i.id)
        .ok_or_else(|| ApiError::internal("demo indicator missing"))
}
