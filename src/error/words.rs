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
            AlreadyVolunteer => (
                (
                    "Already a volunteer",
                    "You are already registered as a volunteer.",
                ),
                ("已是志愿者", "您已登记为志愿者。"),
            ),
            NotVolunteer => (
                (
                    "Not a volunteer",
                    "Register as a volunteer first (POST /me/volunteer).",
                ),
                ("尚未登记为志愿者", "请先登记成为志愿者。"),
            ),
            TooManyWebhooks => (
                (
                    "Too many webhooks",
                    "At most 20 webhook endpoints; remove one first.",
                ),
                (
                    "Webhook 数量已达上限",
                    "最多 20 个 Webhook 地址，请先删除一个。",
                ),
            ),
            WebhookDisabled => (
                (
                    "Webhook disabled",
                    "This endpoint answered 410 Gone or was removed; register it again to receive deliveries.",
                ),
                (
                    "Webhook 已停用",
                    "该地址曾返回 410 或已被删除，请重新登记后再接收推送。",
                ),
            ),
            ShiftFull => (
                ("Shift full", "Every place on this shift is taken."),
                ("岗位已满", "该志愿岗位名额已满。"),
            ),
            AlreadyApplied => (
                (
                    "Already applied",
                    "You have already applied for this shift.",
                ),
                ("已报名该岗位", "您已申请过该志愿岗位。"),
            ),
            NotApproved => (
                (
                    "Not approved for this shift",
                    "This volunteer has no approved place on this shift.",
                ),
                ("未获批准", "该志愿者未获准参加此岗位。"),
            ),
            AlreadySignedIn => (
                (
                    "Already signed in",
                    "This volunteer is already signed in on this shift; sign out first.",
                ),
                ("已签到", "该志愿者已在此岗位签到，请先签退。"),
            ),
            NotSignedIn => (
                (
                    "Not signed in",
                    "This volunteer is not signed in on this shift.",
                ),
                ("尚未签到", "该志愿者未在此岗位签到。"),
            ),
            TooManyPairs => (
                (
                    "Too many sign-ins",
                    "At most three sign-ins and sign-outs per shift per day; use a back-filled record.",
                ),
                ("签到次数过多", "每个岗位每天最多签到签退三次，请补录。"),
            ),
            OutsideShiftWindow => (
                (
                    "Outside the shift",
                    "Sign-in opens two hours before the shift and closes when it ends.",
                ),
                (
                    "不在岗位时间内",
                    "签到在岗位开始前两小时开放，岗位结束时关闭。",
                ),
            ),
            InvalidTransition => (
                (
                    "Not possible in this state",
                    "This change is not possible in the current state.",
                ),
                ("当前状态下无法操作", "当前状态下不能进行此操作。"),
            ),
            OverlappingRecord => (
                (
                    "Overlapping record",
                    "These times overlap hours already recorded for this volunteer on this shift.",
                ),
                ("时间重叠", "该时段与已记录的服务时间重叠。"),
            ),
            AlreadyBid => (
                (
                    "Already bid",
                    "Your organization already has a live bid on this project; withdraw it first.",
                ),
                ("已投标", "贵组织已对该项目投标，如需修改请先撤回。"),
            ),
            BidsClosed => (
                (
                    "Bids are closed",
                    "This project does not accept or withdraw bids now: bidding runs only while it is open.",
                ),
                (
                    "投标已截止",
                    "该项目现在不接受投标或撤回，投标仅在公开招标期间进行。",
                ),
            ),
            AlreadyScored => (
                ("Already scored", "You have already scored this bid."),
                ("已评分", "您已为该投标评过分。"),
            ),
            NotReviewing => (
                (
                    "Not in review",
                    "Bids are scored only while the project is in review.",
                ),
                ("不在评标阶段", "只有在评标阶段才能为投标评分。"),
            ),
            BidNotScored => (
                (
                    "Bid not scored",
                    "A bid needs at least one score before it can be awarded.",
                ),
                ("投标尚未评分", "投标至少需要一个评分才能中标。"),
            ),
            ConflictOfInterest => (
                (
                    "Conflict of interest",
                    "This person belongs to an organization that bid on this project.",
                ),
                ("存在利益冲突", "此人所在的组织参与了该项目的投标。"),
            ),
            EvaluationNotOpen => (
                (
                    "Evaluation not open",
                    "Evaluations of this stage are accepted only while the project is in that review.",
                ),
                (
                    "评估未开放",
                    "只有项目处于相应评估阶段时才能提交该阶段的评估。",
                ),
            ),
            AlreadyEvaluated => (
                (
                    "Already evaluated",
                    "You have already evaluated this project at this stage.",
                ),
                ("已提交评估", "您已提交过该阶段的评估。"),
            ),
            NoFinalEvaluation => (
                (
                    "No final evaluation",
                    "A project is closed only after at least one final evaluation.",
                ),
                ("尚无结项评估", "至少需要一份结项评估才能结项。"),
            ),
            NotManual => (
                (
                    "Computed indicator",
                    "Only indicators with source manual take typed values; the others are computed by Mulin.",
                ),
                (
                    "非手工指标",
                    "只有来源为手工填报的指标可以填写实际值，其他指标由系统计算。",
                ),
            ),
            ReportFrozen => (
                (
                    "Report frozen",
                    "The project is closed and its report is frozen.",
                ),
                ("报告已冻结", "项目已结项，报告已冻结。"),
            ),
            ProjectNotEditable => (
                (
                    "Project not editable",
                    "Only draft projects can be changed.",
                ),
                ("项目不可修改", "只有草稿状态的项目可以修改。"),
            ),
            NotContracted => (
                (
                    "Not under contract",
                    "This is possible only while the project is contracted and being delivered or reviewed.",
                ),
                (
                    "项目未在执行",
                    "只有在项目签约执行或评估期间才能进行此操作。",
                ),
            ),
            InvalidLink => (
                (
                    "Link not valid",
                    "This report link is invalid or has expired; ask for a new one.",
                ),
                ("链接无效", "该报告链接无效或已过期，请重新获取。"),
            ),
            NotAttended => (
                (
                    "Not attended",
                    "Feedback is given only by residents who were checked in at the activity.",
                ),
                ("未参加活动", "只有签到参加了活动的居民才能评价。"),
            ),
            EventNotEnded => (
                (
                    "Activity not ended",
                    "Feedback opens when the activity has ended.",
                ),
                ("活动尚未结束", "活动结束后才能评价。"),
            ),
            FeedbackClosed => (
                (
                    "Feedback closed",
                    "Feedback is accepted for 14 days after the activity ends.",
                ),
                ("评价已截止", "活动结束 14 天内可以评价。"),
            ),
            AlreadyGiven => (
                (
                    "Feedback already given",
                    "You have already given feedback on this activity.",
                ),
                ("已评价", "您已评价过该活动。"),
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
        };
        match locale {
            Locale::En => en,
            Locale::ZhCn => zh,
        }
    }
}
