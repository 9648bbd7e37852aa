//! Which addresses a webhook may call. A receiver is somebody else's server on
//! the internet: loopback, private, link-local (cloud metadata at
//! 169.254.169.254), shared, unspecified and multicast addresses are refused
//! unless `MULIN_WEBHOOK_ALLOW_PRIVATE=true`, both when the endpoint is saved
//! and at every delivery, through the resolver the client connects with (a
//! name that later resolves to a private address is refused then too).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a URL may not be a webhook target.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not an absolute `http`/`https` URL with a host.
    NotHttp,
    /// Resolves (or is) a private, loopback or link-local address.
    Private,
    /// The name does not resolve.
    Unresolvable,
}

/// Whether `ip` is one a public webhook may not reach.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        }
    }
}

fn private_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || (a == 100 && (64..128).contains(&b)) // shared 100.64.0.0/10
        || a == 0
}

/// Parses and checks a target URL (resolving its name), as saved.
pub async fn check(raw: &str, allow_private: bool) -> Result<Url, Refused> {
    let url = Url::parse(raw).map_err(|_| Refused::NotHttp)?;
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() {
        return Err(Refused::NotHttp);
    }
    let host = url.host_str().ok_or(Refused::NotHttp)?.to_owned();
    if allow_private {
        return Ok(url);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<IpAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|_| Refused::Unresolvable)?
            .map(|a| a.ip())
            .collect(),
    };
    if addresses.is_empty() {
        return Err(Refused::Unresolvable);
    }
    if addresses.iter().any(|ip| is_private(*ip)) {
        return Err(Refused::Private);
    }
    Ok(url)
}

/// The resolver deliveries connect through: it drops private addresses (all of
/// them refused → the delivery fails), so a name cannot be turned against the
/// inside after it was saved.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !is_private(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The resolver for a client (`None`: the system's, private addresses allowed).
pub fn resolver(allow_private: bool) -> Option<Arc<PublicOnly>> {
    (!allow_private).then(|| Arc::new(PublicOnly))
}

/// Whether a URL's host is a literal private address (the resolver never sees
/// literal addresses, so deliveries check these themselves).
pub fn literal_private(url: &Url) -> bool {
    url.host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|h| h.parse::<IpAddr>().ok())
        .is_some_and(is_private)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_link_local_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["8.8.8.8", "114.114.114.114", "2400:3200::1"] {
            assert!(!is_private(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[tokio::test]
    async fn urls_are_checked_before_they_are_saved() {
        assert_eq!(
            check("ftp://example.com/x", false).await,
            Err(Refused::NotHttp)
        );
        assert_eq!(check("not a url", false).await, Err(Refused::NotHttp));
        assert_eq!(
            check("http://127.0.0.1:9/x", false).await,
            Err(Refused::Private)
        );
        assert_eq!(check("http://[::1]/x", false).await, Err(Refused::Private));
        assert_eq!(
            check("http://localhost/x", false).await,
            Err(Refused::Private)
        );
        assert!(check("http://127.0.0.1:9/x", true).await.is_ok());
    }
}
