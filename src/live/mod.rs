//! Live updates over WebSockets. Features record messages with
//! [`publish::publish`] inside the transaction of the change that caused them;
//! after the commit the [`hub`] reads the new messages of the topics somebody is
//! subscribed to and pushes them to each connection's bounded queue. On
//! PostgreSQL a `NOTIFY` in the same transaction wakes the hubs of every other
//! instance ([`listener`]).

pub mod hub;
pub mod listener;
pub mod publish;
pub mod socket;

use serde::{Deserialize, Serialize};

/// A topic as clients name it, parsed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    Event(String),
    Org(String),
    /// `me`: the signed-in user's own topic.
    Me,
    Centre(String),
}

impl Topic {
    pub fn parse(raw: &str) -> Option<Topic> {
        let valid_id = |id: &str| {
            !id.is_empty()
                && id.len() <= 64
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        match raw.split_once(':') {
            None if raw == "me" => Some(Topic::Me),
            Some(("event", id)) if valid_id(id) => Some(Topic::Event(id.to_owned())),
            Some(("org", id)) if valid_id(id) => Some(Topic::Org(id.to_owned())),
            Some(("centre", id)) if valid_id(id) => Some(Topic::Centre(id.to_owned())),
            _ => None,
        }
    }

    /// The stored topic key: `me` becomes `user:{id}`.
    pub fn key(&self, user_id: Option<&str>) -> Option<String> {
        match self {
            Topic::Event(id) => Some(format!("event:{id}")),
            Topic::Org(id) => Some(format!("org:{id}")),
            Topic::Centre(id) => Some(format!("centre:{id}")),
            Topic::Me => user_id.map(|u| format!("user:{u}")),
        }
    }
}

/// What a client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    Subscribe { topic: String, since: Option<i64> },
    Unsubscribe { topic: String },
    Ping,
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
}

impl ServerMsg<'_> {
    pub fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"op":"error","code":"internal"}"#.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_parse_and_map_to_keys() {
        assert_eq!(Topic::parse("me"), Some(Topic::Me));
        assert_eq!(
            Topic::parse("event:abc-1").and_then(|t| t.key(None)),
            Some("event:abc-1".into())
        );
        assert_eq!(Topic::Me.key(Some("u1")), Some("user:u1".into()));
        assert_eq!(Topic::Me.key(None), None);
        for bad in ["", "user:x", "event:", "event:a b", "org:<script>", "me:x"] {
            assert_eq!(Topic::parse(bad), None, "{bad}");
        }
    }
}
