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

both_databases! {
    async fn a_write_chosen_to_break_a_deadlock_answers_503_and_changes_nothing(kind) {
        let (_test_db, url) = TestDb::create(&kind);
        let settings = test_settings(url);
        let db = tokio::task::spawn_blocking(move || {
            let db = Db::connect(&settings).expect("connect");
            let mut conn = db.get().expect("connection");
            migrations::run_pending(&mut conn).expect("migrations");
            diesel::sql_query("CREATE TABLE pair (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL)")
                .execute(&mut *conn)
                .expect("pair table");
            diesel::sql_query("INSERT INTO pair (id, touched) VALUES (1, 0), (2, 0)")
                .execute(&mut *conn)
                .expect("seed");
            db
        })
        .await
        .expect("setup");

        // Two writes take the same two rows in opposite orders, the second
        // one while the first is still between its two updates: on
        // PostgreSQL they deadlock and the server aborts one of them; SQLite's
        // one writer runs them one after the other.
        let write = |first: i32, second: i32, tag: i32| {
            let db = db.clone();
            tokio::spawn(async move {
                db.write(move |tx| {
                    let touch = |tx: &mut mulin::db::Tx<'_>, id: i32| {
                        diesel::sql_query(format!(
                            "UPDATE pair SET touched = touched + {tag} WHERE id = {id}"
                        ))
                        .execute(tx.conn())
                    };
                    touch(tx, first)?;
                    std::thread::sleep(std::time::Duration::from_millis(400));
                    touch(tx, second)?;
                    Ok(tag)
                })
                .await
            })
        };
        let one = write(1, 2, 1);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let two = write(2, 1, 10);
        let answers = [one.await.expect("task"), two.await.expect("task")];

        let mut committed = 0;
        let mut broken = 0;
        for answer in &answers {
            match answer {
                Ok(tag) => committed += tag,
                Err(ApiError::Unavailable(_)) => broken += 1,
                Err(other) => panic!("a deadlock must answer 503, not {other:?}"),
            }
        }
        match kind {
            Kind::Postgres(_) => assert_eq!(broken, 1, "PostgreSQL breaks the deadlock by aborting one write"),
            Kind::Sqlite => assert_eq!(broken, 0, "SQLite's one writer never deadlocks"),
        }

        #[derive(diesel::QueryableByName)]
        struct Touched {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            touched: i32,
        }
        let rows: Vec<i32> = db
            .run(|c| {
                let rows: Vec<Touched> =
                    diesel::sql_query("SELECT touched FROM pair ORDER BY id").load(c)?;
                Ok(rows.into_iter().map(|r| r.touched).collect())
            })
            .await
            .expect("read back");
        assert_eq!(rows, vec![committed, committed], "only the writes answered OK left their mark");
    }
}
