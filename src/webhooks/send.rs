//! Posting deliveries: one signed `POST` per attempt, 15 s at most, redirects
//! not followed, only `2xx` counts; a failure waits for the next step of the
//! contract's schedule (kept in the job queue, so it survives restarts), `410`
//! disables the endpoint. The `webhook-id` is the same on every attempt.
//!
//! The `webhook-timestamp` is the wall clock, not the service's test clock:
//! receivers compare it with their own clocks to refuse replays.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use super::{Endpoint, retry_after, signature, target};
use crate::auth::sealed::Sealer;
use crate::config::Settings;
use crate::db::schema::{webhook_deliveries, webhook_endpoints};
use crate::db::{self, Db};
use crate::error::ApiError;
use crate::jobs::runner::{Handler, Outcome, Running};
use crate::jobs::{self, Job};

/// The HTTP client deliveries go out with.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    /// A sender for organizations' and buyers' endpoints (public addresses
    /// only unless `MULIN_WEBHOOK_ALLOW_PRIVATE`).
    pub fn for_endpoints(settings: &Settings) -> Result<Sender, reqwest::Error> {
        Sender::new(settings, settings.webhook_allow_private)
    }

    /// A sender for the operator's own push gateway, which may be internal.
    pub fn for_gateway(settings: &Settings) -> Result<Sender, reqwest::Error> {
        Sender::new(settings, true)
    }

    fn new(settings: &Settings, allow_private: bool) -> Result<Sender, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.webhook_timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(
                settings.webhook_timeout_secs.clamp(1, 10),
            ))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Mulin-Webhooks/", env!("CARGO_PKG_VERSION")));
        if let Some(resolver) = target::resolver(allow_private) {
            builder = builder.dns_resolver(resolver);
        }
        Ok(Sender {
            client: builder.build()?,
            allow_private,
        })
    }

    /// Posts `body` signed with `secrets`; the status code, or `None` when no
    /// answer came (refused target, connection error, timeout).
    async fn post(&self, url: &str, secrets: &[&str], message_id: &str, body: &str) -> Option<u16> {
        let parsed = reqwest::Url::parse(url).ok()?;
        if !self.allow_private && target::literal_private(&parsed) {
            return None;
        }
        let timestamp = chrono::Utc::now().timestamp();
        let result = self
            .client
            .post(parsed)
            .header("content-type", "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature(secrets, message_id, timestamp, body),
            )
            .body(body.to_owned())
            .send()
            .await;
        match result {
            Ok(res) => Some(res.status().as_u16()),
            Err(e) => {
                tracing::info!(error = %e, "webhook delivery got no answer");
                None
            }
        }
    }
}

#[derive(Deserialize)]
struct DeliveryJob {
    delivery_id: String,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
struct Delivery {
    id: String,
    message_id: String,
    payload: String,
    attempt: i32,
}

/// Handles `webhook` jobs (one delivery to one endpoint); the endpoint's
/// secrets are stored sealed.
pub struct Deliver(pub Sender, pub Arc<Sealer>);

impl Handler for Deliver {
    fn run(&self, db: Db, job: Job) -> Running {
        let sender = self.0.clone();
        let sealer = self.1.clone();
        Box::pin(async move {
            match deliver(&sender, &sealer, &db, job.clone()).await {
                Ok(()) => Outcome::Completed,
                Err(e) => Outcome::Retry {
                    at: db::now() + chrono::Duration::seconds(30),
                    error: e.to_string(),
                },
            }
        })
    }
}

async fn deliver(sender: &Sender, sealer: &Sealer, db: &Db, job: Job) -> Result<(), ApiError> {
    let DeliveryJob { delivery_id } = job.payload()?;
    let found = db
        .run(move |c| {
            Ok(webhook_deliveries::table
                .inner_join(webhook_endpoints::table)
                .filter(webhook_deliveries::id.eq(&delivery_id))
                .select((Delivery::as_select(), Endpoint::as_select()))
                .first::<(Delivery, Endpoint)>(c)
                .optional()?)
        })
        .await?;
    let Some((delivery, endpoint)) = found else {
        return db
            .write(move |tx| {
                jobs::complete(tx, &job)?;
                Ok(())
            })
            .await;
    };
    let now = db::now();
    let code = if endpoint.deleted_at.is_some() || endpoint.disabled_at.is_some() {
        Some(410)
    } else {
        let secrets = endpoint
            .signing_secrets(now)
            .into_iter()
            .map(|s| sealer.open(s))
            .collect::<Result<Vec<_>, _>>()?;
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        sender
            .post(
                &endpoint.url,
                &secrets,
                &delivery.message_id,
                &delivery.payload,
            )
            .await
    };
    let gone_before = endpoint.deleted_at.is_some() || endpoint.disabled_at.is_some();
    db.write(move |tx| {
        let now = db::now();
        let attempt = if gone_before { delivery.attempt } else { delivery.attempt + 1 };
        let (status, next): (&str, Option<NaiveDateTime>) = match code {
            Some(200..=299) => ("succeeded", None),
            Some(410) => {
                if !gone_before {
                    diesel::update(webhook_endpoints::table.find(&endpoint.id))
                        .set(webhook_endpoints::disabled_at.eq(Some(now)))
                        .execute(tx.conn())?;
                    tracing::info!(endpoint = %endpoint.id, "webhook endpoint answered 410: disabled");
                }
                ("disabled", None)
            }
            _ => match retry_after(attempt) {
                Some(wait) => ("pending", Some(now + wait)),
                None => ("failed", None),
            },
        };
        diesel::update(webhook_deliveries::table.find(&delivery.id))
            .set((
                webhook_deliveries::attempt.eq(attempt),
                webhook_deliveries::status.eq(status),
                webhook_deliveries::response_code.eq(if gone_before { None } else { code.map(i32::from) }),
                webhook_deliveries::next_attempt_at.eq(next),
                webhook_deliveries::updated_at.eq(now),
            ))
            .execute(tx.conn())?;
        match next {
            Some(at) => jobs::postpone(tx, &job, at)?,
            None => {
                jobs::complete(tx, &job)?;
            }
        }
        Ok(())
    })
    .await
}

/// Handles `push` jobs: a notification to the app's push gateway.
pub struct Push {
    pub sender: Sender,
    pub url: String,
    pub secret: String,
}

impl Handler for Push {
    fn run(&self, _db: Db, job: Job) -> Running {
        let sender = self.sender.clone();
        let url = self.url.clone();
        let secret = self.secret.clone();
        Box::pin(async move {
            let payload: Value = match job.payload() {
                Ok(p) => p,
                Err(e) => {
                    return Outcome::Drop {
                        error: e.to_string(),
                    };
                }
            };
            let message_id = format!(
                "msg_{}",
                payload["notification_id"]
                    .as_str()
                    .unwrap_or(job.id.as_str())
            );
            let body = serde_json::json!({"type": "notification.created", "timestamp": db::now().and_utc(), "data": payload}).to_string();
            match sender
                .post(&url, &[secret.as_str()], &message_id, &body)
                .await
            {
                Some(200..=299) => Outcome::Done,
                code => match retry_after(job.attempts) {
                    Some(wait) => Outcome::Retry {
                        at: db::now() + wait,
                        error: format!("push gateway answered {code:?}"),
                    },
                    None => Outcome::Drop {
                        error: format!("push gateway answered {code:?}; schedule spent"),
                    },
                },
            }
        })
    }
}
