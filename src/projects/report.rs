//! The report of a contract: every indicator's actual value computed from what
//! Mulin holds (check-ins, feedback, verified volunteer hours, expenses; only
//! `manual` indicators are typed), its achievement and suggested score, the
//! evaluators' scores, monthly sessions and attendance, the feedback summary
//! and the offline conflicts beside the figures. `GET /projects/{id}/report`
//! answers it as JSON or, with `?format=csv`, one row per indicator with
//! Chinese headers. A closed project answers the report frozen at `close`,
//! whatever happened since.
//!
//! [`compute`] runs a fixed number of queries whatever the size of the
//! contract: 13 at most (the organization and its person in charge (two or
//! three), the contract's events, their check-ins, their feedback, their
//! verified volunteer hours, the expenses, the awarded bid, the indicators,
//! the typed values, the evaluation scores, the offline conflicts), plus the
//! caller's access (at most 4). A frozen report is one read of the project.

use std::collections::{BTreeMap, HashMap, HashSet};

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::input::MANUAL;
use super::{Indicator, Project, access, queries};
use crate::auth::CurrentUser;
use crate::checkin::{ELDERLY, figures as checkins};
use crate::db::{self, Db, DbConn, Tx};
use crate::error::{ApiError, Invalid, Problem};
use crate::events::{PUBLISHED, queries as events};
use crate::feedback::{Summary, queries as feedback};
use crate::live::outbox::publish;
use crate::organizations::queries as orgs;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Report {
    pub project: ReportProject,
    /// The contracted organization; `null` before the award.
    pub organization: Option<ReportOrganization>,
    pub period: Period,
    /// When the report was frozen (at `close`); `null` while it moves.
    pub frozen_at: Option<DateTime<Utc>>,
    pub indicators: Vec<ReportIndicator>,
    pub monthly: Vec<Month>,
    pub feedback: Summary,
    pub anomalies: Anomalies,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReportProject {
    pub id: String,
    pub title: String,
    pub status: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReportOrganization {
    pub id: String,
    pub name: String,
    /// 负责人, as the owner set it (else the first owner).
    #[serde(default)]
    pub person_in_charge: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Period {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct GivenScoreView {
    /// `mid_term` or `final`.
    pub stage: String,
    /// The evaluator's name.
    pub reviewer: String,
    pub score: f64,
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReportIndicator {
    pub id: String,
    pub level1: String,
    pub level2: String,
    pub name: String,
    pub source: String,
    pub op: String,
    pub target: f64,
    pub unit: String,
    pub weight: i32,
    /// Computed by Mulin (typed only for `manual`); `null` when there is
    /// nothing to compute it from yet.
    pub actual: Option<f64>,
    pub achievement_pct: Option<f64>,
    pub suggested_score: Option<f64>,
    pub scores: Vec<GivenScoreView>,
    /// The contracted organization's note on why a target is missed.
    pub deviation_note: Option<String>,
    /// For `satisfaction`: the share of checked-in residents who answered.
    pub response_rate_pct: Option<f64>,
    /// For `manual`: the note and the name of whoever typed the value.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub actual_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub actual_by: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Month {
    /// `YYYY-MM`, in Shanghai time.
    #[schema(example = "2026-12")]
    pub month: String,
    pub sessions: i64,
    pub attendances: i64,
    pub unique_residents: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Anomalies {
    /// Scans uploaded from one phone that lost to another phone's scan of
    /// the same ticket; reported beside the figures, never counted in them.
    pub offline_conflicts: i64,
}

fn one_decimal(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Achievement in % (unrounded) of `actual` against `target` under `op`.
pub fn achievement(op: &str, target: f64, actual: f64) -> f64 {
    match op {
        ">=" if target == 0.0 => 100.0,
        ">=" => actual / target * 100.0,
        "<=" if actual <= target => 100.0,
        "<=" => target / actual * 100.0,
        _ if (actual - target).abs() < 1e-9 => 100.0,
        _ => 0.0,
    }
}

/// `weight × min(achievement, 100 %)`, one decimal.
pub fn suggested(weight: i32, achievement_pct: f64) -> f64 {
    one_decimal(f64::from(weight) * achievement_pct.min(100.0) / 100.0)
}

/// The local month of a UTC time, in Shanghai.
fn month_of(at: NaiveDateTime) -> String {
    let local = at.and_utc().with_timezone(&chrono_tz::Asia::Shanghai);
    format!("{:04}-{:02}", local.year(), local.month())
}

/// Every month from `from` to `to`, inclusive, as `YYYY-MM`.
fn months(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let (mut y, mut m) = (from.year(), from.month());
    while (y, m) <= (to.year(), to.month()) && out.len() < 48 {
        out.push(format!("{y:04}-{m:02}"));
        if m == 12 {
            y += 1;
            m = 1;
        } else {
            m += 1;
        }
    }
    out
}

/// The report as it stands now (or, for a closed project, as frozen).
/// `frozen_at`: the report being frozen at that moment.
pub fn compute(
    conn: &mut DbConn,
    p: &Project,
    frozen_at: Option<NaiveDateTime>,
) -> Result<Report, ApiError> {
    if let (Some(text), None) = (&p.frozen_report, frozen_at) {
        return serde_json::from_str(text)
            .map_err(|e| ApiError::internal(format!("frozen report: {e}")));
    }
    let now = db::now();
    let organization = match &p.organization_id {
        Some(id) => match orgs::find(conn, id)? {
            Some(o) => Some(ReportOrganization {
                person_in_charge: orgs::person_in_charge(conn, &o.id)?,
                id: o.id,
                name: o.name,
                contact_phone: o.contact_phone,
            }),
            None => None,
        },
        None => None,
    };
    // The contract's events that count: published (not drafts, not cancelled).
    let linked: Vec<_> = events::of_contract(conn, &p.id)?
        .into_iter()
        .filter(|e| e.status == PUBLISHED)
        .collect();
    let ids: Vec<String> = linked.iter().map(|e| e.id.clone()).collect();
    let month_of_event: HashMap<&str, String> = linked
        .iter()
        .map(|e| (e.id.as_str(), month_of(e.starts_at)))
        .collect();
    let held: Vec<&str> = linked
        .iter()
        .filter(|e| e.ends_at <= now)
        .map(|e| e.id.as_str())
        .collect();

    let facts = checkins::facts_of(conn, &ids)?;
    let scores = feedback::scores_of(conn, &ids)?;
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let tenths = crate::volunteers::queries::verified_tenths_on_events(conn, &id_refs)?;
    let spent = queries::spent(conn, &p.id)?;
    let awarded_budget = match &p.awarded_bid_id {
        Some(bid) => queries::bid(conn, bid)?.map(|b| b.budget_fen),
        None => None,
    };
    let indicators = queries::indicators_of(conn, &p.id)?;
    let actuals = queries::latest_actuals(conn, &p.id)?;
    let given = queries::given_scores(conn, &p.id)?;
    let offline_conflicts = checkins::offline_conflicts(conn, &ids)?;

    // Whole-contract figures.
    let attendances: i64 = facts.iter().map(|f| i64::from(f.people)).sum();
    let mut residents: HashMap<&str, bool> = HashMap::new();
    let mut banded: HashSet<&str> = HashSet::new();
    for f in &facts {
        if let Some(key) = &f.attendee_key {
            let elderly = residents.entry(key.as_str()).or_insert(false);
            if let Some(band) = &f.age_band {
                banded.insert(key.as_str());
                *elderly |= band == ELDERLY;
            }
        }
    }
    let unique_residents = residents.len() as i64;
    let elderly = banded.iter().filter(|k| residents[*k]).count();
    let elderly_share = (!banded.is_empty()).then(|| elderly as f64 / banded.len() as f64 * 100.0);
    let resident_checkins = facts.iter().filter(|f| f.attendee_key.is_some()).count();
    let satisfaction = Summary::exact_mean(&scores).map(|m| m * 20.0);
    let response_rate =
        (resident_checkins > 0).then(|| scores.len() as f64 / resident_checkins as f64 * 100.0);
    let budget_execution = awarded_budget
        .filter(|b| *b > 0)
        .map(|b| spent as f64 / b as f64 * 100.0);

    let mut by_indicator: HashMap<&str, Vec<GivenScoreView>> = HashMap::new();
    for g in &given {
        by_indicator
            .entry(g.indicator_id.as_str())
            .or_default()
            .push(GivenScoreView {
                stage: g.stage.clone(),
                reviewer: g.reviewer.clone(),
                score: g.score,
                note: g.note.clone(),
            });
    }

    let rows = indicators
        .into_iter()
        .map(|i: Indicator| {
            let manual = actuals.get(&i.id);
            let actual = match i.source.as_str() {
                "sessions_held" => Some(held.len() as f64),
                "attendances" => Some(attendances as f64),
                "unique_residents" => Some(unique_residents as f64),
                "elderly_share" => elderly_share.map(one_decimal),
                "satisfaction" => satisfaction.map(one_decimal),
                "volunteer_hours" => Some(tenths as f64 / 10.0),
                "budget_execution" => budget_execution.map(one_decimal),
                MANUAL => manual.map(|a| a.value),
                _ => None,
            };
            let exact = match i.source.as_str() {
                "elderly_share" => elderly_share,
                "satisfaction" => satisfaction,
                "budget_execution" => budget_execution,
                _ => actual,
            };
            let pct = exact.map(|a| achievement(&i.op, i.target, a));
            ReportIndicator {
                achievement_pct: pct.map(one_decimal),
                suggested_score: pct.map(|pct| suggested(i.weight, pct)),
                scores: by_indicator.remove(i.id.as_str()).unwrap_or_default(),
                response_rate_pct: (i.source == "satisfaction")
                    .then_some(response_rate.map(one_decimal))
                    .flatten(),
                actual_note: manual.map(|a| a.note.clone()),
                actual_by: manual.map(|a| a.author.clone()),
                actual,
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
        })
        .collect();

    // Monthly figures over the whole period.
    let mut monthly: BTreeMap<String, (i64, i64, HashSet<&str>)> = months(p.starts_on, p.ends_on)
        .into_iter()
        .map(|m| (m, (0, 0, HashSet::new())))
        .collect();
    for id in &held {
        if let Some(m) = month_of_event.get(id) {
            monthly.entry(m.clone()).or_default().0 += 1;
        }
    }
    for f in &facts {
        if let Some(m) = month_of_event.get(f.event_id.as_str()) {
            let slot = monthly.entry(m.clone()).or_default();
            slot.1 += i64::from(f.people);
            if let Some(key) = &f.attendee_key {
                slot.2.insert(key.as_str());
            }
        }
    }
    let monthly = monthly
        .into_iter()
        .map(|(month, (sessions, attendances, residents))| Month {
            month,
            sessions,
            attendances,
            unique_residents: residents.len() as i64,
        })
        .collect();

    Ok(Report {
        project: ReportProject {
            id: p.id.clone(),
            title: p.title.clone(),
            status: if frozen_at.is_some() {
                super::CLOSED.to_owned()
            } else {
                p.status_at(now).to_owned()
            },
        },
        organization,
        period: Period {
            starts_on: p.starts_on,
            ends_on: p.ends_on,
        },
        frozen_at: frozen_at.map(|t| t.and_utc()),
        indicators: rows,
        monthly,
        feedback: Summary::of(&scores),
        anomalies: Anomalies { offline_conflicts },
    })
}

/// Announces that the project's figures moved (see `live` for who calls it).
pub fn changed(tx: &mut Tx<'_>, project_id: &str) {
    publish(
        tx,
        format!("project:{project_id}"),
        "report.changed",
        &json!({"id": project_id}),
    );
}

/// Loads the report for a caller who may read it (buyer staff, evaluators,
/// the contracted organization's owners and managers).
pub fn for_reader(conn: &mut DbConn, id: &str, user: &CurrentUser) -> Result<Report, ApiError> {
    let a = access::load(conn, id, user, false)?;
    a.require(a.reads_report())?;
    compute(conn, &a.project, None)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

pub const FORMATS: &[&str] = &["json", "csv"];

/// The report: buyer staff, evaluators, the contracted organization.
#[utoipa::path(get, path = "/api/v1/projects/{id}/report", tag = "projects",
    security(("bearer" = [])),
    params(("id" = String, Path), ReportQuery),
    responses(
        (status = 200, body = Report, description = "JSON, or with `?format=csv` a CSV file (UTF-8 with BOM) with one row per indicator and Chinese headers"),
        (status = 403, description = "`forbidden`", body = Problem),
        (status = 404, description = "`not_found`", body = Problem),
        (status = 422, description = "`validation_failed` (unknown `format`)", body = Problem),
    ))]
pub async fn get(
    user: CurrentUser,
    db: web::Data<Db>,
    id: web::Path<String>,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let format = match q.format.as_deref() {
        None | Some("json") => "json",
        Some("csv") => "csv",
        Some(_) => return Err(ApiError::field("format", Invalid::OneOf(FORMATS))),
    };
    let report = db.run(move |c| for_reader(c, &id, &user)).await?;
    if format == "csv" {
        let bytes = super::report_csv::file(&report)?;
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"report.csv\"",
            ))
            .body(bytes));
    }
    Ok(HttpResponse::Ok().json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn achievement_and_suggested_scores_follow_the_contract() {
        let pct = achievement(">=", 1200.0, 356.0);
        assert_eq!(one_decimal(pct), 29.7);
        assert_eq!(suggested(40, pct), 11.9);
        assert_eq!(achievement(">=", 0.0, 0.0), 100.0);
        assert_eq!(achievement("<=", 10.0, 0.0), 100.0);
        assert_eq!(achievement("<=", 10.0, 20.0), 50.0);
        assert_eq!(achievement("=", 3.0, 3.0), 100.0);
        assert_eq!(achievement("=", 3.0, 2.0), 0.0);
        assert_eq!(suggested(20, 150.0), 20.0);
        assert_eq!(
            months(
                NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default(),
                NaiveDate::from_ymd_opt(2027, 2, 28).unwrap_or_default()
            ),
            vec!["2026-12", "2027-01", "2027-02"]
        );
    }
}
