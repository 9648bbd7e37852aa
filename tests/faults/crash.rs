//! `kill -9` in the middle of a rush of sign-ups: what was answered `201`
//! survives, nothing is overbooked, the waitlist keeps its order, and the
//! residents who heard nothing can simply try again.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::*;
use crate::within;

const RESIDENTS: usize = 1_000;
const SEATS: i64 = 100;
/// Answers to wait for before the kill: enough that seats and waitlist
/// places were both handed out, few enough that most requests are in flight.
const KILL_AFTER: usize = 150;

both_databases! {
    async fn a_server_killed_during_a_thousand_sign_ups_keeps_every_answered_one(kind) {
        within(300, async {
            let mut app = TestApp::spawn_process(kind, &[]).await;
            let admin = app.admin().await;
            let (org, owner) = app.verified_org(&admin, "互助会").await;
            let event = app.published_event(&owner, &org, SEATS, json!({})).await;
            let residents = app.seeded_residents(RESIDENTS).await;

            let answered = Arc::new(AtomicUsize::new(0));
            let enough = Arc::new(tokio::sync::Notify::new());
            let url = app.url(&format!("/events/{event}/registrations"));
            let rush: Vec<_> = residents
                .iter()
                .map(|r| {
                    let (client, url, token) = (app.client.clone(), url.clone(), r.access.clone());
                    let (answered, enough) = (answered.clone(), enough.clone());
                    tokio::spawn(async move {
                        let res = client.post(url).bearer_auth(token).json(&json!({})).send().await;
                        let answer = match res {
                            Ok(res) => {
                                let status = res.status().as_u16();
                                let body: Option<Value> = res.json().await.ok();
                                body.map(|b| (status, b))
                            }
                            Err(_) => None,
                        };
                        if answer.is_some() && answered.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                            enough.notify_one();
                        }
                        answer
                    })
                })
                .collect();
            enough.notified().await;
            // SIGKILL, then the same binary on the same database again.
            app.restart().await;
            let mut answers = Vec::with_capacity(RESIDENTS);
            for task in rush {
                answers.push(task.await.unwrap());
            }

            let mut kept: HashMap<String, Value> = HashMap::new();
            let mut unanswered = Vec::new();
            for (resident, answer) in residents.iter().zip(&answers) {
                match answer {
                    Some((201, body)) => {
                        kept.insert(body["id"].as_str().unwrap().to_owned(), body.clone());
                    }
                    Some((status, body)) => panic!("a sign-up answered {status}: {body}"),
                    None => unanswered.push(resident),
                }
            }
            assert!(kept.len() >= KILL_AFTER, "{} answered before the kill", kept.len());
            assert!(!unanswered.is_empty(), "the kill landed after every answer: nothing was tested");

            // Every answered sign-up is there, as it was answered.
            let roster = app.roster(&owner, &event).await;
            let by_id: HashMap<&str, &Value> = roster.iter().map(|r| (r["registration_id"].as_str().unwrap(), r)).collect();
            for (id, answer) in &kept {
                let row = by_id.get(id.as_str()).unwrap_or_else(|| panic!("answered {id} lost in the crash"));
                assert_eq!(row["status"], answer["status"], "{id}");
                assert_eq!(row["waitlist_position"], answer["waitlist_position"], "{id}");
            }
            assert_consistent(&app, &owner, &event, roster.len()).await;

            // Those who heard nothing try again: each now holds exactly one place.
            for resident in &unanswered {
                let res = app.sign_up(resident, &event, 1).await;
                match res.status().as_u16() {
                    201 => {}
                    409 => assert_eq!(res.json::<Value>().await.unwrap()["code"], "already_registered"),
                    other => panic!("a retry answered {other}"),
                }
            }
            let roster = app.roster(&owner, &event).await;
            assert_eq!(roster.len(), RESIDENTS, "one registration per resident, none lost");
            let people: HashSet<&str> = roster.iter().map(|r| r["user_id"].as_str().unwrap()).collect();
            assert_eq!(people.len(), RESIDENTS);
            let confirmed = assert_consistent(&app, &owner, &event, RESIDENTS).await;
            assert_eq!(confirmed, SEATS, "every seat taken, none twice");
        })
        .await;
    }
}

/// Seats never exceed capacity, waitlist positions run 1…n in the order the
/// sign-ups were accepted, and the event's counters agree with its roster.
/// Returns the confirmed seats.
async fn assert_consistent(
    app: &TestApp,
    owner: &Session,
    event: &str,
    expected_rows: usize,
) -> i64 {
    let roster = app.roster(owner, event).await;
    assert_eq!(roster.len(), expected_rows);
    let confirmed: i64 = roster
        .iter()
        .filter(|r| r["status"] == "confirmed")
        .map(|r| r["party_size"].as_i64().unwrap())
        .sum();
    assert!(
        confirmed <= SEATS,
        "{confirmed} seats confirmed for {SEATS}"
    );
    let mut waiting: Vec<&Value> = roster
        .iter()
        .filter(|r| r["status"] == "waitlisted")
        .collect();
    waiting.sort_by_key(|r| (instant(&r["created_at"]), r["waitlist_position"].as_i64()));
    let positions: Vec<i64> = waiting
        .iter()
        .map(|r| r["waitlist_position"].as_i64().unwrap())
        .collect();
    assert_eq!(
        positions,
        (1..=waiting.len() as i64).collect::<Vec<_>>(),
        "waitlist in acceptance order"
    );
    let e = app.event(event).await;
    assert_eq!(e["confirmed_count"].as_i64(), Some(confirmed));
    assert_eq!(e["waitlist_count"].as_i64(), Some(waiting.len() as i64));
    assert_eq!(e["seats_left"].as_i64(), Some(SEATS - confirmed));
    confirmed
}
