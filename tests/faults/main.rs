//! The fault suite: what Mulin promises must survive a crash, lost responses,
//! a cut database connection and clients that stop reading. Each stage runs
//! against spawned servers on a fresh database (SQLite always, PostgreSQL
//! when `MULIN_TEST_DATABASE_URL` is set) within a time budget of its own.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

#[allow(dead_code, reason = "shared with the API suite; this one uses a part")]
#[path = "../api/helpers.rs"]
mod helpers;

mod crash;
mod database_cut;
mod lossy;
mod proxy;
mod stalled;

use std::future::Future;
use std::time::Duration;

/// Runs a stage, failing it when it outlasts its budget.
pub async fn within<T>(budget_secs: u64, stage: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(budget_secs), stage)
        .await
        .unwrap_or_else(|_| panic!("the stage ran past its budget of {budget_secs} s"))
}
