//! A network that loses three answers in ten, and clients that retry with
//! `Idempotency-Key` until they hear back: no duplicate registration,
//! check-in or organization, and every retry hears the first answer.

use std::time::Duration;

use diesel::prelude::*;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::*;
use crate::proxy::Proxy;
use crate::within;

const RESIDENTS: usize = 150;
const SEATS: i64 = 50;
const NEW_ORGS: usize = 60;

/// Sends the same request, under the same key, until an answer arrives.
async fn until_answered(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> (u16, Value) {
    for _ in 0..40 {
        let sent = client
            .post(url)
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await;
        if let Ok(res) = sent {
            let status = res.status().as_u16();
            if let Ok(body) = res.json::<Value>().await {
                return (status, body);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no answer after 40 tries");
}

fn lossy_client() -> reqwest::Client {
    // A connection per request, so each one takes its own chance.
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

both_databases! {
    async fn retries_through_a_network_that_loses_responses_create_nothing_twice(kind) {
        within(240, async {
            let app = TestApp::spawn(kind).await;
            let admin = app.admin().await;
            let (org, owner) = app.verified_org(&admin, "丢包互助会").await;
            let soon = |m: i64| (chrono::Utc::now() + chrono::Duration::minutes(m)).to_rfc3339();
            let event = app
                .published_event(&owner, &org, SEATS, json!({"starts_at": soon(30), "ends_at": soon(150)}))
                .await;
            let residents = app.seeded_residents(RESIDENTS).await;
            let upstream = app.address.trim_start_matches("http://").parse().unwrap();
            let proxy = Proxy::lossy(upstream, 3).await;
            let base = format!("http://{}/api/v1", proxy.addr);
            let client = lossy_client();

            // Sign-ups: every resident hears 201, exactly one registration each.
            let url = format!("{base}/events/{event}/registrations");
            let answers = join_all(residents.iter().enumerate().map(|(i, r)| {
                let (client, url) = (&client, &url);
                async move { until_answered(client, url, &r.access, &format!("signup-{i}"), &json!({})).await }
            }))
            .await;
            let mut confirmed = Vec::new();
            for (status, body) in &answers {
                assert_eq!(*status, 201, "the first answer, replayed: {body}");
                if body["status"] == "confirmed" {
                    confirmed.push(body["id"].as_str().unwrap().to_owned());
                }
            }
            assert_eq!(confirmed.len() as i64, SEATS);
            let roster = app.roster(&owner, &event).await;
            assert_eq!(roster.len(), RESIDENTS, "no registration twice");
            let seated: Vec<&str> = roster.iter().filter(|r| r["status"] == "confirmed").map(|r| r["registration_id"].as_str().unwrap()).collect();
            assert_eq!(seated.len() as i64, SEATS);
            assert!(seated.iter().all(|id| confirmed.iter().any(|c| c == id)), "the seats are the ones answered");

            // Check-ins at the door: each confirmed resident counted once.
            let url = format!("{base}/events/{event}/checkins");
            let scans = join_all(confirmed.iter().map(|id| {
                let (client, url, owner) = (&client, &url, &owner);
                async move {
                    until_answered(client, url, &owner.access, &format!("scan-{id}"), &json!({"registration_id": id})).await
                }
            }))
            .await;
            for (status, body) in &scans {
                assert_eq!((*status, body["result"].as_str()), (201, Some("ok")), "{body}");
            }
            let event_id = event.clone();
            let (rows, people) = app
                .db
                .run(move |c| {
                    use mulin::db::schema::checkins;
                    let people: Vec<String> = checkins::table
                        .filter(checkins::event_id.eq(&event_id))
                        .select(checkins::registration_id)
                        .load(c)?;
                    let rows = people.len() as i64;
                    let people = people.into_iter().collect::<std::collections::HashSet<_>>().len() as i64;
                    Ok((rows, people))
                })
                .await
                .unwrap();
            assert_eq!((rows, people), (SEATS, SEATS), "one check-in per person");

            // Organizations: one each, however often the request went out.
            let url = format!("{base}/organizations");
            let created = join_all(residents.iter().take(NEW_ORGS).enumerate().map(|(i, r)| {
                let (client, url) = (&client, &url);
                async move {
                    let body = json!({"name": format!("邻里互助社{i:02}"), "category": "life_service"});
                    until_answered(client, url, &r.access, &format!("org-{i}"), &body).await
                }
            }))
            .await;
            assert!(created.iter().all(|(status, _)| *status == 201));
            let orgs: i64 = app
                .db
                .run(|c| Ok(mulin::db::schema::organizations::table.count().get_result(c)?))
                .await
                .unwrap();
            assert_eq!(orgs, 1 + NEW_ORGS as i64, "no organization twice");

            // The network did lose answers, and often.
            let sent = proxy.accepted();
            assert!(proxy.dropped() * 10 >= sent * 2, "{} of {sent} answers lost", proxy.dropped());
        })
        .await;
    }
}
