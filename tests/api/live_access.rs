//! Live access ends when the right to it ends: logout, a revoked session, a
//! lost membership and the access token's expiry, on the socket itself.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::both_databases;
use crate::helpers::*;
use crate::live::{Socket, connect, next, subscribe};

/// The close code the socket ends with, within `secs` seconds; text frames
/// before it and the close reason are returned too.
async fn closed(socket: &mut Socket, secs: u64) -> (Option<u16>, Vec<Value>, String) {
    let mut frames = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(secs), socket.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(frame))) => {
                let reason = frame
                    .as_ref()
                    .map(|f| f.reason.to_string())
                    .unwrap_or_default();
                return (frame.map(|f| u16::from(f.code)), frames, reason);
            }
            Some(Ok(Message::Text(text))) => frames.push(serde_json::from_str(&text).unwrap()),
            Some(Ok(_)) => {}
            _ => return (None, frames, String::new()),
        }
    }
}

async fn op(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

both_databases! {
    async fn logout_and_a_reused_refresh_token_close_the_sessions_sockets(kind) {
        let app = TestApp::spawn(kind).await;
        let resident = app.register("退出的人").await;
        let mut socket = connect(&app, Some(&resident.access)).await;
        assert_eq!(subscribe(&mut socket, "me", None).await["op"], "subscribed");
        let res = app.post("/auth/logout", Some(&resident.access), json!({"refresh_token": resident.refresh})).await;
        assert_eq!(res.status(), 204);
        let (code, _, reason) = closed(&mut socket, 5).await;
        assert_eq!((code, reason.as_str()), (Some(4001), "session_ended"), "sign in again");

        let other = app.register("被盗的令牌").await;
        let mut socket = connect(&app, Some(&other.access)).await;
        assert_eq!(subscribe(&mut socket, "me", None).await["op"], "subscribed");
        assert_eq!(app.post("/auth/refresh", None, json!({"refresh_token": other.refresh})).await.status(), 200);
        let reused = app.post("/auth/refresh", None, json!({"refresh_token": other.refresh})).await;
        assert_problem(reused, 401, "refresh_token_reused").await;
        assert_eq!(closed(&mut socket, 5).await.0, Some(4001));
    }
}

both_databases! {
    async fn a_removed_staff_member_loses_the_organizations_topic_at_once(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "直播权限").await;
        let staff = app.register("临时工作人员").await;
        let res = app.post(&format!("/organizations/{org}/members"), Some(&owner.access), json!({"phone": staff.phone, "role": "staff"})).await;
        assert!(res.status().is_success());
        let event = app.published_event(&owner, &org, 5, json!({})).await;

        // One socket holds the org topic and `me`; the other only the org topic.
        let mut both = connect(&app, Some(&staff.access)).await;
        assert_eq!(subscribe(&mut both, &format!("org:{org}"), None).await["op"], "subscribed");
        assert_eq!(subscribe(&mut both, "me", None).await["op"], "subscribed");
        let mut only_org = connect(&app, Some(&staff.access)).await;
        assert_eq!(subscribe(&mut only_org, &format!("org:{org}"), None).await["op"], "subscribed");

        let res = app.delete(&format!("/organizations/{org}/members/{}", staff.user_id), Some(&owner.access)).await;
        assert_eq!(res.status(), 204);
        let dropped = next(&mut both).await;
        assert_eq!(dropped, json!({"op": "error", "code": "forbidden", "topic": format!("org:{org}")}));
        let (code, frames, _) = closed(&mut only_org, 5).await;
        assert_eq!(code, Some(4003), "nothing the socket held is left: {frames:?}");
        assert!(frames.iter().any(|f| f["code"] == "forbidden"), "{frames:?}");

        // The next sign-up does not reach the removed staff member.
        let resident = app.register("报名者").await;
        assert_eq!(app.sign_up(&resident, &event, 1).await.status(), 201);
        op(&mut both, json!({"op": "ping"})).await;
        assert_eq!(next(&mut both).await["op"], "pong", "no registration.created before the pong");
    }
}

both_databases! {
    async fn a_socket_closes_when_its_access_token_expires_unless_it_sends_a_fresh_one(kind) {
        let app = TestApp::spawn_with(kind, |s| s.access_token_ttl_secs = 3).await;
        let resident = app.register("过期的令牌").await;
        let mut lapsing = connect(&app, Some(&resident.access)).await;
        let mut renewed = connect(&app, Some(&resident.access)).await;
        assert_eq!(subscribe(&mut renewed, "me", None).await["op"], "subscribed");

        // A second later, so the fresh token's expiry is later by whole seconds.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let pair: Value = app.post("/auth/refresh", None, json!({"refresh_token": resident.refresh})).await.json().await.unwrap();
        op(&mut renewed, json!({"op": "auth", "token": pair["access_token"]})).await;
        let answer = next(&mut renewed).await;
        assert_eq!(answer["op"], "authenticated", "{answer}");
        // Another person's token is refused and changes nothing.
        let stranger = app.register("别人").await;
        op(&mut renewed, json!({"op": "auth", "token": stranger.access})).await;
        assert_eq!(next(&mut renewed).await["code"], "unauthenticated");

        let (code, _, reason) = closed(&mut lapsing, 6).await;
        assert_eq!((code, reason.as_str()), (Some(4001), "token_expired"), "refresh and reconnect");
        // The renewed socket outlived the first token, and lapses with the second.
        op(&mut renewed, json!({"op": "ping"})).await;
        assert_eq!(next(&mut renewed).await["op"], "pong");
        assert_eq!(closed(&mut renewed, 6).await.0, Some(4001));
    }
}

both_databases! {
    async fn anonymous_sockets_are_limited_per_address_and_in_subscribes(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "公开看板").await;
        let event = app.published_event(&owner, &org, 5, json!({})).await;
        let mut sockets = Vec::new();
        for _ in 0..20 {
            sockets.push(connect(&app, None).await);
        }
        let url = format!("{}/api/v1/live", app.address.replace("http://", "ws://"));
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
            other => panic!("a 21st anonymous socket was not refused: {:?}", other.map(|r| r.1.status())),
        }
        // Signed-in callers are counted apart.
        let resident = app.register("看板旁的人").await;
        let _mine = connect(&app, Some(&resident.access)).await;

        let socket = &mut sockets[0];
        for _ in 0..30 {
            op(socket, json!({"op": "subscribe", "topic": format!("event:{event}")})).await;
            assert_eq!(next(socket).await["op"], "subscribed");
        }
        op(socket, json!({"op": "subscribe", "topic": format!("event:{event}")})).await;
        assert_eq!(next(socket).await, json!({"op": "error", "code": "rate_limited", "topic": format!("event:{event}")}));
        // The budget belongs to the address: another socket from it shares it.
        let other = &mut sockets[1];
        op(other, json!({"op": "subscribe", "topic": format!("event:{event}")})).await;
        assert_eq!(next(other).await["code"], "rate_limited");
        // Closing one frees its place (once the server has seen it close).
        drop(sockets.pop());
        let freed = async {
            loop {
                let url = format!("{}/api/v1/live", app.address.replace("http://", "ws://"));
                if tokio_tungstenite::connect_async(url).await.is_ok() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), freed).await.expect("a place freed within 5 s");
    }
}

both_databases! {
    async fn a_client_cannot_unsubscribe_from_its_own_control_topics(kind) {
        let app = TestApp::spawn(kind).await;
        let resident = app.register("退订控制").await;
        let mut socket = connect(&app, Some(&resident.access)).await;
        // The session id is in the access token the client holds.
        let payload = resident.access.split('.').nth(1).unwrap();
        use base64::Engine;
        let claims: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let sid = claims["sid"].as_str().unwrap();
        op(&mut socket, json!({"op": "unsubscribe", "topic": format!("session:{sid}")})).await;
        assert_eq!(next(&mut socket).await["op"], "unsubscribed");
        op(&mut socket, json!({"op": "unsubscribe", "topic": format!("access:{}", resident.user_id)})).await;
        assert_eq!(next(&mut socket).await["op"], "unsubscribed");
        let res = app.post("/auth/logout", Some(&resident.access), json!({"refresh_token": resident.refresh})).await;
        assert_eq!(res.status(), 204);
        assert_eq!(closed(&mut socket, 5).await.0, Some(4001), "the watch is still there");
    }
}

both_databases! {
    /// Frames already waiting in a socket's queue for a topic it just lost are
    /// not sent: the staff phone stopped reading (a tunnel, a full buffer)
    /// while the organization's messages piled up, and was removed meanwhile.
    async fn frames_queued_for_a_lost_topic_are_not_sent_after_it_is_dropped(kind) {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::http::HeaderValue;
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "排队的消息").await;
        let staff = app.register("离开的工作人员").await;
        let res = app.post(&format!("/organizations/{org}/members"), Some(&owner.access), json!({"phone": staff.phone, "role": "staff"})).await;
        assert!(res.status().is_success());

        // The smallest receive buffer: the server's writes block after a few KiB.
        let addr: std::net::SocketAddr = app.address.trim_start_matches("http://").parse().unwrap();
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.set_recv_buffer_size(4096).unwrap();
        let stream = tcp.connect(addr).await.unwrap();
        let mut request = format!("ws://{addr}/api/v1/live").into_client_request().unwrap();
        request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {}", staff.access)).unwrap());
        let (mut socket, _) = tokio_tungstenite::client_async(request, stream).await.unwrap();
        // `me` too, so the socket stays open once the organization's topic goes.
        for topic in [format!("org:{org}"), "me".to_owned()] {
            socket.send(Message::Text(json!({"op": "subscribe", "topic": topic}).to_string().into())).await.unwrap();
            let subscribed = loop {
                if let Some(Ok(Message::Text(text))) = socket.next().await {
                    break serde_json::from_str::<Value>(&text).unwrap();
                }
            };
            assert_eq!(subscribed["op"], "subscribed");
        }

        // 400 messages of 15 KiB (6 MB, more than the kernel buffers between
        // them) pile up while the phone reads nothing.
        let topic = format!("org:{org}");
        let text = "队".repeat(5_000);
        for batch in 0..20 {
            let (topic, text) = (topic.clone(), text.clone());
            app.db.write(move |c| {
                for n in batch * 20..batch * 20 + 20 {
                    mulin::live::outbox::publish(c, topic.clone(), "announcement.posted", &json!({"n": n, "text": text}));
                }
                Ok(())
            }).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let res = app.delete(&format!("/organizations/{org}/members/{}", staff.user_id), Some(&owner.access)).await;
        assert_eq!(res.status(), 204);

        // The phone reads again: what the kernel held comes first, then the
        // refusal, and nothing of the organization's after it.
        let mut after_refusal = Vec::new();
        let mut refused = false;
        let mut before = 0;
        loop {
            match tokio::time::timeout(Duration::from_secs(2), socket.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    if frame["code"] == "forbidden" {
                        refused = true;
                    } else if refused {
                        after_refusal.push(frame["data"]["n"].clone());
                    } else {
                        before += 1;
                    }
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Err(_) => break,
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => panic!("{e}"),
            }
        }
        assert!(refused, "the refusal arrived (after {before} frames)");
        assert!(before < 400, "the socket was really behind: all 400 frames came before the refusal");
        assert_eq!(after_refusal, Vec::<Value>::new(), "frames of the lost topic after the refusal");
    }
}
