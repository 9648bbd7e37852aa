//! The job queue's rules that no feature shows on its own.

use serde_json::json;

use crate::both_databases;
use crate::helpers::*;

both_databases! {
    async fn a_job_of_a_kind_this_instance_cannot_run_is_kept_however_often_it_was_tried(kind) {
        let app = TestApp::spawn(kind).await;
        // A job another version queued (a rolling deploy), already tried as
        // often as a job of a known kind ever is.
        let id = app
            .db
            .write(|tx| {
                use diesel::prelude::*;
                use mulin::db::schema::jobs;
                let id = mulin::jobs::enqueue(tx.conn(), mulin::jobs::NewJob {
                    kind: "from_a_later_version",
                    key: None,
                    subject: None,
                    payload: &json!({"hello": "world"}),
                    run_at: mulin::db::now(),
                })?;
                diesel::update(jobs::table.find(&id))
                    .set(jobs::attempts.eq(mulin::jobs::runner::MAX_ATTEMPTS))
                    .execute(tx.conn())?;
                Ok(id)
            })
            .await
            .unwrap();
        // The runner claims it within its half-second poll and finds no handler.
        let mut row = None;
        let mut claimed = false;
        for _ in 0..300 {
            let job = id.clone();
            let found = app
                .db
                .run(move |c| {
                    use diesel::prelude::*;
                    use mulin::db::schema::jobs;
                    Ok(jobs::table
                        .find(&job)
                        .select((jobs::attempts, jobs::run_at, jobs::last_error))
                        .first::<(i32, chrono::NaiveDateTime, Option<String>)>(c)
                        .optional()?)
                })
                .await
                .unwrap();
            claimed |= found.as_ref().is_none_or(|(attempts, ..)| *attempts > mulin::jobs::runner::MAX_ATTEMPTS);
            match found {
                Some((attempts, ..)) if attempts == mulin::jobs::runner::MAX_ATTEMPTS => {}
                Some((_, _, None)) => {}
                other => {
                    row = other;
                    break;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(claimed, "the runner never claimed the job within 30 s");
        let (attempts, run_at, error) = row.expect("the job was kept, not dropped");
        assert_eq!(attempts, mulin::jobs::runner::MAX_ATTEMPTS + 1);
        assert_eq!(error.as_deref(), Some("no handler for from_a_later_version"));
        let wait = run_at - mulin::db::now();
        assert!(wait > chrono::Duration::seconds(30) && wait <= chrono::Duration::minutes(1), "retried in a minute, not {wait}");
    }
}
