//! What a notification says, in the recipient's language (`zh-CN` default, or
//! `en`), in large-print-friendly short sentences: what, when (local time of
//! the centre), where.

use chrono::{Datelike, NaiveDateTime, TimeZone, Timelike};

use super::*;

/// What a notification is about, read when it goes out.
pub struct Subject {
    pub title: String,
    pub starts_at: NaiveDateTime,
    pub place: Option<String>,
    pub tz: chrono_tz::Tz,
}

fn when(at: NaiveDateTime, tz: chrono_tz::Tz, english: bool) -> String {
    let local = tz.from_utc_datetime(&at);
    if english {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month = MONTHS[local.month0() as usize];
        format!(
            "{} {month} {:02}:{:02}",
            local.day(),
            local.hour(),
            local.minute()
        )
    } else {
        format!(
            "{}月{}日 {:02}:{:02}",
            local.month(),
            local.day(),
            local.hour(),
            local.minute()
        )
    }
}

/// Title and body for `notice` about `subject`.
pub fn render(notice: &Notice, subject: &Subject, locale: &str) -> (String, String) {
    let en = locale == "en";
    let title = &subject.title;
    let at = when(subject.starts_at, subject.tz, en);
    let place = subject.place.clone().unwrap_or_default();
    let reason = notice.reason.clone().unwrap_or_default();
    let before_day = notice.before_secs.unwrap_or(0) >= 24 * 3600;
    match (notice.kind.as_str(), en) {
        (REMINDER, false) if before_day => (
            "明天的活动提醒".into(),
            format!("「{title}」将于{at}开始，地点：{place}。"),
        ),
        (REMINDER, true) if before_day => (
            format!("Tomorrow: {title}"),
            format!("{title} starts at {at}, at {place}."),
        ),
        (REMINDER, false) => (
            "活动即将开始".into(),
            format!("「{title}」将于{at}开始，地点：{place}。请准时到场。"),
        ),
        (REMINDER, true) => (
            format!("Starting soon: {title}"),
            format!("{title} starts at {at}, at {place}."),
        ),
        (PROMOTED, false) => (
            "候补成功，您有座位了".into(),
            format!(
                "您已获得「{title}」（{at}）的座位。如不能参加，请在应用中取消，把座位让给他人。"
            ),
        ),
        (PROMOTED, true) => (
            "You have a seat".into(),
            format!(
                "A seat at {title} ({at}) is now yours. If you cannot come, cancel in the app so someone else can."
            ),
        ),
        (EVENT_CHANGED, false) => (
            "活动时间或地点有变".into(),
            format!("「{title}」现在于{at}开始，地点：{place}。"),
        ),
        (EVENT_CHANGED, true) => (
            "Activity changed".into(),
            format!("{title} now starts at {at}, at {place}."),
        ),
        (EVENT_CANCELLED, false) => (
            "活动已取消".into(),
            format!("「{title}」（{at}）已取消。原因：{reason}"),
        ),
        (EVENT_CANCELLED, true) => (
            "Activity cancelled".into(),
            format!("{title} ({at}) is cancelled. Reason: {reason}"),
        ),
        (FEEDBACK_REQUEST, false) => (
            "请为活动打分".into(),
            format!("感谢参加「{title}」。请在 14 天内为活动打分，帮助组织改进。"),
        ),
        (FEEDBACK_REQUEST, true) => (
            "How was it?".into(),
            format!("Thank you for coming to {title}. Please rate it within 14 days."),
        ),
        (SHIFT_APPROVED, false) => (
            "志愿岗位已通过".into(),
            format!("您报名的志愿岗位「{title}」（{at}）已通过审核。"),
        ),
        (SHIFT_APPROVED, true) => (
            "Volunteer shift approved".into(),
            format!("Your volunteer shift {title} ({at}) is approved."),
        ),
        (SHIFT_REMINDER, false) => (
            "志愿服务提醒".into(),
            format!("您的志愿岗位「{title}」将于{at}开始，地点：{place}。"),
        ),
        (SHIFT_REMINDER, true) => (
            "Volunteer shift soon".into(),
            format!("Your volunteer shift {title} starts at {at}, at {place}."),
        ),
        (_, false) => ("通知".into(), format!("「{title}」（{at}）")),
        (_, true) => ("Notice".into(), format!("{title} ({at})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn a_reminder_says_what_when_and_where_in_local_time() {
        let subject = Subject {
            title: "健康讲座".into(),
            starts_at: NaiveDate::from_ymd_opt(2026, 12, 3)
                .and_then(|d| d.and_hms_opt(6, 0, 0))
                .expect("time"),
            place: Some("控江睦邻中心".into()),
            tz: chrono_tz::Asia::Shanghai,
        };
        let notice = Notice {
            kind: REMINDER.into(),
            before_secs: Some(24 * 3600),
            ..Notice::default()
        };
        let (title, body) = render(&notice, &subject, "zh-CN");
        assert_eq!(title, "明天的活动提醒");
        assert_eq!(
            body,
            "「健康讲座」将于12月3日 14:00开始，地点：控江睦邻中心。"
        );
        let (_, body) = render(&notice, &subject, "en");
        assert_eq!(body, "健康讲座 starts at 3 Dec 14:00, at 控江睦邻中心.");
    }
}
