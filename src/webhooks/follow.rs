//! Deliveries derived from each commit's messages, in the same transaction:
//! an organization's `org:{id}` messages of the kinds its endpoints chose
//! become one delivery per endpoint, and a queued job that posts it.

use std::collections::HashMap;

use diesel::prelude::*;
use serde_json::{Map, Value, json};

use super::{BUYER, BUYER_EVENTS, Endpoint, ORG_EVENTS, ORGANIZATION};
use crate::db::schema::{webhook_deliveries, webhook_endpoints};
use crate::db::{self, DbConn, Follower, Message, Tx};
use crate::error::ApiError;
use crate::jobs::{self, NewJob};

/// The job kind that posts one delivery.
pub const DELIVERY_JOB: &str = "webhook";

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

/// The `db::Follower` that queues webhook deliveries: once per commit, so a
/// group commit of 64 sign-ups reads an organization's endpoints once and
/// writes its deliveries and their jobs in two statements, not 128.
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

/// One delivery to queue: (id, endpoint, message id, kind, body).
type Delivery = (String, String, String, String, String);

/// The deliveries one commit causes, written together by [`Outgoing::queue`].
#[derive(Default)]
struct Outgoing(Vec<Delivery>);

impl Outgoing {
    fn add(&mut self, endpoint: &Endpoint, kind: &str, data: &Value) {
        let id = uuid::Uuid::new_v4().to_string();
        let message_id = format!("msg_{}", uuid::Uuid::now_v7().simple());
        let body =
            json!({"type": kind, "timestamp": db::now().and_utc(), "data": data}).to_string();
        self.0
            .push((id, endpoint.id.clone(), message_id, kind.to_owned(), body));
    }

    /// The deliveries, pending and due now, and a job each that posts it.
    fn queue(self, tx: &mut Tx<'_>) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let now = db::now();
        for chunk in self.0.chunks(500) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(id, endpoint, message_id, kind, body)| {
                    (
                        webhook_deliveries::id.eq(id.as_str()),
                        webhook_deliveries::endpoint_id.eq(endpoint.as_str()),
                        webhook_deliveries::message_id.eq(message_id.as_str()),
                        webhook_deliveries::event.eq(kind.as_str()),
                        webhook_deliveries::payload.eq(body.as_str()),
                        webhook_deliveries::attempt.eq(0),
                        webhook_deliveries::status.eq("pending"),
                        webhook_deliveries::next_attempt_at.eq(Some(now)),
                        webhook_deliveries::created_at.eq(now),
                        webhook_deliveries::updated_at.eq(now),
                    )
                })
                .collect();
            let insert = diesel::insert_into(webhook_deliveries::table).values(&rows);
            crate::db_run!(tx.conn(), |c| insert.execute(c))?;
        }
        let jobs: Vec<(String, String, chrono::NaiveDateTime)> = self
            .0
            .iter()
            .map(|(id, ..)| (job_key(id), job_payload(id), now))
            .collect();
        jobs::enqueue_new(tx, DELIVERY_JOB, &jobs)
    }
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
