//! The `project:{id}` live topic (buyer staff, evaluators, the contracted
//! organization's members) and the watcher that feeds it.
//!
//! `project.updated` is recorded by each write that changes the project.
//! `report.changed` comes from [`run`], a task that once a second compares a
//! cheap mark of every delivering contract's inputs (check-in changes, from
//! the audit trail that only grows; feedback answers; sessions held by now;
//! the project's own `updated_at`, which expenses, typed values, notes and
//! evaluations touch) with the mark stored on the project. Check-in and
//! feedback thus import nothing of projects, and the messages are coalesced
//! by construction: at most one per project per tick. The stored mark is
//! swapped with a conditional update, so with several instances only the
//! one that swaps it announces. The same tick stores the lazy `open →
//! reviewing` transition of projects whose bids closed.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::{access, queries, report, routes};
use crate::db::{self, Db, DbConn};
use crate::error::{ApiError, Code};
use crate::events::{PUBLISHED, queries as events};
use crate::live::topics::{TopicPolicy, Viewer};

pub struct ProjectTopic;

impl TopicPolicy for ProjectTopic {
    fn snapshot(&self, conn: &mut DbConn, viewer: &Viewer, id: &str) -> Result<Value, ApiError> {
        let user = viewer
            .user
            .as_ref()
            .ok_or(ApiError::from(Code::Forbidden))?;
        let a = match access::load(conn, id, user, false) {
            Ok(a) => a,
            Err(ApiError::Problem(Code::NotFound)) => return Err(Code::Forbidden.into()),
            Err(e) => return Err(e),
        };
        if !(a.reviews() || a.org_role.is_some()) {
            return Err(Code::Forbidden.into());
        }
        Ok(json!({"id": a.project.id, "status": a.project.status_at(db::now())}))
    }
}

/// The marks of every delivering contract whose mark moved: `(id, mark)`
/// (four queries).
pub fn moved_marks(conn: &mut DbConn) -> Result<Vec<(String, String)>, ApiError> {
    let contracts = queries::delivering(conn)?;
    if contracts.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = contracts.iter().map(|c| c.0.clone()).collect();
    let linked = events::linked_to(conn, &ids)?;
    let event_ids: Vec<String> = linked.iter().map(|l| l.0.clone()).collect();
    let changes: HashMap<String, i64> = crate::checkin::figures::change_counts(conn, &event_ids)?
        .into_iter()
        .collect();
    let answers: HashMap<String, i64> =
        crate::feedback::queries::counts_by_event(conn, &event_ids)?
            .into_iter()
            .collect();
    let now = db::now();
    let mut sums: HashMap<&str, (i64, i64, i64)> = HashMap::new();
    for (event, contract, status, ends_at) in &linked {
        let s = sums.entry(contract.as_str()).or_default();
        s.0 += changes.get(event).copied().unwrap_or(0);
        s.1 += answers.get(event).copied().unwrap_or(0);
        if status == PUBLISHED && *ends_at <= now {
            s.2 += 1;
        }
    }
    Ok(contracts
        .iter()
        .filter_map(|(id, stored, updated_at)| {
            let (c, f, h) = sums.get(id.as_str()).copied().unwrap_or_default();
            let mark = format!("{c}:{f}:{h}:{}", updated_at.and_utc().timestamp_micros());
            (stored.as_deref() != Some(mark.as_str())).then(|| (id.clone(), mark))
        })
        .collect())
}

/// One tick: settle closed bidding, announce moved figures.
pub async fn tick(db: &Db) -> Result<(), ApiError> {
    let (closed, moved) = db
        .run(|c| Ok((queries::closed_for_bids(c, db::now())?, moved_marks(c)?)))
        .await?;
    if closed.is_empty() && moved.is_empty() {
        return Ok(());
    }
    db.write(move |tx| {
        let now = db::now();
        for id in closed {
            if queries::settle(tx, &id, now)? {
                routes::updated(tx, &id, super::REVIEWING);
            }
        }
        for (id, mark) in moved {
            if queries::set_report_mark(tx, &id, &mark)? {
                report::changed(tx, &id);
            }
        }
        Ok(())
    })
    .await
}

/// Runs [`tick`] every second until the server stops.
pub async fn run(db: Db) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = tick(&db).await {
            tracing::warn!(error = %e, "project watcher tick failed");
        }
    }
}
