//! Cross-cutting HTTP behaviour shared by every feature: language negotiation,
//! extractor error mapping, JSON bodies explained field by field, pagination,
//! ETags, idempotency keys, metrics and the catch-all that turns any bare error
//! status into problem+json.

pub mod client;
pub mod csv;
pub mod etag;
pub mod extract;
pub mod idempotency;
pub mod json;
pub mod locale;
pub mod metrics;
pub mod pagination;
pub mod route;
