//! The words of every error, in Chinese and English: titles and details of each
//! code, and the message of each kind of invalid field.

use super::Code;
use super::locale::Locale;

impl Code {
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
            InvalidTicket => (
                (
                    "Ticket not valid",
                    "This QR code is not a valid Mulin ticket, or it has expired.",
                ),
                ("票码无效", "该二维码不是有效的睦邻票码，或已过期。"),
            ),
            RegistrationCancelled => (
                ("Registration cancelled", "This registration was cancelled."),
                ("报名已取消", "该报名已被取消。"),
            ),
            NotConfirmed => (
                (
                    "Not confirmed",
                    "This registration is on the waitlist, not confirmed.",
                ),
                ("报名未确认", "该报名仍在候补中，尚未确认。"),
            ),
            EventCancelled => (
                ("Activity cancelled", "This activity was cancelled."),
                ("活动已取消", "该活动已取消。"),
            ),
            OutsideCheckinWindow => (
                (
                    "Check-in not open",
                    "Check-in opens one hour before the start and closes at the end.",
                ),
                (
                    "不在签到时间内",
                    "签到于活动开始前一小时开放，活动结束时关闭。",
                ),
            ),
            WrongEvent => (
                (
                    "Different activity",
                    "This ticket is for a different activity.",
                ),
                ("非本场活动", "该票码属于其他活动。"),
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
            TooManyConnections => (
                (
                    "Too many connections",
                    "This account already has the most live connections allowed; close one first.",
                ),
                ("连接过多", "该账号的实时连接数已达上限，请先关闭一个。"),
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
            other => super::feature_words::words(other),
        };
        match locale {
            Locale::En => en,
            Locale::ZhCn => zh,
        }
    }
}
