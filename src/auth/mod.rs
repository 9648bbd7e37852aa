//! Authentication: passwords, access and refresh tokens, sessions (one per
//! login, revoked as a whole), the `CurrentUser` extractor and rate limits. The
//! `/auth/*` routes that use them live in `accounts::auth_routes`.

pub mod extractors;
pub mod passwords;
pub mod ratelimit;
pub mod sealed;
pub mod sessions;
pub mod tokens;

pub use extractors::{Admin, CurrentUser, MaybeUser};
