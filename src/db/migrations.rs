//! Embedded migrations, one folder per database, applied at start-up.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConn;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

type MigrationResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Applies every pending migration and returns the versions applied.
pub fn run_pending(conn: &mut DbConn) -> MigrationResult<Vec<String>> {
    let applied = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES)?,
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE)?,
    };
    Ok(applied.into_iter().map(|v| v.to_string()).collect())
}

/// Reverts every applied migration (used by the up/down/up test and by operators
/// who want an empty schema back).
pub fn revert_all(conn: &mut DbConn) -> MigrationResult<Vec<String>> {
    let reverted = match conn {
        DbConn::Pg(c) => c.revert_all_migrations(POSTGRES)?,
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE)?,
    };
    Ok(reverted.into_iter().map(|v| v.to_string()).collect())
}
