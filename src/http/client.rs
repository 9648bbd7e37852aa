//! Who is calling: the client's network address (the peer, or behind proxies
//! the rightmost forwarded hop no trusted proxy added), and `CallerScope`, the
//! hook through which `auth` names the signed-in caller without `http` knowing
//! about tokens.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header::HeaderName;

use crate::config::Settings;

fn parse_ip(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim();
    raw.parse::<IpAddr>()
        .ok()
        .or_else(|| raw.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            raw.strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|r| r.parse().ok())
        })
        .map(|ip: IpAddr| ip.to_canonical())
}

/// The client's address. Not behind a proxy: the peer. Behind proxies
/// (`MULIN_BEHIND_PROXY`): walk `X-Forwarded-For` from the right, starting at
/// the peer, past every hop inside `MULIN_TRUSTED_PROXIES`; the first address
/// no trusted proxy vouches for is the client. The leftmost entries are
/// whatever the client wrote, so they are never believed on their own: with no
/// trusted ranges only the peer is trusted and the rightmost entry is taken.
pub fn client_address(req: &HttpRequest, settings: &Settings) -> String {
    // `::ffff:10.0.0.5` (a dual-stack listener) is the IPv4 address it maps.
    let peer = req.peer_addr().map(|a| a.ip().to_canonical());
    let address = if settings.behind_proxy {
        forwarded_client(req, peer, &settings.trusted_proxy_ranges())
    } else {
        peer
    };
    address.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

fn forwarded_client(
    req: &HttpRequest,
    peer: Option<IpAddr>,
    trusted: &[ipnet::IpNet],
) -> Option<IpAddr> {
    let header = HeaderName::from_static("x-forwarded-for");
    let hops: Vec<Option<IpAddr>> = req
        .headers()
        .get_all(header)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(parse_ip)
        .collect();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    // The peer is the proxy in front of us; with no ranges, it is the one
    // trusted hop.
    if trusted.is_empty() {
        return hops.last().copied().flatten().or(peer);
    }
    if !peer.as_ref().is_some_and(is_trusted) {
        return peer;
    }
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) if is_trusted(ip) => client = Some(*ip),
            Some(ip) => return Some(*ip),
            // A hop that is not an address: nothing left of it can be trusted.
            None => return client,
        }
    }
    client
}

/// Names the signed-in caller of a request (the user id behind a valid access
/// token), or `None` for anyone else. Implemented by `auth`, registered as
/// `web::Data<dyn CallerScope>` in `app`.
pub trait CallerScope: Send + Sync {
    fn caller(&self, req: &HttpRequest) -> Option<String>;
}
