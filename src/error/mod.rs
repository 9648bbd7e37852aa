//! `ApiError` and its problem+json form (RFC 9457). This is the one place where
//! HTTP statuses and the stable `code`s clients switch on are decided, and where
//! `title`/`detail` are put into the caller's language. Causes of 5xx answers go
//! to the log only.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::DatabaseErrorKind;
use serde::Serialize;
use utoipa::ToSchema;

mod codes;
mod feature_words;
mod fields;
pub mod locale;
mod words;

pub use codes::Code;

use locale::{Locale, current_locale};

/// What is wrong with one field; rendered in the caller's language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalid {
    Required,
    Blank,
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    OutOfRange {
        min: i64,
        max: i64,
    },
    OneOf(&'static [&'static str]),
    Phone,
    Timezone,
    UnknownPhone,
    ControlCharacters,
    /// A webhook target that is not a public `http(s)` address.
    PublicUrl,
    Timestamp,
    Date,
    InPast,
    TooFarAhead,
    NotAfter(&'static str),
    NotBefore(&'static str),
    /// Not within 12 hours of the activity it belongs to.
    OutsideEvent,
    /// An indicator table whose weights do not sum to 100.
    WeightsSum,
    /// Not yuan as a decimal string with at most two decimals.
    Money,
    /// A contract this event cannot count for (another organization's, not
    /// delivering, outside its period or centres).
    OutsideContract,
    /// A category change across the sensitive line while people are signed
    /// up (their consent, or its absence, was for the old category).
    SensitivityLocked,
    Unknown,
    /// The JSON value has the wrong type.
    NotA(JsonType),
    /// The value has the right type but is not one the field accepts (a
    /// number out of range for its type, a malformed value…).
    NotAccepted,
    /// This field or the named one is required.
    OneRequired(&'static str),
    /// This field and the named one exclude each other.
    NotBoth(&'static str),
    /// A field the route does not know (a `400 invalid_body`, not a `422`).
    UnknownField,
}

/// The JSON type a field expects, for `Invalid::NotA`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonType {
    Integer,
    Number,
    Text,
    Boolean,
    List,
    Object,
}

/// A refusal whose detail says more than its code's standard words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// `party_too_large`: the event's limit per registration.
    PartyLimit { max: i64 },
    /// `event_full` for a walk-in: no seats, and walk-ins never wait.
    NoSeatForWalkIn,
    /// `unauthenticated` on refresh: the refresh token is unknown, expired or
    /// signed out.
    RefreshTokenInvalid,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub invalid: Invalid,
}

/// The problem+json body, as documented in the OpenAPI file.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemField>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum ApiError {
    /// A refusal fully described by its code.
    #[error("{}", .0.as_str())]
    Problem(Code),
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    /// A JSON body with a wrong type, a wrong value or a missing field at
    /// `path` (`party_size`, `repeat.until`, `scans[2].ticket`): `422`. With
    /// `Invalid::UnknownField`, a field the route does not know: `400`.
    #[error("body field {path}: {invalid:?}")]
    BodyField { path: String, invalid: Invalid },
    /// A body that does not parse. The string is for the log only and must
    /// never hold the client's values (parser messages quote them).
    #[error("invalid body: {0}")]
    InvalidBody(String),
    /// A query that does not parse. A parameter's name (`cursor`) is named in
    /// `errors`; any other text is for the log only and must not hold the
    /// client's values.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A refusal with its code and a detail that says why.
    #[error("{}: {why:?}", .code.as_str())]
    Explained { code: Code, why: Why },
    #[error("rate limited for {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    /// The database is out of reach or the pool is exhausted; the cause is logged.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the cause is logged, never sent.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn internal(cause: impl Into<String>) -> ApiError {
        ApiError::Internal(cause.into())
    }

    pub fn field(field: &'static str, invalid: Invalid) -> ApiError {
        ApiError::Validation(vec![FieldError { field, invalid }])
    }

    pub fn explained(code: Code, why: Why) -> ApiError {
        ApiError::Explained { code, why }
    }

    pub fn code(&self) -> Code {
        match self {
            ApiError::Problem(code) => *code,
            ApiError::Validation(_) => Code::ValidationFailed,
            ApiError::BodyField {
                invalid: Invalid::UnknownField,
                ..
            } => Code::InvalidBody,
            ApiError::BodyField { .. } => Code::ValidationFailed,
            ApiError::Explained { code, .. } => *code,
            ApiError::InvalidBody(_) => Code::InvalidBody,
            ApiError::InvalidQuery(_) => Code::InvalidQuery,
            ApiError::RateLimited { .. } => Code::RateLimited,
            ApiError::Unavailable(_) => Code::ServiceUnavailable,
            ApiError::Internal(_) => Code::Internal,
        }
    }

    /// The problem document in `locale`.
    pub fn problem(&self, locale: Locale) -> Problem {
        let code = self.code();
        let (title, detail) = code.words(locale);
        let detail = match self {
            ApiError::Explained { why, .. } => why.detail(locale),
            _ => detail.to_owned(),
        };
        let errors = match self {
            ApiError::Validation(fields) => Some(
                fields
                    .iter()
                    .map(|f| ProblemField {
                        field: f.field.to_owned(),
                        message: f.invalid.message(locale),
                    })
                    .collect(),
            ),
            ApiError::BodyField { path, invalid } => Some(vec![ProblemField {
                field: path.clone(),
                message: invalid.message(locale),
            }]),
            ApiError::InvalidQuery(name) if is_parameter_name(name) => Some(vec![ProblemField {
                field: name.clone(),
                message: Invalid::NotAccepted.message(locale),
            }]),
            _ => None,
        };
        Problem {
            type_: format!("urn:mulin:problem:{}", code.as_str()),
            title: title.to_owned(),
            status: code.status().as_u16(),
            detail,
            code: code.as_str().to_owned(),
            errors,
        }
    }
}

/// `cursor`, `organization_id`: a name, not a sentence.
fn is_parameter_name(text: &str) -> bool {
    (1..=40).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

impl From<Code> for ApiError {
    fn from(code: Code) -> Self {
        ApiError::Problem(code)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            diesel::result::Error::NotFound => ApiError::Problem(Code::NotFound),
            // The connection died under the request (a restarted or cut-off
            // database): the client may retry, so 503 rather than 500.
            diesel::result::Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )
            | diesel::result::Error::BrokenTransactionManager => {
                ApiError::Unavailable(format!("database connection lost: {err}"))
            }
            // PostgreSQL chose this write to break a deadlock (40P01) or a
            // serialization conflict (40001): it changed nothing, and the same
            // request sent again is expected to succeed. diesel names only the
            // second and gives no SQLSTATE, so the first is known by its
            // message: a server whose `lc_messages` translates it still
            // answers a deadlock with 500.
            diesel::result::Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                ApiError::Unavailable(format!("write conflict, retry: {err}"))
            }
            diesel::result::Error::DatabaseError(_, ref info)
                if info.message().starts_with("deadlock detected") =>
            {
                ApiError::Unavailable(format!("deadlock, retry: {err}"))
            }
            other => ApiError::Internal(format!("database: {other}")),
        }
    }
}

pub const PROBLEM_JSON: &str = "application/problem+json";

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => tracing::error!(%cause, "request failed"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            // What the client sent is never logged: only the stable code.
            _ => tracing::debug!(
                status = self.status_code().as_u16(),
                code = self.code().as_str(),
                "request refused"
            ),
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        match self {
            ApiError::RateLimited { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.max(&1).to_string()));
            }
            ApiError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            _ => {}
        }
        response.json(self.problem(current_locale()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_error_renders_exactly_this_json() {
        let err = ApiError::field("phone", Invalid::Phone);
        let json = serde_json::to_value(err.problem(Locale::En)).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "type": "urn:mulin:problem:validation_failed",
                "title": "Some fields need correcting",
                "status": 422,
                "detail": "One or more fields are invalid; see errors.",
                "code": "validation_failed",
                "errors": [{"field": "phone", "message": "must be a mainland China mobile number, e.g. 13812345678"}]
            })
        );
    }

    #[test]
    fn an_internal_error_never_shows_its_cause() {
        let err = ApiError::internal("SELECT secret FROM users failed");
        let json = serde_json::to_string(&err.problem(Locale::ZhCn)).expect("serializes");
        assert!(!json.contains("SELECT"));
        assert!(json.contains("\"code\":\"internal\""));
        assert!(json.contains("\"status\":500"));
    }

    #[test]
    fn chinese_words_are_used_for_zh_cn() {
        let json = serde_json::to_value(ApiError::from(Code::PhoneTaken).problem(Locale::ZhCn))
            .expect("serializes");
        assert_eq!(json["title"], "手机号已注册");
        assert_eq!(json["status"], 409);
    }
}
