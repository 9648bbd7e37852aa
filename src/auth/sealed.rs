//! Key material at rest: the generated token secret, the ticket signing keys
//! and webhook signing secrets are stored sealed (AES-256-GCM, a random nonce
//! each) under a key the database does not hold, so a copy of the database
//! alone cannot mint tokens, tickets or webhook signatures.
//!
//! The key is `MULIN_SECRET_KEY` (at least 32 bytes; its SHA-256 is the AEAD
//! key). PostgreSQL refuses to start without it (see `config`). On SQLite,
//! without it, a random key is kept in a file beside the database
//! (`<database>.key`, readable by its owner only), so the two-command start
//! still works and a copy of the `.db` file alone is not enough.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::db::Backend;
use crate::error::ApiError;

const PREFIX: &str = "sealed:v1:";

/// Seals and opens stored key material.
pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("MULIN_SECRET_KEY is required on PostgreSQL (key material is stored sealed under it)")]
    Missing,
}

impl Sealer {
    /// A sealer over `secret` (its SHA-256 is the key).
    pub fn new(secret: &[u8]) -> Sealer {
        let digest = Sha256::digest(secret);
        let key = UnboundKey::new(&AES_256_GCM, &digest)
            .map(LessSafeKey::new)
            .unwrap_or_else(|_| unreachable!("a SHA-256 digest is an AES-256 key"));
        Sealer { key }
    }

    /// The sealer the settings call for: `MULIN_SECRET_KEY`, else (SQLite
    /// only) the key file beside the database, made on first start.
    pub fn from_settings(settings: &Settings) -> Result<Sealer, SealError> {
        if let Some(secret) = &settings.secret_key {
            return Ok(Sealer::new(secret.expose().as_bytes()));
        }
        match Backend::from_url(&settings.database_url) {
            Backend::Postgres(_) => Err(SealError::Missing),
            Backend::Sqlite(path) if path == ":memory:" || path.is_empty() => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                Ok(Sealer::new(&key))
            }
            Backend::Sqlite(path) => Sealer::from_key_file(&format!("{path}.key")),
        }
    }

    fn from_key_file(path: &str) -> Result<Sealer, SealError> {
        let fail = |source| SealError::KeyFile {
            path: path.to_owned(),
            source,
        };
        if !Path::new(path).exists() {
            let mut key = [0u8; 32];
            rand::rng().fill_bytes(&mut key);
            write_private(path, STANDARD.encode(key).as_bytes()).map_err(fail)?;
        }
        let text = std::fs::read_to_string(path).map_err(fail)?;
        let key = text.trim();
        if key.len() < 32 {
            return Err(fail(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "holds no key (under 32 characters); restore it from the backup kept with the database",
            )));
        }
        Ok(Sealer::new(key.as_bytes()))
    }

    /// `sealed:v1:` + base64(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .unwrap_or_else(|_| unreachable!("sealing fails only past 64 GiB"));
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// The plain value of a stored one. A value stored before sealing existed
    /// (no prefix) is returned as it is; callers seal it on their next write.
    pub fn open(&self, stored: &str) -> Result<String, ApiError> {
        let Some(sealed) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let raw = STANDARD
            .decode(sealed)
            .map_err(|e| ApiError::internal(format!("a sealed value is not base64: {e}")))?;
        if raw.len() < NONCE_LEN {
            return Err(ApiError::internal("a sealed value is too short"));
        }
        let (nonce, data) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| ApiError::internal("a sealed value's nonce"))?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut data)
            .map_err(|_| {
                ApiError::internal(
                    "a sealed value does not open: MULIN_SECRET_KEY (or the key file) is not the one it was sealed with",
                )
            })?;
        String::from_utf8(plain.to_vec())
            .map_err(|e| ApiError::internal(format!("a sealed value is not text: {e}")))
    }

    /// Whether a stored value is sealed already.
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(unix)]
fn write_private(path: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_under_its_key_and_never_shows_the_plain_text() {
        let sealer = Sealer::new(b"a key of at least thirty-two bytes!!");
        let sealed = sealer.seal("whsec_topsecret");
        assert!(Sealer::is_sealed(&sealed));
        assert!(!sealed.contains("topsecret"));
        assert_ne!(
            sealed,
            sealer.seal("whsec_topsecret"),
            "a fresh nonce each time"
        );
        assert_eq!(sealer.open(&sealed).unwrap(), "whsec_topsecret");
        let other = Sealer::new(b"another key of at least thirty-two bytes");
        assert!(other.open(&sealed).is_err());
        assert_eq!(sealer.open("legacy-plain").unwrap(), "legacy-plain");
    }
}
