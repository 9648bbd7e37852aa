//! Black-box tests over HTTP against a spawned server, each on its own fresh
//! database: SQLite always, PostgreSQL when `MULIN_TEST_DATABASE_URL` is set.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod helpers;

mod accounts;
mod catalogue;
mod centres;
mod checkin;
mod checkin_race;
mod clock;
mod displays;
mod echoes;
mod events;
mod http;
mod jobs;
mod live;
mod live_access;
mod migrations;
mod notifications;
mod openapi;
mod organizations;
mod privacy;
mod projects;
mod projects_report;
mod registrations;
mod volunteers;
mod webhooks;
mod writes;
