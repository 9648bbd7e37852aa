//! The public listing's pages, kept between writes: thousands of phones open
//! the app on the same first page, and between two writes it cannot change.
//! A page is served from here only while no write has committed since it was
//! made (`Db::writes_committed`, exact on SQLite, where this process's
//! writer makes every change) and for at most [`FRESH_FOR`], which bounds
//! what the clock alone changes (a sign-up window closing). PostgreSQL, with
//! several instances writing, keeps no pages: another instance's commit is
//! not seen here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

/// How long a page may be served without a write to invalidate it.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// Pages kept at most: a few dozen filter combinations are popular; past
/// this, the oldest half goes.
const KEEP: usize = 64;

/// One page as answered: its body and `ETag`.
#[derive(Clone)]
pub struct Page {
    pub body: Bytes,
    pub etag: String,
    writes: u64,
    made: Instant,
}

#[derive(Default)]
pub struct PageCache {
    pages: Mutex<HashMap<String, Page>>,
}

impl PageCache {
    /// The page for `query`, if it was made after the last commit and within
    /// [`FRESH_FOR`].
    pub fn get(&self, query: &str, writes: u64) -> Option<Page> {
        let pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        pages
            .get(query)
            .filter(|p| p.writes == writes && p.made.elapsed() < FRESH_FOR)
            .cloned()
    }

    /// Keeps a page made from a read that began when `writes` commits had
    /// been counted (a commit during the read makes it stale at once).
    pub fn put(&self, query: &str, writes: u64, made: Instant, body: Bytes, etag: String) {
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        // A slow read must not replace a page made after it.
        if pages
            .get(query)
            .is_some_and(|p| p.writes > writes || (p.writes == writes && p.made > made))
        {
            return;
        }
        if pages.len() >= KEEP && !pages.contains_key(query) {
            let mut ages: Vec<Instant> = pages.values().map(|p| p.made).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            pages.retain(|_, p| p.made > cut);
        }
        pages.insert(
            query.to_owned(),
            Page {
                body,
                etag,
                writes,
                made,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(cache: &PageCache, query: &str, writes: u64) {
        cache.put(
            query,
            writes,
            Instant::now(),
            Bytes::from_static(b"[]"),
            "W/\"x\"".into(),
        );
    }

    #[test]
    fn a_page_is_served_until_the_next_commit() {
        let cache = PageCache::default();
        page(&cache, "limit=20", 7);
        assert!(cache.get("limit=20", 7).is_some());
        assert!(cache.get("limit=20", 8).is_none(), "a commit since");
        assert!(cache.get("limit=10", 7).is_none(), "another query");
    }

    #[test]
    fn a_slow_read_does_not_replace_a_newer_page() {
        let cache = PageCache::default();
        page(&cache, "limit=20", 8);
        page(&cache, "limit=20", 7);
        assert!(cache.get("limit=20", 8).is_some());
    }

    #[test]
    fn a_page_is_served_for_at_most_a_second() {
        let cache = PageCache::default();
        let old = Instant::now() - FRESH_FOR;
        cache.put("limit=20", 7, old, Bytes::from_static(b"[]"), String::new());
        assert!(cache.get("limit=20", 7).is_none());
    }

    #[test]
    fn many_queries_keep_the_newer_half() {
        let cache = PageCache::default();
        let start = Instant::now() - Duration::from_millis(500);
        for i in 0..KEEP {
            let made = start + Duration::from_millis(i as u64);
            cache.put(&format!("q={i}"), 1, made, Bytes::new(), String::new());
        }
        page(&cache, "q=new", 1);
        assert!(cache.get("q=0", 1).is_none(), "the oldest went");
        assert!(cache.get(&format!("q={}", KEEP - 1), 1).is_some());
        assert!(cache.get("q=new", 1).is_some());
        let kept = cache.pages.lock().unwrap().len();
        assert!(kept <= KEEP / 2 + 1, "{kept}");
    }
}
