//! What keeps password guessing slow and a login flood from taking the machine: failed
//! logins counted per username and per client address over a minute (in the database, so
//! every instance behind a balancer counts alike), and argon2 work bounded in parallel.

use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use tokio::sync::Semaphore;

/// The window failed logins are counted over.
pub const WINDOW: Duration = Duration::from_secs(60);

/// The longest a login waits for an argon2 slot before it is answered 503.
pub const ARGON2_WAIT: Duration = Duration::from_secs(10);

/// Failed logins per key within [`WINDOW`] when the settings say nothing (`lava-server web`
/// built without settings, as benches do).
pub const DEFAULT_LIMIT: u32 = 10;

/// Argon2 verifications and hashes at once: half the cores, at least one, so a flood of
/// logins leaves the other half to the pages, the APIs and the workers.
static ARGON2: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(argon2_slots()));

/// How many argon2 computations may run at once on this machine.
pub fn argon2_slots() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / 2).max(1)
}

/// Every argon2 slot was taken for [`ARGON2_WAIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the server is busy checking other logins; try again in a moment")]
pub struct Busy;

/// Runs argon2 work `f` off the async threads once a slot is free (waiting at most
/// [`ARGON2_WAIT`]).
pub async fn argon2<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
    bounded(&ARGON2, ARGON2_WAIT, f).await
}

/// Runs `f` on a blocking thread once `slots` has a permit, waiting at most `wait`.
async fn bounded<T: Send + 'static>(
    slots: &Semaphore,
    wait: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Busy> {
    let permit = tokio::time::timeout(wait, slots.acquire())
        .await
        .map_err(|_| Busy)?
        .map_err(|_| Busy)?;
    let out = tokio::task::spawn_blocking(f).await.map_err(|_| Busy);
    drop(permit);
    out
}

/// The client's address. Behind Apache on the same host (the peer is a loopback address)
/// it is the last address in `X-Forwarded-For`, the one Apache appended; a header from
/// anyone else is ignored, since a client can write whatever it likes there.
pub fn client_addr(headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
    let peer = peer?.ip();
    if !peer.is_loopback() {
        return Some(peer);
    }
    // Only the last entry is Apache's; anything before it is what the client sent.
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|a| a.trim().parse::<IpAddr>().ok());
    Some(forwarded.unwrap_or(peer))
}

/// The failure key of an address: the address itself for IPv4, its /64 for IPv6 (one host
/// usually has a whole /64 to pick from).
pub fn addr_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("addr:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("addr:{v4}"),
            None => {
                let s = v6.segments();
                format!("addr:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The failure key of a username.
pub fn user_key(username: &str) -> String {
    format!("user:{username}")
}

/// The client address of a request, as an extractor (`None` when the server was started
/// without connection info, as in benches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(ClientAddr(client_addr(&parts.headers, peer)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_counts_only_from_the_local_proxy() {
        let apache: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let outside: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        // Apache appends the real client after whatever the client sent.
        let h = headers(&["203.0.113.9, 198.51.100.4"]);
        assert_eq!(
            client_addr(&h, Some(apache)),
            Some("198.51.100.4".parse().unwrap())
        );
        assert_eq!(
            client_addr(&h, Some(outside)),
            Some("192.0.2.7".parse().unwrap()),
            "a direct client cannot choose its address"
        );
        assert_eq!(
            client_addr(&headers(&[]), Some(apache)),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(client_addr(&h, None), None);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a = addr_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = addr_key("2001:db8:1:2:bbbb::9".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(a, "addr:2001:db8:1:2::/64");
        assert_eq!(addr_key("192.0.2.1".parse().unwrap()), "addr:192.0.2.1");
        assert_eq!(
            addr_key("::ffff:192.0.2.1".parse().unwrap()),
            "addr:192.0.2.1"
        );
    }

    #[tokio::test]
    async fn argon2_work_waits_for_a_slot() {
        assert!(argon2_slots() >= 1);
        // A semaphore of its own: other tests in this process check passwords through the
        // shared one at the same time.
        let slots = Semaphore::new(1);
        let held = slots.try_acquire().unwrap();
        let wait = Duration::from_millis(50);
        assert_eq!(
            bounded(&slots, wait, || 7).await,
            Err(Busy),
            "bounded at one"
        );
        drop(held);
        assert_eq!(bounded(&slots, wait, || 7).await, Ok(7));
        assert_eq!(argon2(|| 8).await, Ok(8));
    }
}
