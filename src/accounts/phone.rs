//! `Phone`: a mainland China mobile number in one normal form, `+86` followed by
//! the 11 digits (`+8613812345678`), however the resident typed it.

use std::fmt;

use crate::error::Invalid;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts `13812345678`, `+8613812345678`, `008613812345678`,
    /// `86 138-1234-5678` and the like; refuses anything that is not an 11-digit
    /// mobile number starting 13–19.
    pub fn parse(raw: &str) -> Result<Phone, Invalid> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '\u{3000}'))
            .collect();
        if compact.chars().count() > 20 {
            return Err(Invalid::Phone);
        }
        let digits = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .or_else(|| compact.strip_prefix("86").filter(|rest| rest.len() == 11))
            .unwrap_or(&compact);
        let bytes = digits.as_bytes();
        let valid = bytes.len() == 11
            && bytes.iter().all(u8::is_ascii_digit)
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1]);
        if valid {
            Ok(Phone(format!("+86{digits}")))
        } else {
            Err(Invalid::Phone)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A stable stand-in for the number where the number itself need not be
    /// kept (rate-limit buckets): the first 16 hex digits of its SHA-256.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(format!("mulin-phone:{}", self.0).as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// `+8613812345678` → `*******5678`.
pub fn mask(phone: &str) -> String {
    let tail: String = phone
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("*******{tail}")
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_common_spelling_becomes_one_normal_form() {
        for raw in [
            "13812345678",
            "+8613812345678",
            "008613812345678",
            "8613812345678",
            " 138-1234-5678 ",
            "+86 138 1234 5678",
        ] {
            assert_eq!(
                Phone::parse(raw).map(|p| p.0),
                Ok("+8613812345678".to_owned()),
                "{raw}"
            );
        }
    }

    #[test]
    fn non_mobile_numbers_are_refused() {
        for raw in [
            "",
            "12812345678",
            "1381234567",
            "138123456789",
            "021-12345678",
            "+1 415 555 0100",
            "1381234567x",
            "１３８１２３４５６７８",
        ] {
            assert_eq!(Phone::parse(raw), Err(Invalid::Phone), "{raw}");
        }
    }

    #[test]
    fn masking_keeps_only_the_last_four_digits() {
        assert_eq!(mask("+8613812345678"), "*******5678");
    }
}
