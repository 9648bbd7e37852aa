//! Authentication: passwords, access and refresh tokens, sessions (one per
//! login, revoked as a whole), the `CurrentUser` extractor, rate limits and the
//! `/auth/*` routes.

pub mod extractors;
pub mod passwords;
pub mod ratelimit;
pub mod routes;
pub mod sessions;
pub mod tokens;

pub use extractors::{Admin, CurrentUser, MaybeUser};
