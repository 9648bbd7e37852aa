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
        let (_test_db, db) = database_with(&kind, &[
            "CREATE TABLE probe (id INTEGER PRIMARY KEY)",
            "INSERT INTO probe (id) VALUES (-1)",
        ])
        .await;

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

        let stored = integers(&db, "SELECT id AS n FROM probe WHERE id >= 0 ORDER BY id").await;
        assert_eq!(stored, expected, "the failed writes left nothing behind");
    }
}

both_databases! {
    async fn a_write_chosen_to_break_a_deadlock_answers_503_and_changes_nothing(kind) {
        let (_test_db, db) = database_with(&kind, &[
            "CREATE TABLE pair (id INTEGER PRIMARY KEY, touched INTEGER NOT NULL)",
            "INSERT INTO pair (id, touched) VALUES (1, 0), (2, 0)",
        ])
        .await;

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

        let rows = integers(&db, "SELECT touched AS n FROM pair ORDER BY id").await;
        assert_eq!(rows, vec![committed, committed], "only the writes answered OK left their mark");
    }
}

/// Every call of [`Probe::write`]: the items it was handed.
static PROBE_CALLS: std::sync::Mutex<Vec<Vec<(String, i32)>>> = std::sync::Mutex::new(Vec::new());

/// A grouped kind of write for the test below: stores its items, fails the
/// group holding item 77, answers each item doubled.
struct Probe;

impl mulin::db::Grouped for Probe {
    type Item = (String, i32);
    type Output = i32;

    fn write(tx: &mut mulin::db::Tx<'_>, items: &[(String, i32)]) -> Result<Vec<i32>, ApiError> {
        PROBE_CALLS.lock().unwrap().push(items.to_vec());
        for (key, n) in items {
            diesel::sql_query(format!(
                "INSERT INTO grouped_probe (k, n) VALUES ('{key}', {n})"
            ))
            .execute(tx.conn())?;
        }
        if items.iter().any(|(_, n)| *n == 77) {
            return Err(ApiError::internal("a group with 77 in it"));
        }
        Ok(items.iter().map(|(_, n)| n * 2).collect())
    }
}

both_databases! {
    async fn grouped_writes_on_one_key_run_together_and_each_caller_hears_its_own_answer(kind) {
        let (_test_db, db) = database_with(&kind, &[
            "CREATE TABLE grouped_probe (k TEXT NOT NULL, n INTEGER NOT NULL)",
        ])
        .await;
        // This run's keys (the SQLite and PostgreSQL runs share the calls' log).
        let run = uuid::Uuid::new_v4().simple().to_string();
        let key = |n: i32| format!("{run}-{}", if n < 150 { "a" } else { "b" });

        let writes: Vec<_> = (0..300i32)
            .map(|n| {
                let (db, key) = (db.clone(), key(n));
                tokio::spawn(async move { db.write_grouped::<Probe>(&key.clone(), (key, n)).await })
            })
            .collect();
        let mut answers = Vec::new();
        for (n, write) in (0..300i32).zip(writes) {
            answers.push((n, write.await.expect("task")));
        }

        let calls: Vec<Vec<(String, i32)>> = PROBE_CALLS
            .lock()
            .unwrap()
            .iter()
            .filter(|items| items[0].0.starts_with(&run))
            .cloned()
            .collect();
        assert!(calls.iter().all(|items| items.iter().all(|(k, _)| *k == items[0].0)), "a group never mixes keys");
        assert!(calls.len() < 300, "writes queued together ran as one call ({} calls for 300)", calls.len());
        let mut seen: Vec<i32> = calls.iter().flatten().map(|(_, n)| *n).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..300).collect::<Vec<_>>(), "each item was handed over exactly once");
        let failed: Vec<i32> = calls
            .iter()
            .filter(|items| items.iter().any(|(_, n)| *n == 77))
            .flatten()
            .map(|(_, n)| *n)
            .collect();
        for (n, answer) in &answers {
            match answer {
                Ok(doubled) => {
                    assert_eq!(*doubled, n * 2, "item {n} got its own answer");
                    assert!(!failed.contains(n), "item {n} was in a failed group yet answered OK");
                }
                Err(_) => assert!(failed.contains(n), "item {n} failed outside a failed group"),
            }
        }

        let stored = integers(&db, "SELECT n FROM grouped_probe ORDER BY n").await;
        let kept: Vec<i32> = (0..300).filter(|n| !failed.contains(n)).collect();
        assert_eq!(stored, kept, "a failed group left nothing behind, the others everything");
    }
}

/// A fresh database with its migrations run and then `statements`.
async fn database_with(kind: &Kind, statements: &'static [&'static str]) -> (TestDb, Db) {
    let (test_db, url) = TestDb::create(kind);
    let settings = test_settings(url);
    let db = tokio::task::spawn_blocking(move || {
        let db = Db::connect(&settings).expect("connect");
        let mut conn = db.get().expect("connection");
        migrations::run_pending(&mut conn).expect("migrations");
        for statement in statements {
            diesel::sql_query(*statement)
                .execute(&mut *conn)
                .expect(statement);
        }
        db
    })
    .await
    .expect("setup");
    (test_db, db)
}

/// The integers a query's column `n` holds, in its order.
async fn integers(db: &Db, sql: &'static str) -> Vec<i32> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        n: i32,
    }
    db.run(move |c| {
        let rows: Vec<Row> = diesel::sql_query(sql).load(c)?;
        Ok(rows.into_iter().map(|r| r.n).collect())
    })
    .await
    .expect("read back")
}
