//! The stable error codes clients switch on, and the HTTP status of each.

use actix_web::http::StatusCode;

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
    InvalidTicket,
    RegistrationCancelled,
    NotConfirmed,
    EventCancelled,
    OutsideCheckinWindow,
    WrongEvent,
    AlreadyVolunteer,
    NotVolunteer,
    ShiftFull,
    AlreadyApplied,
    NotApproved,
    AlreadySignedIn,
    NotSignedIn,
    TooManyPairs,
    OutsideShiftWindow,
    InvalidTransition,
    OverlappingRecord,
    TooManyWebhooks,
    WebhookDisabled,
    AlreadyBid,
    BidsClosed,
    AlreadyScored,
    NotReviewing,
    BidNotScored,
    ConflictOfInterest,
    EvaluationNotOpen,
    AlreadyEvaluated,
    NoFinalEvaluation,
    NotManual,
    ReportFrozen,
    ProjectNotEditable,
    NotContracted,
    InvalidLink,
    NotAttended,
    EventNotEnded,
    FeedbackClosed,
    AlreadyGiven,
    ConsentRequired,
    SoleOwner,
    RateLimited,
    TooManyConnections,
    ServiceUnavailable,
    Internal,
}

impl Code {
    pub fn status(self) -> StatusCode {
        use Code::*;
        match self {
            InvalidBody | InvalidQuery | InvalidIdempotencyKey => StatusCode::BAD_REQUEST,
            Unauthenticated | InvalidCredentials | RefreshTokenReused => StatusCode::UNAUTHORIZED,
            Forbidden | InvalidLink => StatusCode::FORBIDDEN,
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
            | OrganizationNotVerified
            | RegistrationCancelled
            | NotConfirmed
            | EventCancelled
            | OutsideCheckinWindow
            | WrongEvent
            | AlreadyVolunteer
            | NotVolunteer
            | ShiftFull
            | AlreadyApplied
            | NotApproved
            | AlreadySignedIn
            | NotSignedIn
            | TooManyPairs
            | OutsideShiftWindow
            | InvalidTransition
            | OverlappingRecord
            | TooManyWebhooks
            | WebhookDisabled
            | AlreadyBid
            | BidsClosed
            | AlreadyScored
            | NotReviewing
            | BidNotScored
            | ConflictOfInterest
            | EvaluationNotOpen
            | AlreadyEvaluated
            | NoFinalEvaluation
            | NotManual
            | ReportFrozen
            | ProjectNotEditable
            | NotContracted
            | NotAttended
            | EventNotEnded
            | FeedbackClosed
            | AlreadyGiven
            | SoleOwner => StatusCode::CONFLICT,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ValidationFailed | IdempotencyKeyReused | NotEligible | PartyTooLarge
            | InvalidTicket | ConsentRequired => StatusCode::UNPROCESSABLE_ENTITY,
            RateLimited | TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
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
            InvalidTicket => "invalid_ticket",
            RegistrationCancelled => "registration_cancelled",
            NotConfirmed => "not_confirmed",
            EventCancelled => "event_cancelled",
            OutsideCheckinWindow => "outside_checkin_window",
            WrongEvent => "wrong_event",
            AlreadyVolunteer => "already_volunteer",
            NotVolunteer => "not_volunteer",
            ShiftFull => "shift_full",
            AlreadyApplied => "already_applied",
            NotApproved => "not_approved",
            AlreadySignedIn => "already_signed_in",
            NotSignedIn => "not_signed_in",
            TooManyPairs => "too_many_pairs",
            OutsideShiftWindow => "outside_shift_window",
            InvalidTransition => "invalid_transition",
            OverlappingRecord => "overlapping_record",
            TooManyWebhooks => "too_many_webhooks",
            WebhookDisabled => "webhook_disabled",
            AlreadyBid => "already_bid",
            BidsClosed => "bids_closed",
            AlreadyScored => "already_scored",
            NotReviewing => "not_reviewing",
            BidNotScored => "bid_not_scored",
            ConflictOfInterest => "conflict_of_interest",
            EvaluationNotOpen => "evaluation_not_open",
            AlreadyEvaluated => "already_evaluated",
            NoFinalEvaluation => "no_final_evaluation",
            NotManual => "not_manual",
            ReportFrozen => "report_frozen",
            ProjectNotEditable => "project_not_editable",
            NotContracted => "not_contracted",
            InvalidLink => "invalid_link",
            NotAttended => "not_attended",
            EventNotEnded => "event_not_ended",
            FeedbackClosed => "feedback_closed",
            AlreadyGiven => "already_given",
            ConsentRequired => "consent_required",
            SoleOwner => "sole_owner",
            RateLimited => "rate_limited",
            TooManyConnections => "too_many_connections",
            ServiceUnavailable => "service_unavailable",
            Internal => "internal",
        }
    }
}
