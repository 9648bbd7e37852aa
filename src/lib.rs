//! Mulin (睦邻): the resident-engagement backend for Shanghai's neighbourhood
//! centres. The binary in `main.rs` is a thin CLI over this library.

#[macro_use]
pub mod db;

pub mod accounts;
pub mod app;
pub mod auth;
pub mod catalogue;
pub mod centres;
pub mod checkin;
pub mod config;
pub mod demo;
pub mod displays;
pub mod error;
pub mod events;
pub mod feedback;
pub mod health;
pub mod http;
pub mod jobs;
pub mod live;
pub mod notifications;
pub mod openapi;
pub mod organizations;
pub mod privacy;
pub mod projects;
pub mod registrations;
pub mod validate;
pub mod volunteers;
pub mod webhooks;
