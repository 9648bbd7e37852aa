//! Resident feedback after an attended activity: a score of 1–5 and an
//! optional comment, once per registration, from the end of the event until
//! 14 days later. No name is stored beside it and none is ever shown: the
//! organization, its buyer and the evaluators see counts, a mean, the
//! distribution and the comments.

pub mod personal;
pub mod queries;
pub mod routes;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::feedback;

/// How long after the end of an activity feedback is accepted.
pub const WINDOW: Duration = Duration::days(14);

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = feedback)]
pub struct Feedback {
    pub id: String,
    pub registration_id: String,
    pub event_id: String,
    pub score: i32,
    pub comment: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FeedbackView {
    pub id: String,
    pub registration_id: String,
    pub event_id: String,
    #[schema(example = 5)]
    pub score: i32,
    #[schema(example = "老师讲得很清楚，下次还来")]
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Feedback> for FeedbackView {
    fn from(f: Feedback) -> Self {
        FeedbackView {
            id: f.id,
            registration_id: f.registration_id,
            event_id: f.event_id,
            score: f.score,
            comment: f.comment,
            created_at: f.created_at.and_utc(),
        }
    }
}

/// Counts, mean and distribution of scores, with no names.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Summary {
    pub count: i64,
    /// To one decimal; `null` without feedback.
    #[schema(example = 4.6)]
    pub mean: Option<f64>,
    /// Answers per score, `"1"` … `"5"`.
    #[schema(example = json!({"1": 0, "2": 1, "3": 2, "4": 9, "5": 29}))]
    pub distribution: BTreeMap<String, i64>,
}

impl Summary {
    /// The summary of these scores.
    pub fn of(scores: &[i32]) -> Summary {
        let mut distribution: BTreeMap<String, i64> = (1..=5).map(|s| (s.to_string(), 0)).collect();
        for s in scores {
            *distribution.entry(s.to_string()).or_default() += 1;
        }
        let count = scores.len() as i64;
        let mean = (count > 0).then(|| {
            let sum: i64 = scores.iter().map(|s| i64::from(*s)).sum();
            (sum as f64 / count as f64 * 10.0).round() / 10.0
        });
        Summary {
            count,
            mean,
            distribution,
        }
    }

    /// The exact mean (unrounded), for computed figures.
    pub fn exact_mean(scores: &[i32]) -> Option<f64> {
        (!scores.is_empty())
            .then(|| scores.iter().map(|s| f64::from(*s)).sum::<f64>() / scores.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_counts_every_score_and_rounds_the_mean() {
        let s = Summary::of(&[5, 5, 4, 2]);
        assert_eq!(s.count, 4);
        assert_eq!(s.mean, Some(4.0));
        assert_eq!(s.distribution["5"], 2);
        assert_eq!(s.distribution["1"], 0);
        assert_eq!(Summary::of(&[]).mean, None);
    }
}
