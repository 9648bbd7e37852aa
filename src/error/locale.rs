//! The caller's language: `Locale`, its negotiation from an `Accept-Language`
//! value, and the task-local that carries it through a request so errors can be
//! put into words wherever they are rendered. The actix middleware that sets it
//! lives in `http::locale`.

use std::future::Future;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locale {
    ZhCn,
    En,
}

impl Locale {
    /// The best supported language in an `Accept-Language` value (RFC 9110
    /// quality values honoured); Chinese when nothing supported is asked for.
    pub fn negotiate(accept_language: &str) -> Locale {
        let mut best: Option<(f32, Locale)> = None;
        for part in accept_language.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let locale = if tag == "en" || tag.starts_with("en-") {
                Locale::En
            } else if tag == "zh" || tag.starts_with("zh-") {
                Locale::ZhCn
            } else {
                continue;
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, locale));
            }
        }
        best.map_or(Locale::ZhCn, |(_, l)| l)
    }
}

tokio::task_local! {
    static LOCALE: Locale;
}

/// The language of the request being handled (Chinese outside a request).
pub fn current_locale() -> Locale {
    LOCALE.try_with(|l| *l).unwrap_or(Locale::ZhCn)
}

/// Runs `future` with `locale` as the current language.
pub async fn in_locale<F: Future>(locale: Locale, future: F) -> F::Output {
    LOCALE.scope(locale, future).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_wins_only_when_preferred() {
        assert_eq!(Locale::negotiate("en-US,en;q=0.9"), Locale::En);
        assert_eq!(Locale::negotiate("zh-CN,zh;q=0.9,en;q=0.8"), Locale::ZhCn);
        assert_eq!(Locale::negotiate("fr, en;q=0.5"), Locale::En);
        assert_eq!(Locale::negotiate("fr"), Locale::ZhCn);
        assert_eq!(Locale::negotiate("zh;q=0.2, en;q=0.7"), Locale::En);
    }
}
