//! Live updates over WebSockets, in two floors.
//!
//! Low (floor 2, imports only `db`, `auth`, `error`): [`outbox`] — features
//! record messages on their write transaction and the `db::Outbox` hook stores
//! and numbers them — and [`topics`] — the policy each feature registers for its
//! kind of topic.
//!
//! High (floor 5, imports no feature): the [`hub`] reads new messages of the
//! topics somebody here follows and pushes them to each connection's bounded
//! queue; [`limits`] keeps what one caller may hold (seats per user,
//! anonymous subscribes per address); the [`socket`] serves `GET /api/v1/live`; on PostgreSQL the
//! [`sequencer`] numbers committed messages and the [`listener`] hears
//! messages sequenced by other instances.

pub mod gauges;
pub mod hub;
pub mod limits;
pub mod listener;
pub mod ops;
pub mod outbox;
pub mod personal;
pub mod sequencer;
pub mod socket;
pub mod topics;

use serde::{Deserialize, Serialize};

/// What a client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    Subscribe {
        topic: String,
        since: Option<i64>,
    },
    Unsubscribe {
        topic: String,
    },
    Ping,
    /// A fresh access token, before the current one expires (same session).
    Auth {
        token: String,
    },
}

/// What the server sends (besides `event` frames, which the hub renders).
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ServerMsg<'a> {
    Subscribed {
        topic: &'a str,
        seq: i64,
        snapshot: serde_json::Value,
    },
    Unsubscribed {
        topic: &'a str,
    },
    Resync {
        topic: &'a str,
    },
    Error {
        code: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        topic: Option<&'a str>,
    },
    Pong,
    /// The access token of an `auth` op was taken: the socket stays open
    /// until `expires_at` (seconds since the epoch).
    Authenticated {
        expires_at: i64,
    },
}

impl ServerMsg<'_> {
    pub fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"op":"error","code":"internal"}"#.into())
    }
}
