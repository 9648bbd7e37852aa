//! Recurring programmes: one occurrence per chosen weekday until a date, each at
//! the same local wall-clock time in the centre's time zone (a Tuesday 09:30
//! meal-help session stays 09:30 across daylight-saving changes).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Weekday};
use chrono_tz::Tz;

use crate::error::Invalid;

pub const MAX_OCCURRENCES: usize = 200;
pub const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

pub fn parse_weekday(value: &str) -> Result<Weekday, Invalid> {
    match value {
        "mon" => Ok(Weekday::Mon),
        "tue" => Ok(Weekday::Tue),
        "wed" => Ok(Weekday::Wed),
        "thu" => Ok(Weekday::Thu),
        "fri" => Ok(Weekday::Fri),
        "sat" => Ok(Weekday::Sat),
        "sun" => Ok(Weekday::Sun),
        _ => Err(Invalid::OneOf(WEEKDAYS)),
    }
}

/// A local wall-clock time as UTC; a time that does not exist (the spring-forward
/// gap) moves forward by an hour, an ambiguous one takes the earlier instant.
fn to_utc(tz: Tz, local: NaiveDateTime) -> Option<NaiveDateTime> {
    tz.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.naive_utc())
}

/// The (start, end) in UTC of every occurrence from the first start's local date
/// up to and including `until`, on the given weekdays.
pub fn occurrences(
    start: NaiveDateTime,
    end: NaiveDateTime,
    tz: Tz,
    weekdays: &[Weekday],
    until: NaiveDate,
) -> Result<Vec<(NaiveDateTime, NaiveDateTime)>, Invalid> {
    let local_start = tz.from_utc_datetime(&start).naive_local();
    let local_end = tz.from_utc_datetime(&end).naive_local();
    let length = local_end - local_start;
    let mut out = Vec::new();
    let mut date = local_start.date();
    while date <= until {
        if weekdays.contains(&date.weekday()) {
            let local = date.and_time(local_start.time());
            if let (Some(s), Some(e)) = (to_utc(tz, local), to_utc(tz, local + length)) {
                out.push((s, e));
            }
            if out.len() > MAX_OCCURRENCES {
                return Err(Invalid::OutOfRange {
                    min: 1,
                    max: MAX_OCCURRENCES as i64,
                });
            }
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    if out.is_empty() {
        return Err(Invalid::OutOfRange {
            min: 1,
            max: MAX_OCCURRENCES as i64,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    fn utc(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time")
    }

    #[test]
    fn berlin_sessions_keep_their_local_time_across_the_clock_change() {
        // 2026-10-25: Berlin goes from UTC+2 to UTC+1.
        let tz: Tz = "Europe/Berlin".parse().expect("tz");
        let got = occurrences(
            utc("2026-10-20 07:30"),
            utc("2026-10-20 09:00"),
            tz,
            &[Weekday::Tue],
            NaiveDate::from_ymd_opt(2026, 11, 3).expect("date"),
        )
        .expect("occurrences");
        let local: Vec<_> = got
            .iter()
            .map(|(s, _)| tz.from_utc_datetime(s).naive_local())
            .collect();
        assert_eq!(local.len(), 3);
        assert!(local.iter().all(|t| t.hour() == 9 && t.minute() == 30));
        assert_eq!(got[0].0.hour(), 7);
        assert_eq!(got[2].0.hour(), 8, "an hour later in UTC after the change");
    }

    #[test]
    fn too_many_occurrences_are_refused() {
        let tz: Tz = "Asia/Shanghai".parse().expect("tz");
        let all = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        let until = NaiveDate::from_ymd_opt(2027, 12, 31).expect("date");
        assert!(
            occurrences(
                utc("2026-12-01 01:00"),
                utc("2026-12-01 02:00"),
                tz,
                &all,
                until
            )
            .is_err()
        );
    }
}
