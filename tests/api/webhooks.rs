//! Webhooks against real receiving HTTP servers: signatures checked by an
//! independent Standard Webhooks implementation, thin payloads, retries on
//! the contract's schedule (driven by the test clock) with a stable
//! `webhook-id`, `410` disabling, a hanging receiver, redelivery, secret
//! rotation, and private targets refused.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::*;

#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: String,
}

/// A receiver on a free loopback port: `/ok` answers 200, `/fail` 500,
/// `/gone` 410 and `/hang` never answers in time.
struct Receiver {
    base: String,
    got: Arc<Mutex<Vec<Received>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    async fn start() -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let store = got.clone();
        let server = HttpServer::new(move || {
            let store = store.clone();
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let store = store.clone();
                async move {
                    let mut headers = HeaderMap::new();
                    for (name, value) in req.headers() {
                        headers.insert(
                            HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                        );
                    }
                    let path = req.path().to_owned();
                    store.lock().unwrap().push(Received {
                        path: path.clone(),
                        headers,
                        body: String::from_utf8(body.to_vec()).unwrap(),
                    });
                    match path.as_str() {
                        "/ok" => HttpResponse::Ok().finish(),
                        "/gone" => HttpResponse::Gone().finish(),
                        "/hang" => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            HttpResponse::Ok().finish()
                        }
                        _ => HttpResponse::InternalServerError().finish(),
                    }
                }
            }))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            base: format!("http://127.0.0.1:{port}"),
            got,
            handle,
        }
    }

    fn at(&self, path: &str) -> Vec<Received> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Waits (up to 20 s of real time, for the network) until `path` got `n` requests.
    async fn wait_for(&self, path: &str, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            let got = self.at(path);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{path} got {} requests, expected {n}", self.at(path).len());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn verify(secret: &str, r: &Received) {
    let wh = standardwebhooks::Webhook::new(secret).expect("secret");
    wh.verify(r.body.as_bytes(), &r.headers)
        .unwrap_or_else(|e| panic!("signature does not verify: {e:?}"));
}

async fn register_hook(
    app: &TestApp,
    owner: &Session,
    org: &str,
    url: String,
    events: Value,
) -> Value {
    let res = app
        .post(
            &format!("/organizations/{org}/webhooks"),
            Some(&owner.access),
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn deliveries(app: &TestApp, owner: &Session, hook: &str) -> Vec<Value> {
    let res = app
        .get(&format!("/webhooks/{hook}/deliveries"), Some(&owner.access))
        .await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until the newest delivery of `hook` is no longer being sent.
async fn delivery_settled(app: &TestApp, owner: &Session, hook: &str, attempts: i64) -> Value {
    for _ in 0..200 {
        let list = deliveries(app, owner, hook).await;
        if let Some(d) = list.first() {
            if d["attempt"].as_i64() == Some(attempts) {
                return d.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("delivery did not reach attempt {attempts}");
}

both_databases! {
    async fn deliveries_are_signed_thin_and_verified_by_an_independent_implementation(kind) {
        let receiver = Receiver::start().await;
        let app = TestApp::spawn_process(kind, &[("MULIN_WEBHOOK_ALLOW_PRIVATE", "true")]).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "推送").await;
        let event = app.published_event(&owner, &org, 10, json!({})).await;
        let hook = register_hook(&app, &owner, &org, format!("{}/ok", receiver.base), json!(["registration.created", "event.cancelled"])).await;
        let secret = hook["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"));
        let hook_id = hook["id"].as_str().unwrap().to_owned();
        let list = app.get(&format!("/organizations/{org}/webhooks"), Some(&owner.access)).await.json::<Value>().await.unwrap();
        assert_eq!(list["items"][0]["id"], hook_id.as_str());
        assert!(list["items"][0].get("secret").is_none(), "the secret is shown once");

        let resident = app.register("王阿姨").await;
        assert_eq!(app.sign_up(&resident, &event, 1).await.status(), 201);
        let got = receiver.wait_for("/ok", 1).await;
        verify(&secret, &got[0]);
        let body: Value = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!(body["type"], "registration.created");
        assert_eq!(body["data"]["event_id"], event.as_str());
        assert_eq!(body["data"]["status"], "confirmed");
        assert!(!got[0].body.contains(&resident.phone[3..]) && !got[0].body.contains("王阿姨"), "no personal data: {}", got[0].body);
        let first_id = got[0].headers["webhook-id"].to_str().unwrap().to_owned();

        let log = delivery_settled(&app, &owner, &hook_id, 1).await;
        assert_eq!((log["status"].as_str(), log["response_code"].as_i64()), (Some("succeeded"), Some(200)));
        assert_eq!(log["webhook_id"], first_id.as_str());

        // Redelivery: the same webhook-id again.
        let res = app.post(&format!("/deliveries/{}/redeliver", log["id"].as_str().unwrap()), Some(&owner.access), json!({})).await;
        assert_eq!(res.status(), 202);
        let got = receiver.wait_for("/ok", 2).await;
        assert_eq!(got[1].headers["webhook-id"].to_str().unwrap(), first_id);
        verify(&secret, &got[1]);

        // Rotation: the next delivery is signed with both secrets.
        let res = app.post(&format!("/webhooks/{hook_id}/rotate-secret"), Some(&owner.access), json!({})).await;
        assert_eq!(res.status(), 200);
        let new_secret = res.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();
        assert_ne!(new_secret, secret);
        let other = app.register("李叔叔").await;
        assert_eq!(app.sign_up(&other, &event, 1).await.status(), 201);
        let got = receiver.wait_for("/ok", 3).await;
        verify(&new_secret, &got[2]);
        verify(&secret, &got[2]);
        assert_eq!(got[2].headers["webhook-signature"].to_str().unwrap().split(' ').count(), 2);

        // Kinds not chosen are not sent; a cancellation is.
        let res = app.post(&format!("/events/{event}/cancel"), Some(&owner.access), json!({"reason": "暴雨"})).await;
        assert_eq!(res.status(), 200);
        let got = receiver.wait_for("/ok", 4).await;
        let body: Value = serde_json::from_str(&got[3].body).unwrap();
        assert_eq!(body["type"], "event.cancelled");
        assert!(!got[3].body.contains("暴雨"), "free text stays out");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.at("/ok").len(), 4, "registration.cancelled was not chosen");

        // Removed: nothing more.
        assert_eq!(app.delete(&format!("/webhooks/{hook_id}"), Some(&owner.access)).await.status(), 204);
        assert_eq!(app.get(&format!("/webhooks/{hook_id}/deliveries"), Some(&owner.access)).await.status(), 404);
    }
}

both_databases! {
    async fn a_failing_receiver_is_retried_on_schedule_with_one_webhook_id_and_410_disables(kind) {
        let receiver = Receiver::start().await;
        let app = TestApp::spawn_process(kind, &[("MULIN_WEBHOOK_ALLOW_PRIVATE", "true")]).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "重试").await;
        let event = app.published_event(&owner, &org, 10, json!({})).await;
        let failing = register_hook(&app, &owner, &org, format!("{}/fail", receiver.base), json!(["registration.created"])).await;
        let gone = register_hook(&app, &owner, &org, format!("{}/gone", receiver.base), json!(["registration.created"])).await;
        let failing_id = failing["id"].as_str().unwrap();
        let gone_id = gone["id"].as_str().unwrap();

        let resident = app.register("重试者").await;
        assert_eq!(app.sign_up(&resident, &event, 1).await.status(), 201);
        receiver.wait_for("/fail", 1).await;
        let log = delivery_settled(&app, &owner, failing_id, 1).await;
        assert_eq!((log["status"].as_str(), log["response_code"].as_i64()), (Some("pending"), Some(500)));
        assert!(log["next_attempt_at"].is_string());

        // 5 s, then 5 min later: the same webhook-id each time.
        app.advance(6).await;
        receiver.wait_for("/fail", 2).await;
        delivery_settled(&app, &owner, failing_id, 2).await;
        app.advance(5 * 60 + 1).await;
        let got = receiver.wait_for("/fail", 3).await;
        let ids: Vec<&str> = got.iter().map(|r| r.headers["webhook-id"].to_str().unwrap()).collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        delivery_settled(&app, &owner, failing_id, 3).await;
        // The rest of the schedule: 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, then failed.
        for (n, secs) in [(4, 1800), (5, 7200), (6, 5 * 3600), (7, 10 * 3600), (8, 14 * 3600), (9, 20 * 3600), (10, 24 * 3600)] {
            app.advance(secs + 1).await;
            delivery_settled(&app, &owner, failing_id, n).await;
        }
        let log = delivery_settled(&app, &owner, failing_id, 10).await;
        assert_eq!((log["status"].as_str(), log["next_attempt_at"].as_str()), (Some("failed"), None));
        assert_eq!(receiver.at("/fail").len(), 10);

        // 410: disabled at once, nothing more goes there.
        let log = delivery_settled(&app, &owner, gone_id, 1).await;
        assert_eq!(log["status"], "disabled");
        let list = app.get(&format!("/organizations/{org}/webhooks"), Some(&owner.access)).await.json::<Value>().await.unwrap();
        let listed = list["items"].as_array().unwrap().iter().find(|h| h["id"] == gone_id).unwrap().clone();
        assert!(listed["disabled_at"].is_string());
        let res = app.post(&format!("/deliveries/{}/redeliver", log["id"].as_str().unwrap()), Some(&owner.access), json!({})).await;
        assert_problem(res, 409, "webhook_disabled").await;
        // (The clock moved three days: a later event.)
        let later = app
            .published_event(&owner, &org, 10, json!({"starts_at": hours_from_now(240), "ends_at": hours_from_now(242)}))
            .await;
        let other = app.register("后来者").await;
        assert_eq!(app.sign_up(&other, &later, 1).await.status(), 201);
        receiver.wait_for("/fail", 11).await;
        assert_eq!(receiver.at("/gone").len(), 1);
    }
}

both_databases! {
    async fn a_receiver_that_hangs_is_cut_off_and_retried(kind) {
        let receiver = Receiver::start().await;
        let app = TestApp::spawn_process(kind, &[("MULIN_WEBHOOK_ALLOW_PRIVATE", "true"), ("MULIN_WEBHOOK_TIMEOUT_SECS", "1")]).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "超时").await;
        let event = app.published_event(&owner, &org, 10, json!({})).await;
        let hook = register_hook(&app, &owner, &org, format!("{}/hang", receiver.base), json!(["registration.created"])).await;
        let resident = app.register("等待者").await;
        assert_eq!(app.sign_up(&resident, &event, 1).await.status(), 201);
        let log = delivery_settled(&app, &owner, hook["id"].as_str().unwrap(), 1).await;
        assert_eq!((log["status"].as_str(), log["response_code"].as_i64()), (Some("pending"), None));
    }
}

both_databases! {
    async fn private_and_loopback_targets_and_strangers_are_refused(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "安全").await;
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.5/hook",
            "http://[::1]/hook",
            "ftp://example.com/hook",
            "not a url",
        ] {
            let res = app
                .post(&format!("/organizations/{org}/webhooks"), Some(&owner.access), json!({"url": url, "events": ["registration.created"]}))
                .await;
            let body = assert_problem(res, 422, "validation_failed").await;
            assert_eq!(body["errors"][0]["field"], "url", "{url}");
        }
        let res = app
            .post(&format!("/organizations/{org}/webhooks"), Some(&owner.access), json!({"url": "https://93.184.215.14/h", "events": ["report.changed"]}))
            .await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "events");

        let (_, stranger) = app.verified_org(&admin, "别家").await;
        let res = app
            .post(&format!("/organizations/{org}/webhooks"), Some(&stranger.access), json!({"url": "https://93.184.215.14/h", "events": ["registration.created"]}))
            .await;
        assert_problem(res, 404, "not_found").await;
        // A public address is accepted (not called until something happens).
        let res = app
            .post(&format!("/organizations/{org}/webhooks"), Some(&owner.access), json!({"url": "https://93.184.215.14/h", "events": ["registration.created"]}))
            .await;
        assert_eq!(res.status(), 201);
    }
}

both_databases! {
    async fn notifications_reach_the_push_gateway_signed_with_the_recipient_and_text(kind) {
        let receiver = Receiver::start().await;
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let url = format!("{}/ok", receiver.base);
        let app = TestApp::spawn_process(kind, &[("MULIN_PUSH_WEBHOOK_URL", url.as_str()), ("MULIN_PUSH_WEBHOOK_SECRET", secret)]).await;
        app.out_of_quiet_hours().await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "推送网关").await;
        let event = app.published_event(&owner, &org, 1, json!({})).await;
        let first = app.register("先到").await;
        let second = app.register("候补").await;
        let res = app.sign_up(&first, &event, 1).await;
        let registration = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        assert_eq!(app.sign_up(&second, &event, 1).await.status(), 201);
        let res = app.post(&format!("/registrations/{registration}/cancel"), Some(&first.access), json!({})).await;
        assert_eq!(res.status(), 200);
        let got = receiver.wait_for("/ok", 1).await;
        verify(secret, &got[0]);
        let body: Value = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!(body["type"], "notification.created");
        assert_eq!(body["data"]["user_id"], second.user_id.as_str());
        assert_eq!(body["data"]["kind"], "promoted");
        assert_eq!(body["data"]["category"], "service");
        assert_eq!(body["data"]["title"], "候补成功，您有座位了");
    }
}

both_databases! {
    async fn a_buyers_endpoint_follows_its_projects_and_nobody_else_may_register_one(kind) {
        let receiver = Receiver::start().await;
        let app = TestApp::spawn_process(kind, &[("MULIN_WEBHOOK_ALLOW_PRIVATE", "true")]).await;
        let w = crate::projects::world(&app).await;
        let res = app
            .post(&format!("/buyers/{}/webhooks", w.buyer), Some(&w.owner.access), json!({"url": format!("{}/ok", receiver.base), "events": ["project.updated"]}))
            .await;
        assert_problem(res, 404, "not_found").await;
        let res = app
            .post(&format!("/buyers/{}/webhooks", w.buyer), Some(&w.staff.access), json!({"url": format!("{}/ok", receiver.base), "events": ["registration.created"]}))
            .await;
        assert_problem(res, 422, "validation_failed").await;
        let res = app
            .post(&format!("/buyers/{}/webhooks", w.buyer), Some(&w.staff.access), json!({"url": format!("{}/ok", receiver.base), "events": ["project.updated"]}))
            .await;
        assert_eq!(res.status(), 201);
        let secret = res.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();

        let project = crate::projects::contracted(&app, &w).await;
        // open, reviewing, contracted (and more): each a project.updated.
        // Deliveries run concurrently, so they may arrive in any order: wait
        // for the one that says contracted.
        let mut states = Vec::new();
        for _ in 0..200 {
            states.clear();
            for r in &receiver.at("/ok") {
                verify(&secret, r);
                let body: Value = serde_json::from_str(&r.body).unwrap();
                assert_eq!(body["type"], "project.updated");
                assert_eq!(body["data"]["project_id"], project.as_str());
                states.push(body["data"]["status"].as_str().unwrap().to_owned());
            }
            if states.iter().any(|s| s == "contracted") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(states.contains(&"contracted".to_owned()), "{states:?}");
    }
}
