//! `GET /api/v1/live`: the WebSocket endpoint. Authentication happens on the
//! upgrade (`Authorization: Bearer` or `Sec-WebSocket-Protocol: mulin.v1,
//! mulin.bearer.<token>`); anonymous connections may use public topics only.
//! One task per connection selects over the client's frames, its bounded
//! outgoing queue, a heartbeat, and a kill signal from the hub.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason, Message};
use tokio::sync::mpsc;

use super::hub::{Command, GOING_AWAY, HubHandle, Kill, Peer, REVOKED, SESSION_ENDED};
use super::ops::{Caller, Subscriptions, handle_text, recheck};
use super::topics::{Policies, Viewer, display_control};
use super::{ServerMsg, outbox};
use crate::auth::CurrentUser;
use crate::auth::sessions;
use crate::auth::tokens::TokenKeys;
use crate::db::Db;
use crate::error::{ApiError, Code};
use crate::http::client::client_address;

pub const PROTOCOL: &str = "mulin.v1";
const BEARER_PROTOCOL: &str = "mulin.bearer.";
pub const MAX_FRAME: usize = 64 * 1024;
/// Anonymous sockets one client address may hold on one instance.
pub const ANONYMOUS_PER_ADDRESS: usize = 20;
const PING_EVERY: Duration = Duration::from_secs(20);
const SILENT_FOR: Duration = Duration::from_secs(60);
const CLOSE_WAIT: Duration = Duration::from_secs(30);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/live", web::get().to(live));
}

fn token_of(req: &HttpRequest) -> (Option<String>, bool) {
    // The same reading of `Authorization` as every HTTP route.
    if let Some(token) = crate::auth::extractors::bearer(req) {
        return (token.ok(), false);
    }
    let protocols = req
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut offered_v1 = false;
    let mut token = None;
    for p in protocols.split(',').map(str::trim) {
        if p == PROTOCOL {
            offered_v1 = true;
        } else if let Some(t) = p.strip_prefix(BEARER_PROTOCOL) {
            token = Some(t.to_owned());
        }
    }
    (token, offered_v1)
}

/// The WebSocket for live updates. Upgrade with `Authorization: Bearer <token>`
/// or `Sec-WebSocket-Protocol: mulin.v1, mulin.bearer.<token>` (answered
/// `mulin.v1`); without a token only public topics. Messages are JSON text:
/// client `subscribe {topic, since?}`, `unsubscribe {topic}`, `ping`, `auth
/// {token}` (a fresh access token of the same session, sent before the current
/// one expires: answered `authenticated {expires_at}`); server `subscribed
/// {topic, seq, snapshot}`, `event {topic, seq, type, data}`, `resync {topic}`,
/// `error {code, topic?}` (`forbidden` with the topic when the caller lost the
/// right to it: the topic is dropped), `pong`. Topics: `event:{id}`, `org:{id}`
/// (its staff), `me`, `centre:{id}`, `project:{id}`. Close codes: 1001 server
/// going away, 1009 frame over 64 KiB, 4001 with reason `session_ended` (logout,
/// revocation, account deleted: sign in again) or `token_expired` (refresh and
/// reconnect, or send `auth` before expiry), 4003 `forbidden` (a display
/// revoked or nothing the socket held is still allowed), 4008 slow consumer.
#[utoipa::path(get, path = "/api/v1/live", tag = "live",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "`invalid_body` (not a WebSocket upgrade)", body = crate::error::Problem),
        (status = 401, description = "`unauthenticated` (a token was sent and is not valid)", body = crate::error::Problem),
        (status = 429, description = "`too_many_connections` for this user", body = crate::error::Problem),
    ))]
pub async fn live(
    req: HttpRequest,
    body: web::Payload,
    db: web::Data<Db>,
    keys: web::Data<TokenKeys>,
    hub: web::Data<HubHandle>,
    policies: web::Data<Policies>,
    settings: web::Data<crate::config::Settings>,
) -> Result<HttpResponse, ApiError> {
    let (token, offered_v1) = token_of(&req);
    let caller = match token {
        None => Caller {
            address: Some(client_address(&req, &settings)),
            ..Caller::default()
        },
        Some(token) if keys.verify_display(&token).is_ok() => {
            let claims = keys.verify_display(&token)?;
            let display_id = claims.sub.clone();
            let gate = policies
                .display_gate()
                .ok_or(ApiError::from(Code::Unauthenticated))?;
            let centre = db
                .run(move |c| gate.centre_of(c, &display_id))
                .await?
                .ok_or(ApiError::from(Code::Unauthenticated))?;
            Caller {
                viewer: Viewer {
                    user: None,
                    display_centre: Some(centre),
                },
                display_id: Some(claims.sub),
                ..Caller::default()
            }
        }
        Some(token) => {
            let claims = keys.verify_access(&token)?;
            let (sid, sub) = (claims.sid.clone(), claims.sub.clone());
            let is_admin = db
                .run(move |c| sessions::live_user(c, &sid, &sub))
                .await?
                .ok_or(ApiError::from(Code::Unauthenticated))?;
            Caller {
                viewer: Viewer {
                    user: Some(CurrentUser {
                        id: claims.sub,
                        session_id: claims.sid,
                        is_admin,
                    }),
                    display_centre: None,
                },
                expires_at: Some(claims.exp),
                ..Caller::default()
            }
        }
    };
    let seat = match (caller.user_id(), &caller.display_id) {
        (Some(user), _) => Some(
            hub.budgets
                .take_seat(user, settings.live_max_connections_per_user)
                .ok_or(ApiError::from(Code::TooManyConnections))?,
        ),
        (None, Some(_)) => None,
        // Anonymous sockets (the public board, event counts): a few per
        // client address, so one client cannot hold the hub's attention.
        (None, None) => Some(
            hub.budgets
                .take_seat(
                    &format!("anon:{}", client_address(&req, &settings)),
                    ANONYMOUS_PER_ADDRESS,
                )
                .ok_or(ApiError::from(Code::TooManyConnections))?,
        ),
    };
    let (mut response, session, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::InvalidBody(format!("not a WebSocket upgrade: {e}")))?;
    if offered_v1 || req.headers().contains_key(header::SEC_WEBSOCKET_PROTOCOL) {
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(PROTOCOL),
        );
    }
    let stream = stream.max_frame_size(MAX_FRAME);
    let hub = hub.get_ref().clone();
    let db = db.get_ref().clone();
    let policies = policies.get_ref().clone();
    let keys = keys.into_inner();
    actix_web::rt::spawn(async move {
        run(session, stream, caller, hub, db, policies, keys).await;
        drop(seat);
    });
    Ok(response)
}

/// Resolves when the access token expires (never for anonymous callers and
/// displays).
async fn expiry(expires_at: Option<i64>) {
    match expires_at {
        Some(exp) => {
            let left = exp - chrono::Utc::now().timestamp();
            tokio::time::sleep(Duration::from_secs(u64::try_from(left).unwrap_or(0))).await;
        }
        None => std::future::pending().await,
    }
}

#[allow(clippy::too_many_lines)]
async fn run(
    mut session: actix_ws::Session,
    mut stream: actix_ws::MessageStream,
    mut caller: Caller,
    hub: HubHandle,
    db: Db,
    policies: Policies,
    keys: Arc<TokenKeys>,
) {
    let (tx, mut rx) = mpsc::channel::<Arc<str>>(hub.queue);
    let kill = Arc::new(Kill::default());
    let peer = Peer {
        id: hub.next_peer_id(),
        tx,
        kill: kill.clone(),
    };
    hub.stats
        .connections
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let gate = policies.display_gate();
    if let (Some(display_id), Some(gate)) = (&caller.display_id, &gate) {
        mark_seen(&db, gate, display_id).await;
        watch(&hub, &db, &peer, display_control(display_id)).await;
    }
    if let Some(user) = &caller.viewer.user {
        watch(&hub, &db, &peer, sessions::control_topic(&user.session_id)).await;
        watch(&hub, &db, &peer, sessions::access_topic(&user.id)).await;
    }
    // A revocation that landed between the upgrade's check and the watches
    // reached no watcher: check once more now that they are in place.
    if let Some(code) = revoked_meanwhile(&db, &caller, gate.as_ref()).await {
        kill.kill(code);
    }
    let mut subscriptions = Subscriptions::new();
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut last_heard = Instant::now();
    // Topics dropped for lost access, as the text their frames carry: frames
    // already queued for them are not sent.
    let mut revoked: Vec<String> = Vec::new();
    let close: Option<CloseReason> = loop {
        tokio::select! {
            frame = rx.recv() => {
                let Some(frame) = frame else { break None };
                if revoked.iter().any(|needle| frame.contains(needle.as_str())) {
                    continue;
                }
                tokio::select! {
                    sent = session.text(frame.to_string()) => if sent.is_err() { break None },
                    () = kill.notify.notified() => break Some(reason(kill.code())),
                }
            }
            () = kill.notify.notified() => break Some(reason(kill.code())),
            () = expiry(caller.expires_at) => break Some(CloseReason {
                code: CloseCode::Other(SESSION_ENDED),
                description: Some("token_expired".into()),
            }),
            () = kill.recheck.notified() => {
                let (frames, dropped, none_left) = recheck(&db, &policies, &caller, &hub, &peer, &mut subscriptions).await;
                revoked.extend(dropped.iter().map(|label| topic_needle(label)));
                let mut gone = false;
                for frame in frames {
                    if session.text(frame).await.is_err() {
                        gone = true;
                        break;
                    }
                }
                if gone { break None }
                if none_left { break Some(reason(REVOKED)) }
            }
            _ = heartbeat.tick() => {
                if let (Some(display_id), Some(gate)) = (&caller.display_id, &gate) {
                    mark_seen(&db, gate, display_id).await;
                }
                if last_heard.elapsed() > SILENT_FOR {
                    break Some(CloseReason { code: CloseCode::Policy, description: Some("silent for 60 s".into()) });
                }
                if session.ping(b"").await.is_err() { break None }
            }
            message = stream.recv() => {
                last_heard = Instant::now();
                match message {
                    None => break None,
                    Some(Err(actix_ws::ProtocolError::Overflow)) => break Some(CloseReason { code: CloseCode::Size, description: Some("frame over 64 KiB".into()) }),
                    Some(Err(_)) => break Some(CloseReason { code: CloseCode::Protocol, description: None }),
                    Some(Ok(Message::Ping(bytes))) => if session.pong(&bytes).await.is_err() { break None },
                    Some(Ok(Message::Close(_))) => break None,
                    Some(Ok(Message::Text(text))) => {
                        let reply = handle_text(&text, &mut caller, &keys, &hub, &db, &policies, &peer, &mut subscriptions).await;
                        // Subscribed again (access came back): its frames flow again.
                        revoked.retain(|needle| !subscriptions.values().any(|(_, label)| *needle == topic_needle(label)));
                        if let Some(reply) = reply {
                            if session.text(reply).await.is_err() { break None }
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let reply = ServerMsg::Error { code: "invalid_message", topic: None }.text();
                        if session.text(reply).await.is_err() { break None }
                    }
                    Some(Ok(_)) => {}
                }
            }
        }
    };
    let _ = hub
        .commands
        .send(Command::Disconnect { peer_id: peer.id })
        .await;
    hub.stats
        .connections
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    // A client that reads nothing takes the close frame only after what is
    // queued before it; wait a while for that, then drop the connection.
    let _ = tokio::time::timeout(CLOSE_WAIT, session.close(close)).await;
}

/// The close code for a caller whose right ended after the upgrade checked
/// it (session revoked, display revoked), if it did.
async fn revoked_meanwhile(
    db: &Db,
    caller: &Caller,
    gate: Option<&Arc<dyn super::topics::DisplayGate>>,
) -> Option<u16> {
    if let Some(user) = &caller.viewer.user {
        let (sid, uid) = (user.session_id.clone(), user.id.clone());
        let live = db.run(move |c| sessions::live_user(c, &sid, &uid)).await;
        return matches!(live, Ok(None)).then_some(SESSION_ENDED);
    }
    if let (Some(display_id), Some(gate)) = (&caller.display_id, gate) {
        let (id, gate) = (display_id.clone(), gate.clone());
        let centre = db.run(move |c| gate.centre_of(c, &id)).await;
        return matches!(centre, Ok(None)).then_some(REVOKED);
    }
    None
}

/// Closes the connection on any message on a control topic: a display's (it
/// was revoked) or a session's (it ended).
async fn watch(hub: &HubHandle, db: &Db, peer: &Peer, key: String) {
    let k = key.clone();
    let current = db.run(move |c| outbox::last_seq(c, &k)).await.unwrap_or(0);
    let _ = hub
        .commands
        .send(Command::Watch {
            peer: peer.clone(),
            key,
            current,
        })
        .await;
}

async fn mark_seen(db: &Db, gate: &Arc<dyn super::topics::DisplayGate>, display_id: &str) {
    let (id, gate) = (display_id.to_owned(), gate.clone());
    if let Err(e) = db.write(move |tx| gate.seen(tx, &id)).await {
        tracing::warn!(error = %e, "could not record a display as seen");
    }
}

fn reason(code: u16) -> CloseReason {
    match code {
        super::hub::SLOW_CONSUMER => CloseReason {
            code: CloseCode::Other(code),
            description: Some("slow_consumer".into()),
        },
        GOING_AWAY => CloseReason {
            code: CloseCode::Away,
            description: Some("server shutting down".into()),
        },
        // 4001 also closes a socket whose access token expired, with the
        // reason `token_expired`: refresh and reconnect. This one means
        // signing in again.
        SESSION_ENDED => CloseReason {
            code: CloseCode::Other(code),
            description: Some("session_ended".into()),
        },
        REVOKED => CloseReason {
            code: CloseCode::Other(code),
            description: Some("forbidden".into()),
        },
        other => CloseReason {
            code: CloseCode::Other(other),
            description: None,
        },
    }
}

/// How a topic's event frames name it (`hub::render` writes compact JSON).
fn topic_needle(label: &str) -> String {
    format!("\"topic\":{}", serde_json::Value::from(label))
}
