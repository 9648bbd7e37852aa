//! Money: integer fen (分) in the database, a decimal string of yuan with at
//! most two decimals in JSON (`"120000.00"`), never a float.

use crate::error::Invalid;

/// The largest amount accepted: one hundred million yuan.
const MAX_FEN: i64 = 100_000_000 * 100;

/// `"120000"`, `"120000.5"`, `"120000.50"` → fen; anything else (a sign,
/// more than two decimals, a float's exponent, blanks) is refused.
pub fn parse(value: &str) -> Result<i64, Invalid> {
    let (whole, fraction) = match value.split_once('.') {
        Some((w, f)) => (w, f),
        None => (value, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 12
        || !digits(whole)
        || fraction.len() > 2
        || !digits(fraction)
        || (value.contains('.') && fraction.is_empty())
    {
        return Err(Invalid::Money);
    }
    let yuan: i64 = whole.parse().map_err(|_| Invalid::Money)?;
    let fen: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().map_err(|_| Invalid::Money)? * 10,
        _ => fraction.parse().map_err(|_| Invalid::Money)?,
    };
    let total = yuan
        .checked_mul(100)
        .and_then(|y| y.checked_add(fen))
        .ok_or(Invalid::Money)?;
    if total > MAX_FEN {
        return Err(Invalid::OutOfRange {
            min: 0,
            max: MAX_FEN / 100,
        });
    }
    Ok(total)
}

/// Fen as the API writes it: `12000050` → `"120000.50"`.
pub fn format(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_round_trip_and_floats_do_not_parse() {
        assert_eq!(parse("120000.00"), Ok(12_000_000));
        assert_eq!(parse("120000"), Ok(12_000_000));
        assert_eq!(parse("0.5"), Ok(50));
        assert_eq!(format(12_000_050), "120000.50");
        assert_eq!(format(5), "0.05");
        for bad in ["", "1.234", "-1", "1e5", "1.", ".5", " 1", "1,000", "abc"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
