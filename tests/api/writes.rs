//! The write path below the features: writes committed together (SQLite's
//! one writer; PostgreSQL's writes on one key) each keep or lose only their
//! own changes.

use diesel::RunQueryDsl;
use mulin::db::{Db, migrations};
use mulin::error::ApiError;

use crate::both_databases;
use crate::helpers::*;

both_databases! {
    async fn writes_committed_together_keep_or_lose_only_their_own_changes(kind) {
        let (_test_db, url) = TestDb::create(&kind);
        let settings = test_settings(url);
        let db = tokio::task::spawn_blocking(move || {
            let db = Db::connect(&settings).expect("connect");
            let mut conn = db.get().expect("connection");
            migrations::run_pending(&mut conn).expect("migrations");
            diesel::sql_query("CREATE TABLE probe (id INTEGER PRIMARY KEY)")
                .execute(&mut *conn)
                .expect("probe table");
            diesel::sql_query("INSERT INTO probe (id) VALUES (-1)")
                .execute(&mut *conn)
                .expect("seed");
            db
        })
        .await
        .expect("setup");

        // 300 writes on one key at once, so they are committed in batches.
        // Each inserts its row; every third then fails on its own, and every
        // fifth also inserts the seed's id again, which the database refuses
        // (on PostgreSQL that aborts the transaction up to the savepoint).
        let writes = (0..300i32).map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                db.write_on("probe", move |tx| {
                    diesel::sql_query(format!("INSERT INTO probe (id) VALUES ({n})"))
                        .execute(tx.conn())?;
                    if n % 5 == 0 {
                        diesel::sql_query("INSERT INTO probe (id) VALUES (-1)")
                            .execute(tx.conn())?;
                    }
                    if n % 3 == 0 {
                        return Err(ApiError::internal("this write fails"));
                    }
                    Ok(n)
                })
                .await
            })
        });
        let mut answered_ok = Vec::new();
        for write in writes.collect::<Vec<_>>() {
            if let Ok(n) = write.await.expect("task") {
                answered_ok.push(n);
            }
        }
        let expected: Vec<i32> = (0..300).filter(|n| n % 3 != 0 && n % 5 != 0).collect();
        assert_eq!(answered_ok, expected, "exactly the writes that did not fail succeed");

        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            id: i32,
        }
        let stored: Vec<i32> = db
            .run(|c| {
                let rows: Vec<Row> =
                    diesel::sql_query("SELECT id FROM probe WHERE id >= 0 ORDER BY id").load(c)?;
                Ok(rows.into_iter().map(|r| r.id).collect())
            })
            .await
            .expect("read back");
        assert_eq!(stored, expected, "the failed writes left nothing behind");
    }
}
