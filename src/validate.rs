//! Parsing request fields into values that cannot be invalid, collecting every
//! field's problem at once so the client can show them all together.

use crate::error::Invalid;

/// Parses several fields, collecting all their errors; returns early from the
/// enclosing function with `422 validation_failed` if any field is invalid.
///
/// `parse_fields!(name = "field" => parse_expr, …);` binds each `name` to the
/// parsed value.
#[macro_export]
macro_rules! parse_fields {
    ($($name:ident = $field:literal => $parse:expr),+ $(,)?) => {
        let mut field_errors = Vec::new();
        $(
            let $name = match $parse {
                Ok(value) => Some(value),
                Err(invalid) => {
                    field_errors.push($crate::error::FieldError { field: $field, invalid });
                    None
                }
            };
        )+
        if !field_errors.is_empty() {
            return Err($crate::error::ApiError::Validation(field_errors).into());
        }
        $(
            let Some($name) = $name else {
                return Err($crate::error::ApiError::internal("a parsed field went missing").into());
            };
        )+
    };
}

/// Trimmed text of `min..=max` characters with no control characters.
pub fn text(value: &str, min: usize, max: usize) -> Result<String, Invalid> {
    let trimmed = value.trim();
    if trimmed.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Invalid::ControlCharacters);
    }
    let len = trimmed.chars().count();
    if len == 0 && min > 0 {
        return Err(Invalid::Blank);
    }
    if len < min {
        return Err(Invalid::TooShort { min });
    }
    if len > max {
        return Err(Invalid::TooLong { max });
    }
    Ok(trimmed.to_owned())
}

/// Optional text: absent or blank means `None`.
pub fn optional_text(value: Option<&str>, max: usize) -> Result<Option<String>, Invalid> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(v, 1, max).map(Some),
    }
}

/// An integer inside `min..=max`.
pub fn int_in(value: i64, min: i64, max: i64) -> Result<i32, Invalid> {
    if (min..=max).contains(&value) {
        i32::try_from(value).map_err(|_| Invalid::OutOfRange { min, max })
    } else {
        Err(Invalid::OutOfRange { min, max })
    }
}

/// A birth year for someone aged 0–120 today.
pub fn birth_year(value: Option<i64>) -> Result<Option<i32>, Invalid> {
    use chrono::Datelike;
    let this_year = i64::from(chrono::Utc::now().year());
    value
        .map(|y| int_in(y, this_year - 120, this_year))
        .transpose()
}

/// For PATCH bodies: a field that is present (even as `null`) deserializes to
/// `Some(…)`, so `null` ("clear it") differs from absent ("leave it").
pub fn present<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_counts_characters_not_bytes() {
        assert_eq!(text("  睦邻中心  ", 1, 4), Ok("睦邻中心".to_owned()));
        assert_eq!(text("睦邻中心花园", 1, 4), Err(Invalid::TooLong { max: 4 }));
        assert_eq!(text("   ", 1, 4), Err(Invalid::Blank));
        assert_eq!(text("a\u{0}b", 1, 4), Err(Invalid::ControlCharacters));
        assert_eq!(text("🌱花园", 1, 4), Ok("🌱花园".to_owned()));
    }
}
