//! The caller's language from `Accept-Language` (`zh-CN` unless English is
//! preferred), carried through the request in a task-local so errors can be put
//! into words wherever they are rendered.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;

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

/// Middleware: negotiates the language and runs the rest of the request in it.
pub async fn negotiate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let locale = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Locale::ZhCn, Locale::negotiate);
    LOCALE.scope(locale, next.call(req)).await
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
