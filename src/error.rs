//! `ApiError` and its problem+json form (RFC 9457). This is the one place where
//! HTTP statuses and the stable `code`s clients switch on are decided, and where
//! `title`/`detail` are put into the caller's language. Causes of 5xx answers go
//! to the log only.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::locale::{Locale, current_locale};

/// Every stable error code, its status and its words in each language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    InvalidBody,
    InvalidQuery,
    InvalidIdempotencyKey,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    Unauthenticated,
    InvalidCredentials,
    RefreshTokenReused,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    PhoneTaken,
    LastOwner,
    AlreadyMember,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    AlreadyRegistered,
    EventFull,
    RegistrationClosed,
    EventNotOpen,
    NotEligible,
    PartyTooLarge,
    CapacityBelowConfirmed,
    OrganizationNotVerified,
    RateLimited,
    ServiceUnavailable,
    Internal,
}

impl Code {
    pub fn status(self) -> StatusCode {
        use Code::*;
        match self {
            InvalidBody | InvalidQuery | InvalidIdempotencyKey => StatusCode::BAD_REQUEST,
            Unauthenticated | InvalidCredentials | RefreshTokenReused => StatusCode::UNAUTHORIZED,
            Forbidden => StatusCode::FORBIDDEN,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PhoneTaken
            | LastOwner
            | AlreadyMember
            | IdempotencyKeyInUse
            | AlreadyRegistered
            | EventFull
            | RegistrationClosed
            | EventNotOpen
            | CapacityBelowConfirmed
            | OrganizationNotVerified => StatusCode::CONFLICT,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ValidationFailed | IdempotencyKeyReused | NotEligible | PartyTooLarge => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn as_str(self) -> &'static str {
        use Code::*;
        match self {
            InvalidBody => "invalid_body",
            InvalidQuery => "invalid_query",
            InvalidIdempotencyKey => "invalid_idempotency_key",
            PayloadTooLarge => "payload_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            ValidationFailed => "validation_failed",
            Unauthenticated => "unauthenticated",
            InvalidCredentials => "invalid_credentials",
            RefreshTokenReused => "refresh_token_reused",
            Forbidden => "forbidden",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            PhoneTaken => "phone_taken",
            LastOwner => "last_owner",
            AlreadyMember => "already_member",
            IdempotencyKeyInUse => "idempotency_key_in_use",
            IdempotencyKeyReused => "idempotency_key_reused",
            AlreadyRegistered => "already_registered",
            EventFull => "event_full",
            RegistrationClosed => "registration_closed",
            EventNotOpen => "event_not_open",
            NotEligible => "not_eligible",
            PartyTooLarge => "party_too_large",
            CapacityBelowConfirmed => "capacity_below_confirmed",
            OrganizationNotVerified => "organization_not_verified",
            RateLimited => "rate_limited",
            ServiceUnavailable => "service_unavailable",
            Internal => "internal",
        }
    }

    /// (title, detail) in the given language.
    pub fn words(self, locale: Locale) -> (&'static str, &'static str) {
        use Code::*;
        let (en, zh) = match self {
            InvalidBody => (
                (
                    "Invalid request body",
                    "The request body is not valid JSON of the expected shape.",
                ),
                ("请求内容无效", "请求内容不是预期格式的 JSON。"),
            ),
            InvalidQuery => (
                ("Invalid query", "A query parameter has the wrong form."),
                ("查询参数无效", "查询参数的格式不正确。"),
            ),
            InvalidIdempotencyKey => (
                (
                    "Invalid Idempotency-Key",
                    "The Idempotency-Key header must be 1 to 255 visible characters.",
                ),
                (
                    "幂等键无效",
                    "Idempotency-Key 请求头须为 1 到 255 个可见字符。",
                ),
            ),
            PayloadTooLarge => (
                (
                    "Request too large",
                    "The request body is larger than 64 KiB.",
                ),
                ("请求过大", "请求内容超过 64 KiB。"),
            ),
            UnsupportedMediaType => (
                (
                    "Unsupported content type",
                    "Send the body as application/json.",
                ),
                ("不支持的内容类型", "请以 application/json 发送请求内容。"),
            ),
            ValidationFailed => (
                (
                    "Some fields need correcting",
                    "One or more fields are invalid; see errors.",
                ),
                ("部分内容需要修改", "有字段填写不正确，详见 errors。"),
            ),
            Unauthenticated => (
                (
                    "Please sign in",
                    "The access token is missing, invalid or expired.",
                ),
                ("请先登录", "访问令牌缺失、无效或已过期。"),
            ),
            InvalidCredentials => (
                (
                    "Wrong phone number or password",
                    "The phone number or password is not correct.",
                ),
                ("手机号或密码错误", "手机号或密码不正确。"),
            ),
            RefreshTokenReused => (
                (
                    "Please sign in again",
                    "This refresh token was already used; every token of this login has been revoked.",
                ),
                (
                    "请重新登录",
                    "该刷新令牌已被使用，本次登录的所有令牌均已作废。",
                ),
            ),
            Forbidden => (
                ("Not allowed", "Your account is not allowed to do this."),
                ("无权操作", "您的账号无权进行此操作。"),
            ),
            NotFound => (
                (
                    "Not found",
                    "There is nothing here, or it is not visible to you.",
                ),
                ("未找到", "该内容不存在或您无权查看。"),
            ),
            MethodNotAllowed => (
                (
                    "Method not allowed",
                    "This address does not accept that method.",
                ),
                ("不支持的请求方法", "该地址不支持此请求方法。"),
            ),
            PhoneTaken => (
                (
                    "Phone number already registered",
                    "An account already uses this phone number; sign in instead.",
                ),
                ("手机号已注册", "该手机号已注册，请直接登录。"),
            ),
            LastOwner => (
                (
                    "Last owner",
                    "An organization must keep at least one owner.",
                ),
                ("不能移除最后一位负责人", "组织至少需要保留一位负责人。"),
            ),
            AlreadyMember => (
                (
                    "Already a member",
                    "This person is already a member of the organization.",
                ),
                ("已是成员", "此人已是该组织成员。"),
            ),
            IdempotencyKeyInUse => (
                (
                    "Request still in progress",
                    "A request with this Idempotency-Key is still being processed; retry shortly.",
                ),
                ("请求处理中", "使用该幂等键的请求仍在处理中，请稍后重试。"),
            ),
            IdempotencyKeyReused => (
                (
                    "Idempotency-Key reused",
                    "This Idempotency-Key was already used with a different request.",
                ),
                ("幂等键重复使用", "该幂等键已用于另一个不同的请求。"),
            ),
            AlreadyRegistered => (
                (
                    "Already signed up",
                    "You already have a registration for this activity.",
                ),
                ("已报名", "您已报名此活动。"),
            ),
            EventFull => (
                (
                    "Activity full",
                    "There are no seats left and this activity has no waitlist.",
                ),
                ("名额已满", "活动名额已满，且不设候补。"),
            ),
            RegistrationClosed => (
                (
                    "Sign-up not open",
                    "Sign-up for this activity is not open at this time.",
                ),
                ("不在报名时间内", "当前不在该活动的报名时间内。"),
            ),
            EventNotOpen => (
                (
                    "Activity not open",
                    "This activity is not open (draft, cancelled or over).",
                ),
                ("活动未开放", "该活动未开放（草稿、已取消或已结束）。"),
            ),
            NotEligible => (
                (
                    "Not eligible",
                    "This activity has an age requirement you do not meet (set your birth year in your profile).",
                ),
                (
                    "不符合条件",
                    "该活动有年龄要求，您不符合（请在个人资料中填写出生年份）。",
                ),
            ),
            PartyTooLarge => (
                (
                    "Too many people",
                    "This activity allows fewer people per registration.",
                ),
                ("人数超出", "该活动每次报名允许的人数更少。"),
            ),
            CapacityBelowConfirmed => (
                (
                    "Capacity too small",
                    "More seats are already confirmed than the new capacity.",
                ),
                ("名额不能小于已确认人数", "已确认的人数多于新的名额。"),
            ),
            OrganizationNotVerified => (
                (
                    "Organization not verified",
                    "Only verified organizations can publish activities.",
                ),
                ("组织未通过审核", "只有通过审核的组织才能发布活动。"),
            ),
            RateLimited => (
                (
                    "Too many attempts",
                    "Too many requests; wait before trying again (see Retry-After).",
                ),
                (
                    "尝试次数过多",
                    "请求过于频繁，请稍后再试（见 Retry-After）。",
                ),
            ),
            ServiceUnavailable => (
                (
                    "Service busy",
                    "The service is temporarily unavailable; please retry.",
                ),
                ("服务繁忙", "服务暂时不可用，请稍后重试。"),
            ),
            Internal => (
                (
                    "Something went wrong",
                    "An unexpected error occurred; it has been logged.",
                ),
                ("出现错误", "发生了意外错误，已记录。"),
            ),
        };
        match locale {
            Locale::En => en,
            Locale::ZhCn => zh,
        }
    }
}

/// What is wrong with one field; rendered in the caller's language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalid {
    Required,
    Blank,
    TooShort { min: usize },
    TooLong { max: usize },
    OutOfRange { min: i64, max: i64 },
    OneOf(&'static [&'static str]),
    Phone,
    Timezone,
    UnknownPhone,
    ControlCharacters,
    Timestamp,
    Date,
    InPast,
    TooFarAhead,
    NotAfter(&'static str),
    NotBefore(&'static str),
    Unknown,
}

impl Invalid {
    pub fn message(&self, locale: Locale) -> String {
        match (self, locale) {
            (Invalid::Required, Locale::En) => "is required".into(),
            (Invalid::Required, Locale::ZhCn) => "必填".into(),
            (Invalid::Blank, Locale::En) => "must not be blank".into(),
            (Invalid::Blank, Locale::ZhCn) => "不能为空".into(),
            (Invalid::TooShort { min }, Locale::En) => format!("must be at least {min} characters"),
            (Invalid::TooShort { min }, Locale::ZhCn) => format!("至少 {min} 个字符"),
            (Invalid::TooLong { max }, Locale::En) => format!("must be at most {max} characters"),
            (Invalid::TooLong { max }, Locale::ZhCn) => format!("最多 {max} 个字符"),
            (Invalid::OutOfRange { min, max }, Locale::En) => {
                format!("must be between {min} and {max}")
            }
            (Invalid::OutOfRange { min, max }, Locale::ZhCn) => format!("须在 {min} 到 {max} 之间"),
            (Invalid::OneOf(values), Locale::En) => {
                format!("must be one of: {}", values.join(", "))
            }
            (Invalid::OneOf(values), Locale::ZhCn) => {
                format!("须为以下之一：{}", values.join("、"))
            }
            (Invalid::Phone, Locale::En) => {
                "must be a mainland China mobile number, e.g. 13812345678".into()
            }
            (Invalid::Phone, Locale::ZhCn) => "请填写中国大陆手机号，例如 13812345678".into(),
            (Invalid::Timezone, Locale::En) => {
                "must be an IANA time zone, e.g. Asia/Shanghai".into()
            }
            (Invalid::Timezone, Locale::ZhCn) => "须为 IANA 时区，例如 Asia/Shanghai".into(),
            (Invalid::UnknownPhone, Locale::En) => "no account uses this phone number".into(),
            (Invalid::UnknownPhone, Locale::ZhCn) => "没有使用该手机号的账号".into(),
            (Invalid::ControlCharacters, Locale::En) => {
                "must not contain control characters".into()
            }
            (Invalid::ControlCharacters, Locale::ZhCn) => "不能包含控制字符".into(),
            (Invalid::Timestamp, Locale::En) => {
                "must be an RFC 3339 time, e.g. 2026-12-01T09:30:00+08:00".into()
            }
            (Invalid::Timestamp, Locale::ZhCn) => {
                "须为 RFC 3339 时间，例如 2026-12-01T09:30:00+08:00".into()
            }
            (Invalid::Date, Locale::En) => "must be a date, YYYY-MM-DD".into(),
            (Invalid::Date, Locale::ZhCn) => "须为日期，格式 YYYY-MM-DD".into(),
            (Invalid::InPast, Locale::En) => "must not be in the past".into(),
            (Invalid::InPast, Locale::ZhCn) => "不能早于现在".into(),
            (Invalid::TooFarAhead, Locale::En) => "is too far ahead".into(),
            (Invalid::TooFarAhead, Locale::ZhCn) => "时间跨度过大".into(),
            (Invalid::Unknown, Locale::En) => "does not exist".into(),
            (Invalid::Unknown, Locale::ZhCn) => "不存在".into(),
            (Invalid::NotAfter(other), Locale::En) => format!("must be after {other}"),
            (Invalid::NotAfter(other), Locale::ZhCn) => format!("须晚于 {other}"),
            (Invalid::NotBefore(other), Locale::En) => format!("must not be later than {other}"),
            (Invalid::NotBefore(other), Locale::ZhCn) => format!("不能晚于 {other}"),
        }
    }
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

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A refusal fully described by its code.
    #[error("{}", .0.as_str())]
    Problem(Code),
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    /// A body that does not parse; the parser's message becomes the detail.
    #[error("invalid body: {0}")]
    InvalidBody(String),
    #[error("invalid query: {0}")]
    InvalidQuery(String),
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

    pub fn code(&self) -> Code {
        match self {
            ApiError::Problem(code) => *code,
            ApiError::Validation(_) => Code::ValidationFailed,
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
            ApiError::InvalidBody(msg) | ApiError::InvalidQuery(msg) => format!("{detail} ({msg})"),
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

impl From<Code> for ApiError {
    fn from(code: Code) -> Self {
        ApiError::Problem(code)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            diesel::result::Error::NotFound => ApiError::Problem(Code::NotFound),
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
            _ => {}
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
