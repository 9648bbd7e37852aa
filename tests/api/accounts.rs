//! Registration, login, token rotation and reuse detection, forged tokens, rate
//! limits and the profile.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::*;

both_databases! {
    /// register → login → /me → refresh → the old refresh token is refused →
    /// replaying it revoked the newer one too; logout ends a login.
    async fn a_replayed_refresh_token_revokes_the_whole_login(kind) {
        let app = TestApp::spawn(kind).await;
        let phone = new_phone();
        let registered = app.register_as(&phone, "王阿姨").await;

        let login = app
            .post("/auth/login", None, json!({"phone": format!("+86{phone}"), "password": PASSWORD}))
            .await;
        assert_eq!(login.status(), 200);
        let first = session(login.json().await.unwrap());
        assert_eq!(first.user_id, registered.user_id);

        let me: Value = app.get("/me", Some(&first.access)).await.json().await.unwrap();
        assert_eq!(me["display_name"], "王阿姨");
        assert_eq!(me["phone"], format!("+86{phone}"));
        assert_eq!(me["is_admin"], false);

        let refreshed = app.post("/auth/refresh", None, json!({"refresh_token": first.refresh})).await;
        assert_eq!(refreshed.status(), 200);
        let second = session(refreshed.json().await.unwrap());
        assert_ne!(second.refresh, first.refresh);
        assert_eq!(app.get("/me", Some(&second.access)).await.status(), 200);

        // The rotated token again: reuse detected, the whole login revoked.
        let replay = app.post("/auth/refresh", None, json!({"refresh_token": first.refresh})).await;
        assert_problem(replay, 401, "refresh_token_reused").await;
        let newer = app.post("/auth/refresh", None, json!({"refresh_token": second.refresh})).await;
        assert_problem(newer, 401, "unauthenticated").await;
        assert_problem(app.get("/me", Some(&second.access)).await, 401, "unauthenticated").await;
        // The registration's own login is a different session and still works.
        assert_eq!(app.get("/me", Some(&registered.access)).await.status(), 200);

        let logout = app
            .post("/auth/logout", Some(&registered.access), json!({"refresh_token": registered.refresh}))
            .await;
        assert_eq!(logout.status(), 204);
        assert_problem(app.get("/me", Some(&registered.access)).await, 401, "unauthenticated").await;
        let after = app.post("/auth/refresh", None, json!({"refresh_token": registered.refresh})).await;
        let after = assert_problem(after, 401, "unauthenticated").await;
        // It speaks of the refresh token: no access token was sent.
        assert_eq!(after["detail"], "该刷新令牌无效（未知、已过期或已退出登录），请重新登录。");
        let res = app.request(reqwest::Method::POST, "/auth/refresh", None).header("accept-language", "en")
            .json(&json!({"refresh_token": registered.refresh})).send().await.unwrap();
        let after = assert_problem(res, 401, "unauthenticated").await;
        assert!(!after["detail"].as_str().unwrap().contains("access token"), "{after}");
    }
}

both_databases! {
    async fn two_concurrent_refreshes_of_one_token_have_one_winner(kind) {
        let app = TestApp::spawn(kind).await;
        let user = app.register("李伯伯").await;
        let body = json!({"refresh_token": user.refresh});
        let (a, b) = tokio::join!(
            app.post("/auth/refresh", None, body.clone()),
            app.post("/auth/refresh", None, body.clone())
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 401]);
    }
}

both_databases! {
    async fn a_wrong_password_and_an_unknown_phone_get_byte_identical_answers(kind) {
        let app = TestApp::spawn(kind).await;
        let user = app.register("张奶奶").await;
        let wrong = app
            .post("/auth/login", None, json!({"phone": user.phone, "password": "not the password"}))
            .await;
        let unknown = app
            .post("/auth/login", None, json!({"phone": new_phone(), "password": "not the password"}))
            .await;
        assert_eq!(wrong.status(), 401);
        assert_eq!(unknown.status(), 401);
        let (wrong, unknown) = (wrong.bytes().await.unwrap(), unknown.bytes().await.unwrap());
        assert_eq!(wrong, unknown);
        let body: Value = serde_json::from_slice(&wrong).unwrap();
        assert_eq!(body["code"], "invalid_credentials");
    }
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

both_databases! {
    async fn forged_and_malformed_tokens_are_all_refused(kind) {
        let app = TestApp::spawn(kind).await;
        let user = app.register("陈爷爷").await;
        let me: Value = app.get("/me", Some(&user.access)).await.json().await.unwrap();
        assert_eq!(me["id"], user.user_id.as_str());

        let header_payload = |token: &str| -> (String, Value) {
            let mut parts = token.split('.');
            let header = parts.next().unwrap().to_owned();
            let payload = parts.next().unwrap();
            use base64::Engine;
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
            (header, serde_json::from_slice(&raw).unwrap())
        };
        let (_, claims) = header_payload(&user.access);
        let now = chrono::Utc::now().timestamp();
        let with = |key: &str, value: Value| {
            let mut c = claims.clone();
            c[key] = value;
            c
        };
        let without = |key: &str| {
            let mut c = claims.clone();
            c.as_object_mut().unwrap().remove(key);
            c
        };
        use base64::Engine;
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let alg_none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims));
        let forged: Vec<(&str, String)> = vec![
            ("alg none", alg_none),
            ("wrong signature", sign(&claims, "another-secret-that-is-also-long-enough-xx")),
            ("expired", sign(&with("exp", json!(now - 3600)), JWT_SECRET)),
            ("string exp", sign(&with("exp", json!((now + 3600).to_string())), JWT_SECRET)),
            ("missing aud", sign(&without("aud"), JWT_SECRET)),
            ("wrong aud", sign(&with("aud", json!("someone-else")), JWT_SECRET)),
            ("missing iss", sign(&without("iss"), JWT_SECRET)),
            ("missing typ", sign(&without("typ"), JWT_SECRET)),
            ("missing iat", sign(&without("iat"), JWT_SECRET)),
            ("missing exp", sign(&without("exp"), JWT_SECRET)),
            ("display typ", sign(&with("typ", json!("display")), JWT_SECRET)),
            ("other user's id", sign(&with("sub", json!(uuid::Uuid::new_v4().to_string())), JWT_SECRET)),
            ("refresh token as access token", user.refresh.clone()),
            ("garbage", "not.a.token".to_owned()),
        ];
        for (what, token) in forged {
            let res = app.get("/me", Some(&token)).await;
            assert_eq!(res.status(), 401, "{what}");
            assert_problem(res, 401, "unauthenticated").await;
        }
        let no_scheme = app.client.get(app.url("/me")).header("authorization", user.access.clone()).send().await.unwrap();
        assert_problem(no_scheme, 401, "unauthenticated").await;
        assert_problem(app.get("/me", None).await, 401, "unauthenticated").await;
    }
}

both_databases! {
    async fn the_eleventh_login_attempt_in_a_minute_for_one_phone_is_refused(kind) {
        let app = TestApp::spawn(kind.clone()).await;
        let user = app.register("刘阿姨").await;
        for attempt in 1..=10 {
            let res = app
                .post("/auth/login", None, json!({"phone": user.phone, "password": "wrong password"}))
                .await;
            assert_eq!(res.status(), 401, "attempt {attempt}");
        }
        // Even the right password is refused now: the limit is on attempts.
        let res = app
            .post("/auth/login", None, json!({"phone": user.phone, "password": PASSWORD}))
            .await;
        let retry_after: u64 = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        assert_problem(res, 429, "rate_limited").await;
        // Another phone from the same address is unaffected (per-address limit off).
        let other = app.register("赵伯伯").await;
        let res = app.post("/auth/login", None, json!({"phone": other.phone, "password": PASSWORD})).await;
        assert_eq!(res.status(), 200);

        // Two instances, the per-address limit on: the phone's tenth attempt
        // was made through one, the refused eleventh through the other (whose
        // memory saw nothing, so the database refused it). That blocks the
        // phone there, not its caller's address.
        let (_db, url) = TestDb::create(&kind);
        let settings = || { let mut s = test_settings(url.clone()); s.auth_rate_limit = 30; s };
        let (a, b) = (TestApp::start_shared(settings()).await, TestApp::start_shared(settings()).await);
        let (user, other) = (a.register("钱阿姨").await, a.register("孙伯伯").await);
        for _ in 1..=10 {
            a.post("/auth/login", None, json!({"phone": user.phone, "password": "wrong password"})).await;
        }
        let res = b.post("/auth/login", None, json!({"phone": user.phone, "password": PASSWORD})).await;
        assert_problem(res, 429, "rate_limited").await;
        let res = b.post("/auth/login", None, json!({"phone": other.phone, "password": PASSWORD})).await;
        assert_eq!(res.status(), 200, "the address is under its limit");
    }
}

both_databases! {
    async fn the_per_address_limit_counts_every_auth_request_from_one_client(kind) {
        let app = TestApp::spawn_with(kind, |s| s.auth_rate_limit = 5).await;
        for _ in 0..5 {
            let res = app.post("/auth/login", None, json!({"phone": new_phone(), "password": "whatever1"})).await;
            assert_eq!(res.status(), 401);
        }
        let res = app.post("/auth/login", None, json!({"phone": new_phone(), "password": "whatever1"})).await;
        assert!(res.headers().contains_key("retry-after"));
        assert_problem(res, 429, "rate_limited").await;
    }
}

both_databases! {
    async fn a_phone_number_is_taken_whatever_its_spelling(kind) {
        let app = TestApp::spawn(kind).await;
        let phone = new_phone();
        app.register_as(&phone, "孙奶奶").await;
        let spaced = format!("+86 {} {} {}", &phone[..3], &phone[3..7], &phone[7..]);
        let res = app
            .post("/auth/register", None, json!({"phone": spaced, "password": PASSWORD, "display_name": "冒名"}))
            .await;
        assert_problem(res, 409, "phone_taken").await;
    }
}

both_databases! {
    async fn registration_lists_every_invalid_field_in_the_callers_language(kind) {
        let app = TestApp::spawn(kind).await;
        let body = json!({"phone": "12345", "password": "short", "display_name": "  ", "birth_year": 1800, "locale": "fr"});
        let zh = app.post("/auth/register", None, body.clone()).await;
        let zh = assert_problem(zh, 422, "validation_failed").await;
        let fields: Vec<&str> = zh["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["phone", "password", "display_name", "birth_year", "locale"]);
        assert_eq!(zh["title"], "部分内容需要修改");
        let en = app
            .request(reqwest::Method::POST, "/auth/register", None)
            .header("accept-language", "en-GB,en;q=0.9")
            .json(&body)
            .send()
            .await
            .unwrap();
        let en = assert_problem(en, 422, "validation_failed").await;
        assert_eq!(en["title"], "Some fields need correcting");
        assert_eq!(en["errors"][1]["message"], "must be at least 8 characters");
    }
}

both_databases! {
    async fn a_resident_updates_and_clears_their_profile(kind) {
        let app = TestApp::spawn(kind).await;
        let user = app.register("周爷爷").await;
        let patch = |body: Value| {
            app.request(reqwest::Method::PATCH, "/me", Some(&user.access)).json(&body).send()
        };
        let res = patch(json!({"display_name": "周老师", "birth_year": 1948, "accessibility_needs": "轮椅", "locale": "en"})).await.unwrap();
        assert_eq!(res.status(), 200);
        let me: Value = res.json().await.unwrap();
        assert_eq!(me["display_name"], "周老师");
        assert_eq!(me["birth_year"], 1948);
        assert_eq!(me["accessibility_needs"], "轮椅");
        assert_eq!(me["locale"], "en");

        let res = patch(json!({"accessibility_needs": null})).await.unwrap();
        let me: Value = res.json().await.unwrap();
        assert_eq!(me["accessibility_needs"], Value::Null);
        assert_eq!(me["birth_year"], 1948, "absent fields stay as they were");

        let res = patch(json!({"birth_year": 3000})).await.unwrap();
        assert_problem(res, 422, "validation_failed").await;
        let res = patch(json!({"is_admin": true})).await.unwrap();
        assert_problem(res, 400, "invalid_body").await;
        let me: Value = app.get("/me", Some(&user.access)).await.json().await.unwrap();
        assert_eq!(me["is_admin"], false);
    }
}

both_databases! {
    async fn a_bad_token_is_refused_even_on_a_public_route(kind) {
        let app = TestApp::spawn(kind).await;
        let resident = app.register("令牌检查").await;
        assert_eq!(app.get("/events", None).await.status(), 200, "anonymous is fine");
        assert_eq!(app.get("/events", Some(&resident.access)).await.status(), 200);
        assert_problem(app.get("/events", Some("not-a-token")).await, 401, "unauthenticated").await;
        let res = app.post("/auth/logout", Some(&resident.access), serde_json::json!({"refresh_token": resident.refresh})).await;
        assert_eq!(res.status(), 204);
        assert_problem(app.get("/events", Some(&resident.access)).await, 401, "unauthenticated").await;
        let malformed = app.client.get(app.url("/events")).header("authorization", "Basic abc").send().await.unwrap();
        assert_problem(malformed, 401, "unauthenticated").await;
        // A stale access token never stands between a client and a fresh one.
        let other = app.register("换新令牌").await;
        let refreshed = app.request(reqwest::Method::POST, "/auth/refresh", Some("stale-or-garbage"))
            .json(&serde_json::json!({"refresh_token": other.refresh})).send().await.unwrap();
        assert_eq!(refreshed.status(), 200);
        // The refusal speaks the caller's language.
        let english = app.client.get(app.url("/events")).bearer_auth("not-a-token").header("accept-language", "en").send().await.unwrap();
        let body: Value = english.json().await.unwrap();
        assert!(body["title"].as_str().unwrap().is_ascii(), "{body}");
    }
}

both_databases! {
    async fn behind_trusted_proxies_the_client_is_the_rightmost_untrusted_hop(kind) {
        let app = TestApp::spawn_with(kind, |s| {
            s.auth_rate_limit = 2;
            s.behind_proxy = true;
            s.trusted_proxies = Some("127.0.0.1, 10.0.0.0/8".into());
        })
        .await;
        let login = |forwarded: &'static str| {
            app.client.post(app.url("/auth/login")).header("x-forwarded-for", forwarded)
                .json(&json!({"phone": new_phone(), "password": "whatever1"})).send()
        };
        // The client writes whatever it likes on the left; the hop our proxy
        // (10.0.0.7) saw is 203.0.113.9, and that is who is counted.
        assert_eq!(login("1.1.1.1, 203.0.113.9, 10.0.0.7").await.unwrap().status(), 401);
        assert_eq!(login("2.2.2.2, 203.0.113.9, 10.0.0.7").await.unwrap().status(), 401);
        assert_problem(login("3.3.3.3, 203.0.113.9, 10.0.0.7").await.unwrap(), 429, "rate_limited").await;
        // Another client behind the same proxy has its own window.
        assert_eq!(login("203.0.113.10, 10.0.0.7").await.unwrap().status(), 401);
    }
}
