//! Who is calling: the client's network address (the peer, or the first
//! forwarded address behind a proxy), and `CallerScope`, the hook through which
//! `auth` names the signed-in caller without `http` knowing about tokens.

use std::net::IpAddr;

use actix_web::HttpRequest;

/// The client's address: the peer, or the first forwarded address when the
/// service is configured to sit behind a proxy.
pub fn client_address(req: &HttpRequest, behind_proxy: bool) -> String {
    let info = req.connection_info();
    let raw = if behind_proxy {
        info.realip_remote_addr()
    } else {
        info.peer_addr()
    };
    raw.and_then(|a| {
        a.parse::<IpAddr>()
            .ok()
            .or_else(|| a.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
    })
    .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// Names the signed-in caller of a request (the user id behind a valid access
/// token), or `None` for anyone else. Implemented by `auth`, registered as
/// `web::Data<dyn CallerScope>` in `app`.
pub trait CallerScope: Send + Sync {
    fn caller(&self, req: &HttpRequest) -> Option<String>;
}
