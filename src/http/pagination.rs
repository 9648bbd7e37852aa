//! Cursor pagination: `?limit=` (default 20, at most 100) and an opaque `?cursor=`
//! naming the last row seen by its `(created_at, id)` key, so pages neither skip
//! nor repeat rows when others are inserted meanwhile.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, Invalid};

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// A parsed page request.
#[derive(Clone, Debug)]
pub struct Page {
    pub limit: i64,
    pub after: Option<(NaiveDateTime, String)>,
}

impl PageQuery {
    pub fn parse(&self) -> Result<Page, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::field(
                "limit",
                Invalid::OutOfRange {
                    min: 1,
                    max: MAX_LIMIT,
                },
            ));
        }
        let after = match &self.cursor {
            None => None,
            Some(c) => Some(decode(c).ok_or_else(|| ApiError::InvalidQuery("cursor".into()))?),
        };
        Ok(Page { limit, after })
    }
}

fn decode(cursor: &str) -> Option<(NaiveDateTime, String)> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (micros, id) = text.split_once('|')?;
    let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
    Some((at, id.to_owned()))
}

fn encode(at: NaiveDateTime, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.and_utc().timestamp_micros()))
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Paged<T> {
    /// Builds a page from up to `limit + 1` rows fetched in key order.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        page: &Page,
        key: impl Fn(&R) -> (NaiveDateTime, &str),
        view: impl FnMut(R) -> T,
    ) -> Paged<T> {
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| {
                let (at, id) = key(r);
                encode(at, id)
            })
        } else {
            None
        };
        Paged {
            items: rows.into_iter().map(view).collect(),
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips() {
        let at = crate::db::now();
        let c = encode(at, "abc");
        assert_eq!(decode(&c), Some((at, "abc".to_owned())));
        assert_eq!(decode("not a cursor"), None);
    }

    #[test]
    fn limits_outside_one_to_a_hundred_are_refused() {
        for bad in [0, -1, 101] {
            let q = PageQuery {
                limit: Some(bad),
                cursor: None,
            };
            assert!(q.parse().is_err());
        }
    }
}
