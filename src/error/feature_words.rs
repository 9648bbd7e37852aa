//! The words of the errors of features built on the core (volunteers,
//! webhooks, projects, feedback, personal data), in Chinese and English.

use super::Code;

type Words = ((&'static str, &'static str), (&'static str, &'static str));

/// (English, Chinese) (title, detail) of a feature's code.
pub(super) fn words(code: Code) -> Words {
    use Code::*;
    match code {
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
        ConsentRequired => (
            (
                "Consent needed",
                "This activity handles sensitive personal information (health, family or legal matters). Sign up with consent_sensitive set to true after the resident has read the consent text (GET /api/v1/consent).",
            ),
            (
                "需要单独同意",
                "该活动涉及敏感个人信息（健康、家庭或法律事务），请在居民阅读同意书（GET /api/v1/consent）后，将 consent_sensitive 设为 true 再报名。",
            ),
        ),
        SoleOwner => (
            (
                "You are the only owner",
                "You are the only owner of an organization. Make someone else an owner first, then delete your account.",
            ),
            (
                "您是唯一负责人",
                "您是某个机构唯一的所有者，请先将他人设为所有者，再注销账户。",
            ),
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
        _ => (
            ("Request refused", "The request could not be carried out."),
            ("请求被拒绝", "无法完成该请求。"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code handed to this table has words of its own: a new code that
    /// falls through to the generic words fails here.
    #[test]
    fn no_code_falls_through_to_the_generic_words() {
        let generic = words(Code::Internal);
        for code in [
            Code::AlreadyVolunteer,
            Code::NotVolunteer,
            Code::TooManyWebhooks,
            Code::WebhookDisabled,
            Code::ShiftFull,
            Code::AlreadyApplied,
            Code::NotApproved,
            Code::AlreadySignedIn,
            Code::NotSignedIn,
            Code::TooManyPairs,
            Code::OutsideShiftWindow,
            Code::InvalidTransition,
            Code::OverlappingRecord,
            Code::AlreadyBid,
            Code::BidsClosed,
            Code::AlreadyScored,
            Code::NotReviewing,
            Code::BidNotScored,
            Code::ConflictOfInterest,
            Code::EvaluationNotOpen,
            Code::AlreadyEvaluated,
            Code::NoFinalEvaluation,
            Code::NotManual,
            Code::ReportFrozen,
            Code::ProjectNotEditable,
            Code::NotContracted,
            Code::InvalidLink,
            Code::NotAttended,
            Code::EventNotEnded,
            Code::ConsentRequired,
            Code::SoleOwner,
            Code::FeedbackClosed,
            Code::AlreadyGiven,
        ] {
            assert_ne!(words(code), generic, "{code:?} has no words");
        }
    }
}
