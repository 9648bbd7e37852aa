//! Topics and who may follow them (the low floor of `live`, beside the outbox).
//! The socket knows no feature: each feature that owns a kind of topic
//! (`event:`, `org:`, `centre:` …) implements [`TopicPolicy`] and `app`
//! registers it in [`Policies`]; display screens plug in through
//! [`DisplayGate`]. `me` is the caller's own `user:{id}` topic.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::auth::CurrentUser;
use crate::db::{DbConn, Tx};
use crate::error::ApiError;

/// A topic as clients name it, parsed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `me`: the signed-in user's own topic.
    Me,
    /// `{prefix}:{id}`, e.g. `event:…`.
    Scoped { prefix: String, id: String },
}

impl Topic {
    pub fn parse(raw: &str) -> Option<Topic> {
        if raw == "me" {
            return Some(Topic::Me);
        }
        let (prefix, id) = raw.split_once(':')?;
        let valid_prefix = !prefix.is_empty()
            && prefix.len() <= 32
            && prefix.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        let valid_id = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        (valid_prefix && valid_id).then(|| Topic::Scoped {
            prefix: prefix.to_owned(),
            id: id.to_owned(),
        })
    }

    /// The stored topic key: `me` becomes `user:{id}`.
    pub fn key(&self, user_id: Option<&str>) -> Option<String> {
        match self {
            Topic::Scoped { prefix, id } => Some(format!("{prefix}:{id}")),
            Topic::Me => user_id.map(|u| format!("user:{u}")),
        }
    }
}

/// Who is asking to follow a topic.
#[derive(Clone, Debug, Default)]
pub struct Viewer {
    pub user: Option<CurrentUser>,
    /// A hall screen: the centre it belongs to.
    pub display_centre: Option<String>,
}

/// One kind of topic's rule: may `viewer` follow `{prefix}:{id}`, and what is
/// its state now. Refusals are `ApiError`s whose code the socket sends
/// (`not_found`, `forbidden`); the same rule as the feature's HTTP routes.
pub trait TopicPolicy: Send + Sync + 'static {
    fn snapshot(&self, conn: &mut DbConn, viewer: &Viewer, id: &str) -> Result<Value, ApiError>;
}

/// What the socket needs from display screens.
pub trait DisplayGate: Send + Sync + 'static {
    /// The centre of a display that exists and is not revoked.
    fn centre_of(&self, conn: &mut DbConn, display_id: &str) -> Result<Option<String>, ApiError>;
    /// Records that the display is connected now.
    fn seen(&self, tx: &mut Tx<'_>, display_id: &str) -> Result<(), ApiError>;
}

/// The control topic of a display: any message on it closes the display's
/// sockets (it was revoked).
pub fn display_control(display_id: &str) -> String {
    format!("display:{display_id}")
}

/// Every registered topic policy, by prefix.
#[derive(Clone, Default)]
pub struct Policies {
    topics: HashMap<&'static str, Arc<dyn TopicPolicy>>,
    displays: Option<Arc<dyn DisplayGate>>,
}

impl Policies {
    pub fn topic(mut self, prefix: &'static str, policy: impl TopicPolicy) -> Policies {
        self.topics.insert(prefix, Arc::new(policy));
        self
    }

    pub fn displays(mut self, gate: impl DisplayGate) -> Policies {
        self.displays = Some(Arc::new(gate));
        self
    }

    pub fn policy(&self, prefix: &str) -> Option<Arc<dyn TopicPolicy>> {
        self.topics.get(prefix).cloned()
    }

    pub fn display_gate(&self) -> Option<Arc<dyn DisplayGate>> {
        self.displays.clone()
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
        for bad in [
            "",
            "event:",
            "event:a b",
            "org:<script>",
            "me:x:",
            ":x",
            "Event:x",
        ] {
            assert_eq!(Topic::parse(bad), None, "{bad}");
        }
    }
}
