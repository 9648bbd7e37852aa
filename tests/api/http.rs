//! Cross-cutting HTTP behaviour: bad input never gets a 5xx, idempotency keys,
//! ETags, compression, probes and metrics.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::*;

both_databases! {
    async fn every_malformed_body_gets_a_4xx_problem_and_never_a_5xx(kind) {
        let app = TestApp::spawn(kind).await;
        let user = app.register("测试员").await;
        let huge = "x".repeat(1024 * 1024);
        let cases: Vec<(&str, String, &str, u16, &str)> = vec![
            ("/organizations", "{\"name\": 1, \"category\": \"charity\"}".into(), "application/json", 422, "validation_failed"),
            ("/organizations", "{\"name\": \"a\", \"category\": \"charity\", \"extra\": true}".into(), "application/json", 400, "invalid_body"),
            ("/organizations", "{\"name\": \"a\"".into(), "application/json", 400, "invalid_body"),
            ("/organizations", "[]".into(), "application/json", 400, "invalid_body"),
            ("/organizations", "[\"a\", \"charity\"]".into(), "application/json", 400, "invalid_body"),
            ("/me/volunteer/certificates", "[null, null]".into(), "application/json", 400, "invalid_body"),
            ("/organizations", "null".into(), "application/json", 400, "invalid_body"),
            ("/organizations", "".into(), "application/json", 400, "invalid_body"),
            ("/organizations", format!("{{\"name\": \"{huge}\", \"category\": \"charity\"}}"), "application/json", 413, "payload_too_large"),
            ("/organizations", "name=a".into(), "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
            ("/organizations", "{\"name\": \"\", \"category\": \"charity\"}".into(), "application/json", 422, "validation_failed"),
            ("/organizations", format!("{{\"name\": \"{}\", \"category\": \"charity\"}}", "长".repeat(101)), "application/json", 422, "validation_failed"),
            ("/organizations", "{\"name\": \"a\\u0000b\", \"category\": \"charity\"}".into(), "application/json", 422, "validation_failed"),
            ("/organizations", "{\"name\": \"a\", \"category\": \"charity\", \"contact_phone\": \"call me maybe\"}".into(), "application/json", 422, "validation_failed"),
            ("/auth/register", "{\"phone\": 13812345678, \"password\": \"x\", \"display_name\": \"y\"}".into(), "application/json", 422, "validation_failed"),
            ("/auth/register", "{\"phone\": \"13812345678\", \"password\": \"12345678\", \"display_name\": \"y\", \"birth_year\": 1e300}".into(), "application/json", 422, "validation_failed"),
            ("/auth/register", "{\"phone\": \"13812345678\", \"password\": \"12345678\", \"display_name\": \"y\", \"birth_year\": 99999999999999999999999}".into(), "application/json", 422, "validation_failed"),
            ("/auth/register", "{\"phone\": \"13812345678\", \"password\": \"12345678\", \"display_name\": \"y\", \"birth_year\": -5}".into(), "application/json", 422, "validation_failed"),
            ("/auth/register", "{\"phone\": \"😀😀😀\", \"password\": \"12345678\", \"display_name\": \"😀\"}".into(), "application/json", 422, "validation_failed"),
            ("/auth/login", "{\"phone\": \"13812345678\"}".into(), "application/json", 422, "validation_failed"),
            ("/auth/refresh", "{\"refresh_token\": \"\"}".into(), "application/json", 401, "unauthenticated"),
            ("/auth/refresh", format!("{{\"refresh_token\": \"{}\"}}", "r".repeat(5000)), "application/json", 401, "unauthenticated"),
            ("/centres", "{}".into(), "application/json", 403, "forbidden"),
            ("/organizations/not-a-uuid/approve", "{}".into(), "application/json", 403, "forbidden"),
            ("/organizations/not-a-uuid/members", "{\"phone\": \"13812345678\", \"role\": \"boss\"}".into(), "application/json", 422, "validation_failed"),
        ];
        for (path, body, content_type, status, code) in cases {
            let res = app
                .request(Method::POST, path, Some(&user.access))
                .header("content-type", content_type)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), status, "{path} {}", &body[..body.len().min(80)]);
            let problem = assert_problem(res, status, code).await.to_string();
            // The parser's words (which quote the client's values) never reach the body.
            for parser_words in ["line ", "column", "expected", "invalid type"] {
                assert!(!problem.contains(parser_words), "{problem}");
            }
        }
        // Who is calling is decided before the body is read, on both databases.
        let resident = app.register("普通居民").await;
        for _ in 0..5 {
            let res = app.request(Method::POST, "/organizations", None).json(&json!({"bogus": 1})).send().await.unwrap();
            assert_problem(res, 401, "unauthenticated").await;
            let res = app.request(Method::POST, "/centres", Some(&resident.access)).json(&json!({"bogus": 1})).send().await.unwrap();
            assert_problem(res, 403, "forbidden").await;
        }
        // …even when the body is too large: authorization first, then 413.
        let big = json!({"name": "x".repeat(70 * 1024), "category": "charity"});
        let res = app.request(Method::POST, "/organizations", None).json(&big).send().await.unwrap();
        assert_problem(res, 401, "unauthenticated").await;
        let res = app.request(Method::POST, "/centres", Some(&resident.access)).json(&big).send().await.unwrap();
        assert_problem(res, 403, "forbidden").await;
        let res = app.request(Method::POST, "/organizations", Some(&resident.access)).json(&big).send().await.unwrap();
        assert_problem(res, 413, "payload_too_large").await;
        // Nothing half-written: the only organizations are none at all.
        let mine: Value = app.get("/organizations", Some(&user.access)).await.json().await.unwrap();
        assert_eq!(mine["items"], json!([]));

        assert_problem(app.get("/no/such/route", None).await, 404, "not_found").await;
        // A known path asked with the wrong method: 405 with what it allows.
        let res = app.request(Method::PUT, "/organizations", Some(&user.access)).send().await.unwrap();
        assert_eq!(res.headers()["allow"], "GET, POST");
        assert_problem(res, 405, "method_not_allowed").await;
        let res = app.request(Method::PUT, "/events", None).send().await.unwrap();
        assert_eq!(res.headers()["allow"], "GET");
        assert_problem(res, 405, "method_not_allowed").await;
        let res = app.request(Method::DELETE, &format!("/events/{}", uuid::Uuid::new_v4()), Some(&user.access)).send().await.unwrap();
        assert_eq!(res.headers()["allow"], "GET, PATCH");
        assert_problem(res, 405, "method_not_allowed").await;
        assert_problem(app.request(Method::PUT, "/no/such/route", None).send().await.unwrap(), 404, "not_found").await;
        let res = app.request(Method::POST, "/organizations", Some(&user.access)).header("idempotency-key", "").json(&json!({})).send().await.unwrap();
        assert_problem(res, 400, "invalid_idempotency_key").await;
        let res = app.request(Method::POST, "/organizations", Some(&user.access)).header("idempotency-key", "k".repeat(256)).json(&json!({})).send().await.unwrap();
        assert_problem(res, 400, "invalid_idempotency_key").await;
    }
}

both_databases! {
    async fn wrong_types_and_missing_fields_are_named_in_the_callers_language(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "表单测试").await;
        let event = app.published_event(&owner, &org, 10, json!({})).await;
        let resident = app.register("居民").await;
        let path = format!("/events/{event}/registrations");
        let send = |body: &'static str, language: &'static str| {
            app.request(Method::POST, &path, Some(&resident.access))
                .header("content-type", "application/json")
                .header("accept-language", language)
                .body(body)
                .send()
        };
        let zh = assert_problem(send(r#"{"party_size": "two"}"#, "zh-CN").await.unwrap(), 422, "validation_failed").await;
        assert_eq!(zh["errors"], json!([{"field": "party_size", "message": "须为整数"}]));
        assert_eq!(zh["title"], "部分内容需要修改");
        let en = assert_problem(send(r#"{"party_size": "two"}"#, "en").await.unwrap(), 422, "validation_failed").await;
        assert_eq!(en["errors"], json!([{"field": "party_size", "message": "must be a whole number"}]));
        assert!(!en.to_string().contains("two"), "{en}");

        // A phone sent as a number is named, never echoed.
        let res = app.request(Method::POST, "/auth/login", None)
            .json(&json!({"phone": 13912345678_i64, "password": PASSWORD}))
            .send().await.unwrap();
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "phone");
        assert!(!body.to_string().contains("13912345678"), "{body}");

        // A missing required field, nested ones by their path.
        let res = app.request(Method::POST, "/auth/login", None).header("accept-language", "en").json(&json!({"phone": "13912345678"})).send().await.unwrap();
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"], json!([{"field": "password", "message": "is required"}]));
        let res = app.post(&format!("/organizations/{org}/events"), Some(&owner.access), json!({
            "title": "每周花园", "category": "garden", "location": "花园", "starts_at": hours_from_now(24),
            "ends_at": hours_from_now(26), "capacity": 10, "repeat": {"weekdays": ["mon"]}})).await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "repeat.until");

        // Malformed JSON and unknown fields stay 400, without the parser's words.
        let malformed = assert_problem(send(r#"{"party_size": 2"#, "en").await.unwrap(), 400, "invalid_body").await;
        assert!(malformed.get("errors").is_none());
        let unknown = assert_problem(send(r#"{"party_size": 2, "phone": 13912345678}"#, "en").await.unwrap(), 400, "invalid_body").await;
        assert_eq!(unknown["errors"][0]["field"], "phone");
        for body in [malformed, unknown] {
            let text = body.to_string();
            assert!(!text.contains("line") && !text.contains("13912345678"), "{text}");
        }
    }
}

both_databases! {
    async fn twenty_identical_requests_with_one_idempotency_key_make_one_organization(kind) {
        let app = TestApp::spawn(kind).await;
        let user = app.register("重复提交").await;
        let body = json!({"name": "只应创建一次", "category": "charity"});
        let key = uuid::Uuid::new_v4().to_string();
        let requests = (0..20).map(|_| {
            app.request(Method::POST, "/organizations", Some(&user.access))
                .header("idempotency-key", &key)
                .json(&body)
                .send()
        });
        let responses = futures_util::future::join_all(requests).await;
        let mut bodies = Vec::new();
        let mut replayed = 0;
        for res in responses {
            let res = res.unwrap();
            assert_eq!(res.status(), 201);
            if res.headers().get("idempotent-replayed").is_some_and(|v| v == "true") {
                replayed += 1;
            }
            bodies.push(res.bytes().await.unwrap());
        }
        assert_eq!(replayed, 19, "all but the first are replays");
        assert!(bodies.windows(2).all(|w| w[0] == w[1]), "20 identical bodies");
        let mine: Value = app.get("/organizations", Some(&user.access)).await.json().await.unwrap();
        assert_eq!(mine["items"].as_array().unwrap().len(), 1);

        let other = app
            .request(Method::POST, "/organizations", Some(&user.access))
            .header("idempotency-key", &key)
            .json(&json!({"name": "另一个", "category": "charity"}))
            .send()
            .await
            .unwrap();
        assert_problem(other, 422, "idempotency_key_reused").await;

        // Keys belong to their caller: another user with the same key is a new request.
        let stranger = app.register("另一人").await;
        let res = app
            .request(Method::POST, "/organizations", Some(&stranger.access))
            .header("idempotency-key", &key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        assert!(res.headers().get("idempotent-replayed").is_none());
    }
}

both_databases! {
    async fn a_refused_request_is_replayed_as_refused_and_a_fixed_one_needs_a_new_key(kind) {
        let app = TestApp::spawn(kind).await;
        let user = app.register("提交错误").await;
        let key = "retry-me-please";
        let send = |body: Value| {
            app.request(Method::POST, "/organizations", Some(&user.access)).header("idempotency-key", key).json(&body).send()
        };
        let bad = json!({"name": "", "category": "charity"});
        assert_problem(send(bad.clone()).await.unwrap(), 422, "validation_failed").await;
        let again = send(bad).await.unwrap();
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_problem(again, 422, "validation_failed").await;
    }
}

both_databases! {
    async fn gets_carry_an_etag_and_answer_304_when_nothing_changed(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        app.verified_org(&admin, "缓存测试").await;
        let first = app.get("/organizations", None).await;
        assert_eq!(first.status(), 200);
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let again = app.request(Method::GET, "/organizations", None).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), 304);
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
        assert!(again.bytes().await.unwrap().is_empty());

        app.verified_org(&admin, "新组织").await;
        let changed = app.request(Method::GET, "/organizations", None).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(changed.status(), 200);
        assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    }
}

both_databases! {
    async fn the_event_listing_shows_a_sign_up_at_once_and_answers_304_between_writes(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        let (org, owner) = app.verified_org(&admin, "列表缓存").await;
        let event = app.published_event(&owner, &org, 5, json!({})).await;
        let seats = |page: &Value| {
            page["items"].as_array().unwrap().iter().find(|e| e["id"] == event.as_str()).unwrap()["seats_left"].as_i64()
        };
        let first = app.get("/events?limit=20", None).await;
        assert_eq!(first.status(), 200);
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(seats(&first.json().await.unwrap()), Some(5));
        // Nothing written since: the same page, and 304 for its tag.
        let again = app.get("/events?limit=20", None).await;
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
        let not_modified = app.request(Method::GET, "/events?limit=20", None).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(not_modified.status(), 304);
        assert!(not_modified.bytes().await.unwrap().is_empty());

        // A sign-up answered: the very next read shows it, under a new tag.
        let resident = app.register("看列表").await;
        assert_eq!(app.sign_up(&resident, &event, 2).await.status(), 201);
        let after = app.request(Method::GET, "/events?limit=20", None).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(after.status(), 200);
        assert_ne!(after.headers()["etag"].to_str().unwrap(), etag);
        assert_eq!(seats(&after.json().await.unwrap()), Some(3));
    }
}

both_databases! {
    async fn responses_are_compressed_for_clients_that_accept_it(kind) {
        let app = TestApp::spawn(kind).await;
        let admin = app.admin().await;
        for i in 0..5 {
            app.verified_org(&admin, &format!("压缩测试组织{i}")).await;
        }
        for encoding in ["gzip", "br"] {
            let res = app.request(Method::GET, "/organizations", None).header("accept-encoding", encoding).send().await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(res.headers()["content-encoding"], encoding);
        }
        let plain = app.get("/organizations", None).await;
        assert!(plain.headers().get("content-encoding").is_none());
    }
}

both_databases! {
    async fn probes_and_metrics_answer(kind) {
        let app = TestApp::spawn(kind.clone()).await;
        let health: Value = app.get("/healthz", None).await.json().await.unwrap();
        assert_eq!(health["status"], "ok");
        let ready: Value = app.get("/readyz", None).await.json().await.unwrap();
        let backend = match kind { Kind::Sqlite => "sqlite", Kind::Postgres(_) => "postgres" };
        assert_eq!(ready["database"], backend);
        let metrics = app.get("/metrics", None).await.text().await.unwrap();
        assert!(metrics.contains("mulin_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"), "{metrics}");
        assert!(metrics.contains("mulin_http_request_duration_seconds"));
    }
}

both_databases! {
    async fn token_bearing_answers_and_unknown_routes_are_never_kept_for_idempotency(kind) {
        let app = TestApp::spawn(kind).await;
        let phone = new_phone();
        let body = json!({"phone": phone, "password": PASSWORD, "display_name": "重试的人"});
        let first = app.request(Method::POST, "/auth/register", None).header("idempotency-key", "reg-1").json(&body).send().await.unwrap();
        assert_eq!(first.status(), 201);
        let again = app.request(Method::POST, "/auth/register", None).header("idempotency-key", "reg-1").json(&body).send().await.unwrap();
        assert_problem(again, 409, "phone_taken").await;
        let login = app.request(Method::POST, "/auth/login", None).header("idempotency-key", "login-1")
            .json(&json!({"phone": phone, "password": PASSWORD})).send().await.unwrap();
        assert_eq!(login.status(), 200);
        let nowhere = app.request(Method::POST, "/no-such-route", None).header("idempotency-key", "x-1").json(&json!({})).send().await.unwrap();
        assert_eq!(nowhere.status(), 404);
        let kept: i64 = app.db.run(|c| {
            use diesel::prelude::*;
            use mulin::db::schema::idempotency_keys;
            Ok(idempotency_keys::table.count().get_result(c)?)
        }).await.unwrap();
        assert_eq!(kept, 0, "no token pair and no unknown route is stored");
    }
}

both_databases! {
    async fn key_material_is_stored_sealed_and_still_works(kind) {
        let app = TestApp::spawn_with(kind, |s| {
            s.jwt_secret = None;
            s.webhook_allow_private = true;
        })
        .await;
        let admin = app.admin().await;
        assert_eq!(app.get("/me", Some(&admin.access)).await.status(), 200, "tokens signed with the sealed secret verify");
        let (org, owner) = app.verified_org(&admin, "密钥测试").await;
        let hook: Value = app.request(Method::POST, &format!("/organizations/{org}/webhooks"), Some(&owner.access))
            .header("idempotency-key", "hook-1")
            .json(&json!({"url": "http://127.0.0.1:9/hook", "events": ["event.published"]})).send().await.unwrap().json().await.unwrap();
        let shown = hook["secret"].as_str().unwrap().to_owned();
        let rotated: Value = app.post(&format!("/webhooks/{}/rotate-secret", hook["id"].as_str().unwrap()), Some(&owner.access), json!({})).await.json().await.unwrap();
        let shown_again = rotated["secret"].as_str().unwrap().to_owned();
        let stored: Vec<String> = app.db.run(|c| {
            use diesel::prelude::*;
            use mulin::db::schema::{app_secrets, ticket_keys, webhook_endpoints};
            let mut all: Vec<String> = app_secrets::table.filter(app_secrets::name.eq("jwt_hs256")).select(app_secrets::value).load(c)?;
            all.extend(ticket_keys::table.select(ticket_keys::private_key).load::<String>(c)?);
            all.extend(webhook_endpoints::table.select(webhook_endpoints::secret).load::<String>(c)?);
            all.extend(webhook_endpoints::table.select(webhook_endpoints::previous_secret).load::<Option<String>>(c)?.into_iter().flatten());
            Ok(all)
        }).await.unwrap();
        assert_eq!(stored.len(), 4, "{stored:?}");
        let kept: i64 = app.db.run(|c| {
            use diesel::prelude::*;
            use mulin::db::schema::idempotency_keys;
            Ok(idempotency_keys::table.count().get_result(c)?)
        }).await.unwrap();
        assert_eq!(kept, 0, "an answer showing a secret is never kept for replay");
        for value in &stored {
            assert!(value.starts_with("sealed:v1:"), "stored in the clear: {value}");
            for secret in [&shown, &shown_again] {
                let body = secret.trim_start_matches("whsec_");
                assert!(!value.contains(body));
            }
        }
    }
}

both_databases! {
    async fn a_generated_token_secret_is_deleted_once_one_is_configured(kind) {
        let (_db, url) = TestDb::create(&kind);
        let rows = |app: &TestApp| {
            let db = app.db.clone();
            async move {
                db.run(|c| {
                    use diesel::prelude::*;
                    use mulin::db::schema::app_secrets;
                    Ok(app_secrets::table.filter(app_secrets::name.eq("jwt_hs256")).count().get_result::<i64>(c)?)
                })
                .await
                .unwrap()
            }
        };
        let mut generated = test_settings(url.clone());
        generated.jwt_secret = None;
        let mut first = TestApp::start_shared(generated).await;
        assert_eq!(rows(&first).await, 1, "generated and kept (sealed)");
        first.stop();
        let configured = TestApp::start_shared(test_settings(url)).await;
        assert_eq!(rows(&configured).await, 0, "MULIN_JWT_SECRET is set: the generated one is gone");
        let admin = configured.admin().await;
        assert_eq!(configured.get("/me", Some(&admin.access)).await.status(), 200);
    }
}
