//! Where a callback may go. A job's submitter chooses the URL, so without a check a callback
//! is a way to make the server call services that trust its host: pdudaemon or PostgreSQL on
//! 127.0.0.1, a cloud metadata service on 169.254.169.254. Loopback, link-local, unspecified
//! and multicast addresses are refused unless `[callbacks] allow_local_targets` says so.
//!
//! A host name is resolved once, by [`CheckedResolver`], which hands the HTTP client only the
//! addresses that passed, so the connection goes to a checked address (no second lookup that
//! could answer differently). Literal addresses in the URL, and in every redirect, are checked
//! by [`check_url`]; proxies from the environment are not used.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How many redirects a callback follows (each one checked like the first URL).
pub const MAX_REDIRECTS: usize = 5;

/// Whether a callback must not go to `ip`: loopback, link-local, unspecified (and the rest of
/// 0.0.0.0/8, which Linux routes to this host), broadcast or multicast, also when written as
/// an IPv4-mapped IPv6 address.
pub fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_local_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_local_v4(v4),
            None => is_local_v6(v6),
        },
    }
}

fn is_local_v4(ip: Ipv4Addr) -> bool {
    ip.is_loopback()
        || ip.is_link_local()
        || ip.octets()[0] == 0
        || ip.is_broadcast()
        || ip.is_multicast()
}

fn is_local_v6(ip: Ipv6Addr) -> bool {
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fe80::/10
        || (ip.segments()[0] & 0xffc0) == 0xfe80
}

/// The refusal of a local address, naming the setting that allows it.
pub fn refusal(host: &str, ip: IpAddr) -> String {
    format!(
        "callback target '{host}' is the local or link-local address {ip}: refused (set [callbacks] allow_local_targets = true in settings.toml to allow it)"
    )
}

/// Checks a URL whose host is a literal address (names are checked when resolved).
pub fn check_url(url: &reqwest::Url, allow_local: bool) -> Result<(), String> {
    if allow_local {
        return Ok(());
    }
    let host = url.host_str().unwrap_or("");
    let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        return Ok(());
    };
    if is_local(ip) {
        return Err(refusal(&ip.to_string(), ip));
    }
    Ok(())
}

/// Resolves callback hosts and keeps only the addresses a callback may use.
#[derive(Debug, Clone, Copy)]
pub struct CheckedResolver {
    /// Local addresses pass too.
    pub allow_local: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_local = self.allow_local;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| format!("cannot resolve callback target '{host}': {e}"))?
                .collect();
            let allowed: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| allow_local || !is_local(a.ip()))
                .collect();
            match (allowed.is_empty(), all.first()) {
                (true, Some(first)) => Err(refusal(&host, first.ip()).into()),
                (true, None) => Err(format!("callback target '{host}' has no address").into()),
                (false, _) => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// The HTTP client callbacks are sent with: checked resolution, no proxies from the
/// environment, redirects followed only to checked addresses and at most [`MAX_REDIRECTS`].
pub fn client(allow_local: bool) -> reqwest::Client {
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        // `previous` holds every URL requested so far, the first one included.
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        match check_url(attempt.url(), allow_local) {
            Ok(()) => attempt.follow(),
            Err(e) => attempt.error(e),
        }
    });
    reqwest::Client::builder()
        .user_agent(concat!("lava-server/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
        .redirect(policy)
        .dns_resolver(Arc::new(CheckedResolver { allow_local }))
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_addresses_are_recognised() {
        for local in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "0.1.2.3",
            "169.254.169.254",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.1.1",
        ] {
            assert!(is_local(local.parse().unwrap()), "{local}");
        }
        for remote in [
            "10.0.0.1",
            "192.168.1.2",
            "8.8.8.8",
            "2001:db8::1",
            "fec0::1",
        ] {
            assert!(!is_local(remote.parse().unwrap()), "{remote}");
        }
    }

    #[test]
    fn literal_urls_are_checked_unless_allowed() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        let e = check_url(&url("http://127.0.0.1:16421/power"), false).unwrap_err();
        assert!(
            e.contains("127.0.0.1") && e.contains("allow_local_targets"),
            "{e}"
        );
        assert!(check_url(&url("http://[::1]/"), false).is_err());
        assert!(check_url(&url("http://[::ffff:7f00:1]/"), false).is_err());
        assert!(check_url(&url("http://127.0.0.1/"), true).is_ok());
        assert!(check_url(&url("http://192.0.2.1/"), false).is_ok());
        assert!(check_url(&url("http://ci.example/"), false).is_ok());
    }
}
