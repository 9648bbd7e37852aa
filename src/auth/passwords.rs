//! Passwords: 8–128 characters, stored as argon2id (m = 19 MiB, t = 2, p = 1).
//! Hashing is CPU work: callers run it on the blocking pool, never while holding a
//! database connection.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{ApiError, Invalid};

/// A password that meets the length rules; never printed.
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Password, Invalid> {
        let len = raw.chars().count();
        if len < 8 {
            Err(Invalid::TooShort { min: 8 })
        } else if len > 128 {
            Err(Invalid::TooLong { max: 128 })
        } else {
            Ok(Password(raw.to_owned()))
        }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

fn argon2() -> Result<Argon2<'static>, ApiError> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| ApiError::internal(format!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub fn hash(password: &Password) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.0.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("argon2 hash: {e}")))
}

/// Whether `candidate` matches `stored`. A malformed stored hash never matches.
pub fn verify(candidate: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    argon2().is_ok_and(|a| a.verify_password(candidate.as_bytes(), &parsed).is_ok())
}

/// Spends the same time as a real verification, for logins with an unknown
/// phone, so that timing does not tell which phones have accounts.
pub fn verify_against_dummy(candidate: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let stored =
        DUMMY.get_or_init(|| hash(&Password("not a real password".into())).unwrap_or_default());
    let _ = verify(candidate, stored);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let pw = Password::parse("长城长城长城长城").expect("8 characters");
        let stored = hash(&pw).expect("hashes");
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("长城长城长城长城", &stored));
        assert!(!verify("长城长城长城长", &stored));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn length_rules_count_characters() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
    }
}
