//! Black-box tests over HTTP against a spawned server, each on its own fresh
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]
//! database: SQLite always, PostgreSQL when `MULIN_TEST_DATABASE_URL` is set.

mod helpers;

mod accounts;
mod centres;
mod http;
mod migrations;
mod openapi;
mod organizations;
