//! Deliveries derived from each commit's messages: an organization's
//! `org:{id}` messages (and a project's, for its buyer) of the kinds its
//! endpoints chose become one delivery per endpoint, and a queued job that
//! posts it.
//!
//! Inside the commit that recorded the messages, only the decision is
//! written: the endpoints are read and the deliveries (ids, bodies) made,
//! then stored as one [`FANOUT_JOB`] per few hundred. That job writes the
//! delivery rows and their jobs afterwards, in its own transaction, as
//! background work: a burst of sign-ups writes one row per commit for its
//! webhooks instead of two per sign-up, and the rows follow once the
//! requests leave the writer free. Nothing is lost in between (the job is
//! durable), nothing happens twice (the job is removed in the transaction
//! that writes its deliveries), and a delivery keeps the id, `webhook-id` and
//! `timestamp` its commit gave it.

use std::collections::HashMap;

use diesel::prelude::*;
use serde_json::{Map, Value, json};

use super::{BUYER, BUYER_EVENTS, Endpoint, ORG_EVENTS, ORGANIZATION};
use crate::db::schema::{webhook_deliveries, webhook_endpoints};
use crate::db::{self, Db, DbConn, Follower, Message, Tx};
use crate::error::ApiError;
use crate::jobs::runner::{Handler, Outcome, Running};
use crate::jobs::{self, Job, NewJob};

/// The job kind that posts one delivery.
pub const DELIVERY_JOB: &str = "webhook";

/// The job kind that writes the deliveries one commit decided on.
pub const FANOUT_JOB: &str = "webhook_fanout";

/// Deliveries per [`FANOUT_JOB`]: a commit that cancels an event of
/// thousands writes several jobs of bounded size (about 50 KB each, so a
/// runner's claim of 500 jobs stays within tens of megabytes).
const FANOUT_CHUNK: usize = 100;

/// Fields a thin payload may carry: ids, states, times and counts, never a
/// name, phone or free text.
const THIN: &[&str] = &[
    "registration_id",
    "event_id",
    "project_id",
    "checkin_id",
    "organization_id",
    "centre_id",
    "status",
    "party_size",
    "method",
    "offline",
    "scanned_at",
    "starts_at",
    "ends_at",
    "capacity",
    "seats_left",
];

/// A message's data cut down to [`THIN`] (an event's `id` becomes `event_id`).
pub fn thin(kind: &str, data: &Value) -> Value {
    let mut out = Map::new();
    let named = if kind.starts_with("event.") {
        Some("event_id")
    } else if kind.starts_with("project.") || kind.starts_with("report.") {
        Some("project_id")
    } else {
        None
    };
    if let (Some(name), Some(id)) = (named, data.get("id")) {
        out.insert(name.into(), id.clone());
    }
    for field in THIN {
        if let Some(v) = data.get(*field) {
            if !v.is_null() {
                out.insert((*field).to_owned(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// The `db::Follower` that decides on webhook deliveries: once per commit,
/// so a group commit of 64 sign-ups reads an organization's endpoints once
/// and writes one [`FANOUT_JOB`] row, not 64 deliveries and 64 jobs.
pub struct Deliveries;

impl Follower for Deliveries {
    fn per_commit(&self) -> bool {
        true
    }

    fn follow(&self, tx: &mut Tx<'_>, recorded: &[Message]) -> Result<(), ApiError> {
        let mut by_org: HashMap<&str, Vec<&Message>> = HashMap::new();
        for m in recorded {
            if let Some(org) = m.topic.strip_prefix("org:") {
                if ORG_EVENTS.contains(&m.kind.as_str()) {
                    by_org.entry(org).or_default().push(m);
                }
            }
        }
        let mut out = Outgoing::default();
        for m in recorded {
            if let Some(project) = m.topic.strip_prefix("project:") {
                if BUYER_EVENTS.contains(&m.kind.as_str()) {
                    for_buyer(tx, project, m, &mut out)?;
                }
            }
        }
        for (org, messages) in by_org {
            let endpoints = active(tx, ORGANIZATION, org)?;
            if endpoints.is_empty() {
                continue;
            }
            let chosen: Vec<(Endpoint, Vec<String>)> = endpoints
                .into_iter()
                .map(|e| {
                    let events = e.events();
                    (e, events)
                })
                .collect();
            for m in messages {
                let data: Value = serde_json::from_str(&m.data)
                    .map_err(|e| ApiError::internal(format!("message data: {e}")))?;
                let payload = thin(&m.kind, &data);
                for (endpoint, _) in chosen.iter().filter(|(_, events)| events.contains(&m.kind)) {
                    out.add(endpoint, &m.kind, &payload);
                }
            }
        }
        out.queue(tx)
    }
}

/// A project's message to its buyer's endpoints; a project that closes also
/// sends `report.frozen`.
fn for_buyer(
    tx: &mut Tx<'_>,
    project_id: &str,
    m: &Message,
    out: &mut Outgoing,
) -> Result<(), ApiError> {
    let Some(project) = crate::projects::queries::find(tx, project_id)? else {
        return Ok(());
    };
    let endpoints = active(tx, BUYER, &project.buyer_id)?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let data: Value = serde_json::from_str(&m.data)
        .map_err(|e| ApiError::internal(format!("message data: {e}")))?;
    let mut kinds = vec![m.kind.as_str()];
    if m.kind == "project.updated" && data.get("status").and_then(Value::as_str) == Some("closed") {
        kinds.push("report.frozen");
    }
    for kind in kinds {
        let payload = thin(kind, &data);
        for endpoint in endpoints
            .iter()
            .filter(|e| e.events().iter().any(|k| k == kind))
        {
            out.add(endpoint, kind, &payload);
        }
    }
    Ok(())
}

/// Endpoints of an owner that receive deliveries now.
pub fn active(
    conn: &mut DbConn,
    owner_kind: &str,
    owner_id: &str,
) -> Result<Vec<Endpoint>, ApiError> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::owner_kind.eq(owner_kind))
        .filter(webhook_endpoints::owner_id.eq(owner_id))
        .filter(webhook_endpoints::deleted_at.is_null())
        .filter(webhook_endpoints::disabled_at.is_null())
        .select(Endpoint::as_select())
        .load(conn)?)
}

/// One delivery a commit decided on, as its [`FANOUT_JOB`] carries it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Decided {
    id: String,
    endpoint_id: String,
    /// The `webhook-id`.
    message_id: String,
    event: String,
    body: String,
}

/// The deliveries one commit causes, handed on by [`Outgoing::queue`].
#[derive(Default)]
struct Outgoing(Vec<Decided>);

impl Outgoing {
    fn add(&mut self, endpoint: &Endpoint, kind: &str, data: &Value) {
        let body =
            json!({"type": kind, "timestamp": db::now().and_utc(), "data": data}).to_string();
        self.0.push(Decided {
            id: uuid::Uuid::new_v4().to_string(),
            endpoint_id: endpoint.id.clone(),
            message_id: format!("msg_{}", uuid::Uuid::now_v7().simple()),
            event: kind.to_owned(),
            body,
        });
    }

    /// One [`FANOUT_JOB`] per [`FANOUT_CHUNK`] deliveries, due now.
    fn queue(self, tx: &mut Tx<'_>) -> Result<(), ApiError> {
        for chunk in self.0.chunks(FANOUT_CHUNK) {
            jobs::enqueue(
                tx,
                NewJob {
                    kind: FANOUT_JOB,
                    key: None,
                    subject: None,
                    payload: &chunk,
                    run_at: db::now(),
                },
            )?;
        }
        Ok(())
    }
}

/// Handles [`FANOUT_JOB`]s: writes the deliveries, pending and due now, and a
/// job each that posts it, and removes the fanout job, in one transaction.
pub struct Fanout;

impl Handler for Fanout {
    /// The job is the deliveries' only record until it has run.
    fn never_dropped(&self) -> bool {
        true
    }

    fn run(&self, db: Db, job: Job) -> Running {
        Box::pin(async move {
            let decided: Vec<Decided> = match job.payload() {
                Ok(decided) => decided,
                Err(e) => {
                    return Outcome::Drop {
                        error: e.to_string(),
                    };
                }
            };
            let written = db
                .write(move |tx| {
                    // Gone or claimed again (its lease ran out): another run
                    // writes these deliveries, or has.
                    if jobs::complete(tx, &job)? {
                        write_deliveries(tx, &decided)?;
                    }
                    Ok(())
                })
                .await;
            match written {
                Ok(()) => Outcome::CompletedWithMore,
                Err(e) => Outcome::Retry {
                    at: db::now() + chrono::Duration::seconds(30),
                    error: e.to_string(),
                },
            }
        })
    }
}

fn write_deliveries(tx: &mut Tx<'_>, decided: &[Decided]) -> Result<(), ApiError> {
    let now = db::now();
    let rows: Vec<_> = decided
        .iter()
        .map(|d| {
            (
                webhook_deliveries::id.eq(d.id.as_str()),
                webhook_deliveries::endpoint_id.eq(d.endpoint_id.as_str()),
                webhook_deliveries::message_id.eq(d.message_id.as_str()),
                webhook_deliveries::event.eq(d.event.as_str()),
                webhook_deliveries::payload.eq(d.body.as_str()),
                webhook_deliveries::attempt.eq(0),
                webhook_deliveries::status.eq("pending"),
                webhook_deliveries::next_attempt_at.eq(Some(now)),
                // When the row is written: the delivery log pages by it.
                webhook_deliveries::created_at.eq(now),
                webhook_deliveries::updated_at.eq(now),
            )
        })
        .collect();
    let insert = diesel::insert_into(webhook_deliveries::table).values(&rows);
    crate::db_run!(tx.conn(), |c| insert.execute(c))?;
    let jobs: Vec<(String, String, chrono::NaiveDateTime)> = decided
        .iter()
        .map(|d| (job_key(&d.id), job_payload(&d.id), now))
        .collect();
    jobs::enqueue_new(tx, DELIVERY_JOB, &jobs)
}

fn job_key(delivery_id: &str) -> String {
    format!("webhook:{delivery_id}")
}

fn job_payload(delivery_id: &str) -> String {
    json!({"delivery_id": delivery_id}).to_string()
}

/// Queues (or re-queues) the job that posts delivery `id` at `at`.
pub fn schedule(tx: &mut Tx<'_>, id: &str, at: chrono::NaiveDateTime) -> Result<(), ApiError> {
    jobs::enqueue(
        tx,
        NewJob {
            kind: DELIVERY_JOB,
            key: Some(job_key(id)),
            subject: None,
            payload: &json!({"delivery_id": id}),
            run_at: at,
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_keeps_ids_and_states_and_drops_everything_else() {
        let view = json!({"id": "e1", "title": "张阿姨的生日会", "status": "published",
            "starts_at": "2026-12-03T06:00:00Z", "location": "三楼", "organization_id": "o1",
            "description": "联系 13812345678"});
        assert_eq!(
            thin("event.updated", &view),
            json!({"event_id": "e1", "status": "published", "starts_at": "2026-12-03T06:00:00Z", "organization_id": "o1"})
        );
    }
}
