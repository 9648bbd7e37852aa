//! Every migration can be reverted and applied again, on both databases.

use mulin::db::{Db, migrations};

use crate::both_databases;
use crate::helpers::*;

both_databases! {
    async fn migrations_run_up_down_and_up_again(kind) {
        let (_test_db, url) = TestDb::create(&kind);
        let settings = test_settings(url);
        tokio::task::spawn_blocking(move || {
            let db = Db::connect(&settings).expect("connect");
            let mut conn = db.get().expect("connection");
            let up = migrations::run_pending(&mut conn).expect("up");
            assert!(!up.is_empty());
            let down = migrations::revert_all(&mut conn).expect("down");
            assert_eq!(down.len(), up.len());
            let again = migrations::run_pending(&mut conn).expect("up again");
            assert_eq!(again, up);
            assert!(migrations::run_pending(&mut conn).expect("nothing left").is_empty());
        })
        .await
        .expect("migration task");
    }
}

#[test]
fn both_databases_have_the_same_migrations_with_distinct_versions() {
    let names = |dir: &str| -> Vec<(String, String)> {
        let mut entries: Vec<(String, String)> = std::fs::read_dir(dir)
            .expect("migrations folder")
            .map(|e| {
                let name = e.expect("entry").file_name().to_string_lossy().into_owned();
                let (version, rest) = name.split_once('_').expect("version_name");
                (version.to_owned(), rest.to_owned())
            })
            .collect();
        entries.sort();
        entries
    };
    let sqlite = names("migrations/sqlite");
    let postgres = names("migrations/postgres");
    let sqlite_names: Vec<_> = sqlite.iter().map(|(_, n)| n).collect();
    let postgres_names: Vec<_> = postgres.iter().map(|(_, n)| n).collect();
    assert_eq!(
        sqlite_names, postgres_names,
        "the same migrations side by side"
    );
    for ((a, _), (b, _)) in sqlite.iter().zip(&postgres) {
        assert_ne!(a, b, "versions are unique across both folders");
    }
    for dir in ["migrations/sqlite", "migrations/postgres"] {
        for entry in std::fs::read_dir(dir).expect("folder") {
            let path = entry.expect("entry").path();
            assert!(
                path.join("up.sql").exists() && path.join("down.sql").exists(),
                "{}",
                path.display()
            );
        }
    }
}
