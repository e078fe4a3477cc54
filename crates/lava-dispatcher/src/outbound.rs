//! Where a job may reach from the worker host: the host boundaries of its URLs.
//!
//! A job names images, test definitions and git repositories by URL, and the worker fetches
//! them with its own rights. So `file://` URLs stay inside the directories of
//! `jobs.file_url_dirs` (symbolic links and `..` resolved first), and remote URLs may not
//! point at the worker's own services (pdudaemon on 127.0.0.1, a metadata service on
//! 169.254.169.254): loopback, link-local, unspecified and multicast addresses are refused
//! unless `jobs.allow_local_targets` says otherwise. A name is resolved once, checked, and
//! the connection goes to the checked addresses, so a DNS answer that changes between the
//! check and the fetch (rebinding) cannot steer it; every redirect hop is checked the same
//! way before it is followed.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use lava_common::dispatcher_settings::DispatcherSettings;
use reqwest::Url;

/// The most redirects one fetch follows.
pub const MAX_REDIRECTS: usize = 10;

/// Why a URL was not fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The job asked for something the worker does not reach (the job's fault).
    #[error("{0}")]
    Refused(String),
    /// The network or the remote end failed (the lab's fault).
    #[error("{0}")]
    Failed(String),
}

/// Whether `ip` is one of the worker's own or a non-unicast address: loopback, link-local,
/// unspecified (`0.0.0.0/8`, `::`), broadcast or multicast, also when written as an
/// IPv4-mapped IPv6 address.
pub fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_link_local()
                || v4.octets()[0] == 0
                || v4.is_broadcast()
                || v4.is_multicast()
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_local(IpAddr::V4(v4)),
            None => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unicast_link_local()
            }
        },
    }
}

/// The local file a `file://` URL names, if it lies inside one of `jobs.file_url_dirs`;
/// the error names the URL and the setting.
pub fn file_url(settings: &DispatcherSettings, url: &str) -> Result<PathBuf, OutboundError> {
    file_url_text(settings, url).map_err(OutboundError::Refused)
}

fn file_url_text(settings: &DispatcherSettings, url: &str) -> Result<PathBuf, String> {
    let path = url
        .strip_prefix("file://")
        .ok_or_else(|| format!("'{url}' is not a file:// URL"))?;
    if !path.starts_with('/') {
        return Err(format!(
            "file URL '{url}' names no absolute path (write file:///path)"
        ));
    }
    let path = PathBuf::from(path);
    // Whether a file outside the directories exists is none of the job's business: only
    // a path written inside one of them (without `..`) is told that it does not exist.
    let climbs = path
        .components()
        .any(|c| c == std::path::Component::ParentDir);
    let written_inside = !climbs
        && settings
            .file_url_dirs
            .iter()
            .any(|d| path.starts_with(d) || d.canonicalize().is_ok_and(|c| path.starts_with(c)));
    match settings.file_url_dir_of(&path) {
        Some(_) if !climbs => Ok(path.canonicalize().unwrap_or(path)),
        None if written_inside && !path.exists() => Err(format!(
            "cannot use {url}: {} does not exist",
            path.display()
        )),
        _ => Err(format!(
            "file URL {url} is outside the directories jobs may read ({}); jobs.file_url_dirs in {} (or LAVA_FILE_URL_DIRS) lists them",
            dirs(settings),
            settings.file.display()
        )),
    }
}

fn dirs(settings: &DispatcherSettings) -> String {
    let d: Vec<String> = settings
        .file_url_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    if d.is_empty() {
        "none".into()
    } else {
        d.join(", ")
    }
}

/// Resolves `url`'s host once and checks every address; returns them with the port, for
/// the connection to use.
pub async fn resolve(
    settings: &DispatcherSettings,
    url: &Url,
) -> Result<Vec<SocketAddr>, OutboundError> {
    let host = url
        .host_str()
        .ok_or_else(|| OutboundError::Refused(format!("'{url}' names no host")))?;
    let port = url
        .port_or_known_default()
        .or_else(|| (url.scheme() == "git").then_some(9418))
        .ok_or_else(|| OutboundError::Refused(format!("'{url}' names no port")))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(
            Duration::from_secs(30),
            tokio::net::lookup_host((bare, port)),
        )
        .await
        .map_err(|_| {
            OutboundError::Failed(format!(
                "cannot resolve '{host}' for {url}: no answer within 30 s"
            ))
        })?
        .map_err(|e| OutboundError::Failed(format!("cannot resolve '{host}' for {url}: {e}")))?
        .collect(),
    };
    if addrs.is_empty() {
        return Err(OutboundError::Failed(format!(
            "'{host}' of {url} has no address"
        )));
    }
    if !settings.allow_local_targets
        && let Some(local) = addrs.iter().find(|a| is_local(a.ip()))
    {
        return Err(OutboundError::Refused(format!(
            "{url} leads to {}, a local address the worker does not fetch from; jobs.allow_local_targets in {} (or LAVA_ALLOW_LOCAL_TARGETS) allows it",
            local.ip(),
            settings.file.display()
        )));
    }
    Ok(addrs)
}

/// Parses a remote URL of one of `schemes`.
pub fn parse(url: &str, schemes: &[&str]) -> Result<Url, OutboundError> {
    let parsed = Url::parse(url)
        .map_err(|e| OutboundError::Refused(format!("'{url}' is not a valid URL: {e}")))?;
    if !schemes.contains(&parsed.scheme()) {
        return Err(OutboundError::Refused(format!(
            "unsupported URL '{url}': use {}",
            schemes
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(parsed)
}

/// GETs an http(s) URL with the job's `headers`, following at most [`MAX_REDIRECTS`]
/// redirects, each hop resolved and checked before it is requested. The headers go only to
/// the URL's own origin (scheme, host and port): a redirect elsewhere gets none of them, so
/// a token meant for an artifact server never reaches the storage it redirects to. The
/// answer may be any status but a redirect.
pub async fn get(
    settings: &DispatcherSettings,
    url: &str,
    headers: &[(String, String)],
    connect_timeout: Duration,
) -> Result<reqwest::Response, OutboundError> {
    let failed = OutboundError::Failed;
    let mut current = parse(url, &["http", "https"])?;
    let origin = current.origin();
    for _ in 0..=MAX_REDIRECTS {
        let addrs = resolve(settings, &current).await?;
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .user_agent(concat!("lava-dispatcher/", env!("CARGO_PKG_VERSION")));
        if let Some(domain) = current.domain() {
            builder = builder.resolve_to_addrs(domain, &addrs);
        }
        let client = builder
            .build()
            .map_err(|e| failed(format!("cannot make an HTTP client: {e}")))?;
        let mut request = client.get(current.clone());
        if current.origin() == origin {
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str());
            }
        }
        let resp = request.send().await.map_err(|e| {
            failed(format!(
                "cannot fetch {current}: {}",
                crate::worker::error::chain(&e)
            ))
        })?;
        if !resp.status().is_redirection() {
            return Ok(resp);
        }
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| failed(format!("{current} redirects ({}) nowhere", resp.status())))?;
        let next = current.join(location).map_err(|e| {
            failed(format!(
                "{current} redirects to '{location}', not a URL: {e}"
            ))
        })?;
        current = parse(next.as_str(), &["http", "https"])
            .map_err(|e| OutboundError::Refused(format!("{url} redirects to {next}: {e}")))?;
    }
    Err(failed(format!(
        "{url} redirects more than {MAX_REDIRECTS} times"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_outside_say_nothing_of_what_exists_there() {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("images");
        std::fs::create_dir_all(&images).unwrap();
        std::fs::write(images.join("k"), "k").unwrap();
        let root = dir.path().display().to_string();
        let host = lava_common::host_paths::HostPaths::load_with(|k| {
            (k == "LAVA_ROOT").then(|| root.clone())
        })
        .unwrap();
        let mut settings = DispatcherSettings::defaults(&host);
        settings.file_url_dirs = vec![images.clone()];
        let url = |p: &str| format!("file://{p}");
        let ok = file_url(&settings, &url(&format!("{}/k", images.display()))).unwrap();
        assert_eq!(ok, images.join("k").canonicalize().unwrap());
        let missing = file_url(&settings, &url(&format!("{}/nope", images.display())));
        assert!(
            format!("{missing:?}").contains("does not exist"),
            "{missing:?}"
        );
        for outside in [
            "/etc/passwd".to_string(),
            "/no/such/file".to_string(),
            format!("{}/../../no/such", images.display()),
            format!("{}/../images/k", images.display()),
        ] {
            let e = file_url(&settings, &url(&outside)).unwrap_err().to_string();
            assert!(e.contains("is outside the directories"), "{outside}: {e}");
            assert!(e.contains("jobs.file_url_dirs"), "{e}");
        }
        assert!(file_url(&settings, "file://relative/x").is_err());
    }

    #[test]
    fn local_addresses() {
        for local in [
            "127.0.0.1",
            "127.1.2.3",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_local(local.parse().unwrap()), "{local}");
        }
        for remote in ["192.0.2.1", "10.1.2.3", "8.8.8.8", "2001:db8::1", "fd00::1"] {
            assert!(!is_local(remote.parse().unwrap()), "{remote}");
        }
    }
}
