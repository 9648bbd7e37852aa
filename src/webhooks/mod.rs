//! Webhooks: organizations and buyers register endpoints that receive thin
//! events (ids and states, never personal data), signed per the Standard
//! Webhooks specification (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`).
//!
//! - [`follow::Deliveries`] (a `db::Follower`) turns each write's messages into
//!   deliveries and queued jobs in the same transaction: at least once, and
//!   never for a change that rolled back.
//! - [`send`] posts them (15 s timeout, no redirects, private and loopback
//!   targets refused unless allowed), retries on the contract's schedule, and
//!   disables an endpoint that answers `410`. It also carries notifications to
//!   the app's push gateway.
//! - [`target`] decides which URLs may be called.

pub mod follow;
pub mod log;
pub mod routes;
pub mod send;
pub mod target;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::auth::sealed::Sealer;
use crate::db::DbConn;
use crate::db::schema::webhook_endpoints;
use crate::error::ApiError;

pub const ORGANIZATION: &str = "organization";
pub const BUYER: &str = "buyer";

/// What an organization's endpoint can receive.
pub const ORG_EVENTS: &[&str] = &[
    "registration.created",
    "registration.cancelled",
    "registration.promoted",
    "checkin.created",
    "checkin.undone",
    "event.published",
    "event.updated",
    "event.cancelled",
];
/// What a buyer's endpoint can receive.
pub const BUYER_EVENTS: &[&str] = &["project.updated", "report.changed", "report.frozen"];

/// Waits before each retry: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
pub const RETRY_AFTER_SECS: [i64; 9] = [
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
];

/// The wait before the retry that follows attempt number `attempt` (1-based),
/// `None` when the schedule is spent.
pub fn retry_after(attempt: i32) -> Option<chrono::Duration> {
    let index = usize::try_from(attempt).ok()?.checked_sub(1)?;
    RETRY_AFTER_SECS
        .get(index)
        .map(|s| chrono::Duration::seconds(*s))
}

/// How long a rotated-out secret still signs.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct Endpoint {
    pub id: String,
    pub owner_kind: String,
    pub owner_id: String,
    pub url: String,
    /// JSON array text.
    pub events: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<NaiveDateTime>,
    pub disabled_at: Option<NaiveDateTime>,
    pub deleted_at: Option<NaiveDateTime>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

impl Endpoint {
    pub fn events(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }

    /// The secrets that sign now: the current one, and the previous one for
    /// 24 h after a rotation.
    pub fn signing_secrets(&self, now: NaiveDateTime) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_until) {
            if until > now {
                secrets.push(previous);
            }
        }
        secrets
    }
}

/// A new secret: `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` header: `v1,<sig>` per secret, space-separated.
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|secret| {
            let key = STANDARD
                .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
                .ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
            Some(format!(
                "v1,{}",
                STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Seals endpoint secrets stored before sealing existed (at start-up).
pub fn seal_stored(conn: &mut DbConn, sealer: &Sealer) -> Result<usize, ApiError> {
    use crate::db::schema::webhook_endpoints as we;
    let stored: Vec<(String, String, Option<String>)> = we::table
        .select((we::id, we::secret, we::previous_secret))
        .load(conn)?;
    let mut sealed = 0;
    for (id, secret, previous) in stored {
        let previous_plain = previous.as_deref().is_some_and(|p| !Sealer::is_sealed(p));
        if Sealer::is_sealed(&secret) && !previous_plain {
            continue;
        }
        let secret = if Sealer::is_sealed(&secret) {
            secret
        } else {
            sealer.seal(&secret)
        };
        let previous = previous.map(|p| {
            if Sealer::is_sealed(&p) {
                p
            } else {
                sealer.seal(&p)
            }
        });
        diesel::update(we::table.find(&id))
            .set((we::secret.eq(secret), we::previous_secret.eq(previous)))
            .execute(conn)?;
        sealed += 1;
    }
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The specification's published test vector.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn the_retry_schedule_is_the_contracts() {
        assert_eq!(retry_after(1), Some(chrono::Duration::seconds(5)));
        assert_eq!(retry_after(9), Some(chrono::Duration::hours(24)));
        assert_eq!(retry_after(10), None);
        assert_eq!(retry_after(0), None);
    }
}
