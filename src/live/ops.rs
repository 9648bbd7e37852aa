//! What a live socket does with the frames a client sends: `subscribe` (the
//! topic's policy and snapshot), `unsubscribe`, `ping`, `auth` (a fresh access
//! token); and the re-check of every topic held when the person's access
//! changed. The connection itself (upgrade, loop, close) is in `socket`.

use std::collections::HashMap;

use super::hub::{Command, HubHandle, Peer};
use super::topics::{Policies, Topic, Viewer};
use super::{ClientMsg, ServerMsg, outbox};
use crate::auth::sessions;
use crate::auth::tokens::TokenKeys;
use crate::db::Db;
use crate::error::{ApiError, Code};

pub const MAX_SUBSCRIPTIONS: usize = 100;
/// Subscribes an anonymous socket may send a minute (each costs reads).
pub const ANONYMOUS_SUBSCRIBES_PER_MINUTE: u32 = 30;

/// Who is connected.
#[derive(Clone, Debug, Default)]
pub(super) struct Caller {
    pub(super) viewer: Viewer,
    /// A hall screen's display id.
    pub(super) display_id: Option<String>,
    /// When the user's access token expires (seconds since the epoch): the
    /// socket closes with 4001 then, unless an `auth` op brought a fresh one.
    pub(super) expires_at: Option<i64>,
    /// Anonymous callers: their client address, whose subscribe budget they
    /// share with every other anonymous socket from it.
    pub(super) address: Option<String>,
}

impl Caller {
    /// Counts a subscribe; false when an anonymous caller's address is over
    /// its budget (reconnecting does not reset it).
    fn may_subscribe(&self, hub: &HubHandle) -> bool {
        match (&self.address, &self.viewer.user, &self.display_id) {
            (Some(address), None, None) => hub
                .budgets
                .take_subscribe(address, ANONYMOUS_SUBSCRIBES_PER_MINUTE),
            _ => true,
        }
    }

    pub(super) fn user_id(&self) -> Option<&str> {
        self.viewer.user.as_ref().map(|u| u.id.as_str())
    }
}

/// What the socket holds: topic key → (topic, the name the client used).
pub(super) type Subscriptions = HashMap<String, (Topic, String)>;

/// Checks the topic's policy and reads its snapshot and current `seq`.
async fn snapshot(
    db: &Db,
    policies: &Policies,
    caller: &Caller,
    topic: &Topic,
) -> Result<(String, i64, serde_json::Value), &'static str> {
    let key = topic
        .key(caller.user_id())
        .ok_or(Code::Forbidden.as_str())?;
    let policy = match topic {
        Topic::Me => None,
        Topic::Scoped { prefix, .. } => Some(policies.policy(prefix).ok_or("unknown_topic")?),
    };
    let (topic, viewer, key2) = (topic.clone(), caller.viewer.clone(), key.clone());
    let result = db
        .run(move |c| {
            // The `seq` first, then the snapshot: a commit between the two is
            // both in the snapshot and delivered after it (counts are states,
            // so seeing one twice is harmless); the other order would lose it.
            let seq = outbox::last_seq(c, &key2)?;
            let snapshot = match (&topic, policy) {
                (Topic::Scoped { id, .. }, Some(policy)) => policy.snapshot(c, &viewer, id)?,
                _ => serde_json::json!({}),
            };
            Ok((seq, snapshot))
        })
        .await;
    match result {
        Ok((seq, snapshot)) => Ok((key, seq, snapshot)),
        Err(ApiError::Problem(code)) => Err(code.as_str()),
        Err(_) => Err(Code::Internal.as_str()),
    }
}

/// Stops following a topic, here and in the hub.
async fn drop_topic(hub: &HubHandle, peer: &Peer, subscriptions: &mut Subscriptions, key: String) {
    subscriptions.remove(&key);
    let _ = hub
        .commands
        .send(Command::Unsubscribe {
            peer_id: peer.id,
            key,
        })
        .await;
}

/// Checks every topic the socket holds again (the person lost some access):
/// those no longer allowed are dropped with an `error` `forbidden` frame.
/// Returns the frames to send, the labels of the topics dropped, and whether
/// nothing the socket held is left.
pub(super) async fn recheck(
    db: &Db,
    policies: &Policies,
    caller: &Caller,
    hub: &HubHandle,
    peer: &Peer,
    subscriptions: &mut Subscriptions,
) -> (Vec<String>, Vec<String>, bool) {
    let held: Vec<(String, (Topic, String))> = subscriptions
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut frames = Vec::new();
    let mut dropped = Vec::new();
    for (key, (topic, label)) in held {
        if topic == Topic::Me {
            continue;
        }
        match snapshot(db, policies, caller, &topic).await {
            Ok(_) => {}
            // The database is away: keep the topic, the next change tells.
            Err(code) if code == Code::Internal.as_str() => {}
            Err(_) => {
                drop_topic(hub, peer, subscriptions, key).await;
                frames.push(
                    ServerMsg::Error {
                        code: Code::Forbidden.as_str(),
                        topic: Some(&label),
                    }
                    .text(),
                );
                dropped.push(label);
            }
        }
    }
    let none_left = !frames.is_empty() && subscriptions.is_empty();
    (frames, dropped, none_left)
}

/// `auth`: a fresh access token of the same session keeps the socket open
/// past the current token's expiry.
async fn reauthenticate(db: &Db, keys: &TokenKeys, caller: &mut Caller, token: &str) -> String {
    let refused = || {
        ServerMsg::Error {
            code: Code::Unauthenticated.as_str(),
            topic: None,
        }
        .text()
    };
    let Some(user) = caller.viewer.user.clone() else {
        return refused();
    };
    let Ok(claims) = keys.verify_access(token) else {
        return refused();
    };
    if claims.sub != user.id || claims.sid != user.session_id {
        return refused();
    }
    let (sid, sub) = (claims.sid.clone(), claims.sub.clone());
    match db.run(move |c| sessions::live_user(c, &sid, &sub)).await {
        Ok(Some(_)) => {
            caller.expires_at = Some(claims.exp);
            ServerMsg::Authenticated {
                expires_at: claims.exp,
            }
            .text()
        }
        _ => refused(),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn handle_text(
    text: &str,
    caller: &mut Caller,
    keys: &TokenKeys,
    hub: &HubHandle,
    db: &Db,
    policies: &Policies,
    peer: &Peer,
    subscriptions: &mut Subscriptions,
) -> Option<String> {
    let Ok(message) = serde_json::from_str::<ClientMsg>(text) else {
        return Some(
            ServerMsg::Error {
                code: "invalid_message",
                topic: None,
            }
            .text(),
        );
    };
    match message {
        ClientMsg::Ping => Some(ServerMsg::Pong.text()),
        ClientMsg::Auth { token } => Some(reauthenticate(db, keys, caller, &token).await),
        ClientMsg::Unsubscribe { topic } => {
            let key = Topic::parse(&topic).and_then(|t| t.key(caller.user_id()));
            // Only a topic this socket subscribed to: never a control topic
            // the socket watches (`session:`, `access:`, `display:`).
            if let Some(key) = key.filter(|k| subscriptions.contains_key(k)) {
                drop_topic(hub, peer, subscriptions, key).await;
            }
            Some(ServerMsg::Unsubscribed { topic: &topic }.text())
        }
        ClientMsg::Subscribe { topic, since } => {
            if !caller.may_subscribe(hub) {
                return Some(
                    ServerMsg::Error {
                        code: Code::RateLimited.as_str(),
                        topic: Some(&topic),
                    }
                    .text(),
                );
            }
            let Some(parsed) = Topic::parse(&topic) else {
                return Some(
                    ServerMsg::Error {
                        code: "unknown_topic",
                        topic: Some(&topic),
                    }
                    .text(),
                );
            };
            if let Some(centre) = &caller.viewer.display_centre {
                let own = Topic::Scoped {
                    prefix: "centre".into(),
                    id: centre.clone(),
                };
                if parsed != own {
                    return Some(
                        ServerMsg::Error {
                            code: "forbidden",
                            topic: Some(&topic),
                        }
                        .text(),
                    );
                }
            }
            if parsed == Topic::Me && caller.user_id().is_none() {
                return Some(
                    ServerMsg::Error {
                        code: "unauthenticated",
                        topic: Some(&topic),
                    }
                    .text(),
                );
            }
            if subscriptions.len() >= MAX_SUBSCRIPTIONS {
                return Some(
                    ServerMsg::Error {
                        code: "too_many_subscriptions",
                        topic: Some(&topic),
                    }
                    .text(),
                );
            }
            match snapshot(db, policies, caller, &parsed).await {
                Err(code) => Some(
                    ServerMsg::Error {
                        code,
                        topic: Some(&topic),
                    }
                    .text(),
                ),
                Ok((key, current, snapshot)) => {
                    subscriptions.insert(key.clone(), (parsed.clone(), topic.clone()));
                    let command = Command::Subscribe {
                        peer: peer.clone(),
                        key,
                        label: topic,
                        since,
                        current,
                        snapshot,
                    };
                    if hub.commands.send(command).await.is_err() {
                        return Some(
                            ServerMsg::Error {
                                code: "internal",
                                topic: None,
                            }
                            .text(),
                        );
                    }
                    None
                }
            }
        }
    }
}
