//! Personal data, as one contract every feature signs: what it holds about a
//! person, how that is exported (`GET /me/export`) and how it is erased
//! (`DELETE /me`). Each feature that keeps rows about a person implements
//! [`Personal`] next to its tables; `app` registers them all in a
//! [`Registry`], which the account routes walk. Every table of the schema is
//! either claimed by a registered part or listed in [`NOT_PERSONAL`] with the
//! reason; a test fails when a new table is neither, so nothing personal is
//! added without being exported and erased.
//!
//! This module sits low (it knows only `db` and `error`): features implement
//! it, and nothing here imports a feature.

use std::sync::Arc;

use serde_json::Value;

use crate::db::{DbConn, Tx};
use crate::error::ApiError;

/// One feature's share of a person's data.
pub trait Personal: Send + Sync {
    /// The section of the export document this part fills.
    fn section(&self) -> &'static str;
    /// The tables whose rows about a person this part exports and erases.
    fn tables(&self) -> &'static [&'static str];
    /// Refuses the erasure before anything is changed (the sole owner of an
    /// organization).
    fn refuse_erasure(&self, _conn: &mut DbConn, _user_id: &str) -> Result<(), ApiError> {
        Ok(())
    }
    /// What this part holds about `user_id`, as JSON.
    fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError>;
    /// Erases it, inside the erasure's one transaction. What must stay for
    /// others' figures (attendance, hours) stays, without the person.
    fn erase(&self, tx: &mut Tx<'_>, user_id: &str) -> Result<(), ApiError>;
    /// Erases what this part holds about the people of one ended activity
    /// whose retention period has passed (`sensitive`: counselling, health
    /// talks, legal aid, meal help, whose whole roster goes). Counts stay.
    fn erase_event(
        &self,
        _tx: &mut Tx<'_>,
        _event_id: &str,
        _sensitive: bool,
    ) -> Result<(), ApiError> {
        Ok(())
    }
}

/// Every registered part, erased in registration order (register the account
/// itself last: the others may still read it).
#[derive(Clone, Default)]
pub struct Registry {
    parts: Vec<Arc<dyn Personal>>,
}

impl Registry {
    pub fn with(mut self, part: impl Personal + 'static) -> Registry {
        self.parts.push(Arc::new(part));
        self
    }

    pub fn parts(&self) -> &[Arc<dyn Personal>] {
        &self.parts
    }

    /// Every table some part claims.
    pub fn tables(&self) -> Vec<&'static str> {
        self.parts
            .iter()
            .flat_map(|p| p.tables().iter().copied())
            .collect()
    }

    /// The whole export document: one key per section.
    pub fn export(&self, conn: &mut DbConn, user_id: &str) -> Result<Value, ApiError> {
        let mut doc = serde_json::Map::new();
        for part in &self.parts {
            doc.insert(part.section().to_owned(), part.export(conn, user_id)?);
        }
        Ok(Value::Object(doc))
    }

    /// Erases the people of one ended activity, in every part.
    pub fn erase_event(
        &self,
        tx: &mut Tx<'_>,
        event_id: &str,
        sensitive: bool,
    ) -> Result<(), ApiError> {
        for part in &self.parts {
            part.erase_event(tx, event_id, sensitive)?;
        }
        Ok(())
    }

    /// Erases `user_id` everywhere, or refuses before changing anything.
    pub fn erase(&self, tx: &mut Tx<'_>, user_id: &str) -> Result<(), ApiError> {
        for part in &self.parts {
            part.refuse_erasure(tx, user_id)?;
        }
        for part in &self.parts {
            part.erase(tx, user_id)?;
        }
        Ok(())
    }
}

/// Tables that hold nothing about a person as a resident, each with why.
pub const NOT_PERSONAL: &[(&str, &str)] = &[
    ("__diesel_schema_migrations", "migration bookkeeping"),
    ("app_secrets", "service keys"),
    (
        "organizations",
        "an organization's public profile and contact",
    ),
    ("centres", "a neighbourhood centre's public profile"),
    (
        "events",
        "activities; `created_by` is staff work done for the organization",
    ),
    (
        "event_tallies",
        "how many people are checked in at an event",
    ),
    ("ticket_keys", "signing keys"),
    (
        "checkin_audit",
        "staff work at the door, by registration and staff id; no names",
    ),
    (
        "checkin_scans",
        "offline scan results by registration id; no names",
    ),
    ("live_topics", "message numbering"),
    (
        "rate_limits",
        "counters keyed by client address, a hash of the phone, or the account id of a caller looking people up by phone; deleted two hours after their window opens",
    ),
    (
        "idempotency_keys",
        "responses replayed for 25 hours, then pruned; the account's are erased with it",
    ),
    ("displays", "hall screens"),
    ("announcements", "hall screen texts written for the public"),
    ("shifts", "volunteer shifts offered by organizations"),
    (
        "jobs",
        "scheduled work by ids; a job for an erased person does nothing",
    ),
    ("webhook_endpoints", "organizations' and buyers' receivers"),
    ("webhook_deliveries", "thin payloads with ids only"),
    ("buyers", "street offices and bureaus"),
    ("projects", "purchased-service projects"),
    ("project_centres", "where a project is delivered"),
    ("indicators", "a project's measures"),
    (
        "indicator_actuals",
        "figures computed from anonymous check-ins",
    ),
    ("bids", "organizations' bids"),
    (
        "bid_scores",
        "reviewers' scores of bids: work done for a buyer",
    ),
    (
        "evaluations",
        "evaluations of a project: work done for a buyer",
    ),
    ("evaluation_scores", "scores of an evaluation"),
    ("expenses", "a project's expenses"),
    ("offerings", "organizations' service catalogue"),
    (
        "recommendations",
        "buyers' recommendations of organizations",
    ),
];
