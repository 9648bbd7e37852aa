//! The words of each kind of invalid field, of each JSON type a field may
//! expect, and of each explained refusal, in Chinese and English.

use super::locale::Locale;
use super::{Invalid, JsonType, Why};

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
            (Invalid::PublicUrl, Locale::En) => {
                "must be an http(s) URL on a public address (not loopback, private or link-local)"
                    .into()
            }
            (Invalid::PublicUrl, Locale::ZhCn) => {
                "须为公网上的 http(s) 地址（不能是本机、内网或链路本地地址）".into()
            }
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
            (Invalid::OutsideEvent, Locale::En) => {
                "must lie within 12 hours of the activity".into()
            }
            (Invalid::OutsideEvent, Locale::ZhCn) => "须在活动前后 12 小时之内".into(),
            (Invalid::WeightsSum, Locale::En) => "the weights must sum to 100".into(),
            (Invalid::WeightsSum, Locale::ZhCn) => "各指标权重之和须为 100".into(),
            (Invalid::Money, Locale::En) => {
                "must be yuan as a decimal string with at most two decimals, e.g. \"120000.00\"".into()
            }
            (Invalid::Money, Locale::ZhCn) => "须为以元计的数字字符串，最多两位小数，如 \"120000.00\"".into(),
            (Invalid::OutsideContract, Locale::En) => {
                "must be a contract of this organization that is being delivered, with the event inside its period and at one of its centres".into()
            }
            (Invalid::OutsideContract, Locale::ZhCn) => {
                "须为本组织正在执行的合同，且活动在合同期内、在合同约定的中心举办".into()
            }
            (Invalid::SensitivityLocked, Locale::En) => {
                "cannot move to or from counselling, health talk, legal aid or meal help while people are signed up".into()
            }
            (Invalid::SensitivityLocked, Locale::ZhCn) => {
                "已有人报名时，不能改为或改出心理咨询、健康讲座、法律援助、助餐类活动".into()
            }
            (Invalid::NotA(kind), locale) => kind.message(locale).into(),
            (Invalid::NotAccepted, Locale::En) => "is not an accepted value".into(),
            (Invalid::NotAccepted, Locale::ZhCn) => "取值无效".into(),
            (Invalid::OneRequired(other), Locale::En) => {
                format!("this or {other} is required")
            }
            (Invalid::OneRequired(other), Locale::ZhCn) => format!("须填写此项或 {other}"),
            (Invalid::NotBoth(other), Locale::En) => {
                format!("send this or {other}, not both")
            }
            (Invalid::NotBoth(other), Locale::ZhCn) => format!("此项与 {other} 只能填写一个"),
            (Invalid::UnknownField, Locale::En) => "is not a field of this request".into(),
            (Invalid::UnknownField, Locale::ZhCn) => "不是该请求的字段".into(),
        }
    }
}

impl JsonType {
    fn message(self, locale: Locale) -> &'static str {
        use JsonType::*;
        match (self, locale) {
            (Integer, Locale::En) => "must be a whole number",
            (Integer, Locale::ZhCn) => "须为整数",
            (Number, Locale::En) => "must be a number",
            (Number, Locale::ZhCn) => "须为数字",
            (Text, Locale::En) => "must be text (a JSON string)",
            (Text, Locale::ZhCn) => "须为文本（JSON 字符串）",
            (Boolean, Locale::En) => "must be true or false",
            (Boolean, Locale::ZhCn) => "须为 true 或 false",
            (List, Locale::En) => "must be a list (a JSON array)",
            (List, Locale::ZhCn) => "须为列表（JSON 数组）",
            (Object, Locale::En) => "must be an object",
            (Object, Locale::ZhCn) => "须为对象",
        }
    }
}

impl Why {
    /// The detail of the problem, in place of its code's standard one.
    pub fn detail(self, locale: Locale) -> String {
        match (self, locale) {
            (Why::PartyLimit { max }, Locale::En) => format!(
                "This activity allows at most {max} {} per registration.",
                if max == 1 { "person" } else { "people" }
            ),
            (Why::PartyLimit { max }, Locale::ZhCn) => {
                format!("该活动每次报名最多 {max} 人。")
            }
            (Why::NoSeatForWalkIn, Locale::En) => {
                "There are no seats left, and walk-ins cannot join the waitlist.".into()
            }
            (Why::NoSeatForWalkIn, Locale::ZhCn) => "活动名额已满，现场登记不能候补。".into(),
            (Why::RefreshTokenInvalid, Locale::En) => {
                "This refresh token is not valid: unknown, expired or signed out. Sign in again."
                    .into()
            }
            (Why::RefreshTokenInvalid, Locale::ZhCn) => {
                "该刷新令牌无效（未知、已过期或已退出登录），请重新登录。".into()
            }
        }
    }
}
