//! Test definitions from git: the repository checked against the host boundaries of
//! [`crate::outbound`], cloned and checked out by `git` without a shell, with
//! `--`/`--end-of-options` before every value from the job, only the transport of the
//! repository's own scheme allowed (`protocol.allow`, so no `ext::` command transport), no
//! credential prompt, no redirect, the checked address of the host pinned, and under the
//! job's limits: `jobs.git_timeout` and the action's deadline, killed with its whole process
//! group when either runs out or the job is canceled. The definition's path must stay inside
//! the checkout once symbolic links are resolved.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use lava_common::dispatcher_settings::DispatcherSettings;
use lava_common::job::check_testdef_path;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use reqwest::Url;

use super::fetch::MAX_DEFINITION_BYTES;
use crate::command::Argv;
use crate::job::{Ctx, Failure};
use crate::outbound::{self, OutboundError};

/// Where a git repository is, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitTarget {
    /// A repository on this host, inside `jobs.file_url_dirs`.
    File(PathBuf),
    /// A remote one, with the checked addresses of its host.
    Remote {
        /// As the job gave it, checked by `outbound` (http, https or git scheme).
        url: Url,
        /// Where its host resolved to.
        addrs: Vec<SocketAddr>,
    },
}

/// Checks a job's git repository: `https://`, `http://` and `git://` URLs whose host is not a
/// local address, or a `file://` URL or absolute path inside `jobs.file_url_dirs`.
pub async fn git_target(
    settings: &DispatcherSettings,
    repository: &str,
) -> Result<GitTarget, OutboundError> {
    let file = if repository.starts_with('/') {
        Some(format!("file://{repository}"))
    } else if repository.starts_with("file://") {
        Some(repository.to_string())
    } else {
        None
    };
    if let Some(url) = file {
        let path = outbound::file_url(settings, &url)?;
        if !path.is_dir() {
            return Err(OutboundError::Refused(format!(
                "{} is not a directory",
                path.display()
            )));
        }
        return Ok(GitTarget::File(path));
    }
    let url = outbound::parse(repository, &["https", "http", "git"]).map_err(|_| {
        OutboundError::Refused(format!(
            "unsupported git repository '{repository}': use https://, http://, git://, or file:// inside jobs.file_url_dirs"
        ))
    })?;
    let addrs = outbound::resolve(settings, &url).await?;
    Ok(GitTarget::Remote { url, addrs })
}

/// Kills a git command's whole process group if it is dropped before it finished: on the
/// action's timeout and on cancel, the future running it is dropped.
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.filter(|p| *p > 1) {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}

/// Runs `git` with `config` (`-c` pairs) and `args`, under the job's limits.
async fn git(ctx: &Ctx, action: &str, config: &[String], args: &[&str]) -> Result<(), Failure> {
    let mut words = Vec::new();
    for c in config {
        words.extend(["-c".to_string(), c.clone()]);
    }
    words.extend(args.iter().map(|a| a.to_string()));
    let argv = Argv::new("git", words);
    let mut cmd = argv.command();
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .env("SSH_ASKPASS", "true")
        .env_remove("GIT_SSH_COMMAND")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|e| Failure::infra(action, format!("cannot run git: {e}")))?;
    let mut guard = GroupGuard(child.id().map(|p| p as i32));
    let left = ctx
        .deadline
        .saturating_duration_since(tokio::time::Instant::now());
    let limit = ctx.settings.git_timeout.min(left);
    let shown = args.join(" ");
    let out = match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(out) => out.map_err(|e| Failure::infra(action, format!("cannot run git: {e}")))?,
        Err(_) => {
            drop(guard);
            return Err(Failure::timeout(
                action,
                format!(
                    "git {shown} did not finish within {}s (jobs.git_timeout or the action's timeout) and was killed",
                    limit.as_secs()
                ),
            ));
        }
    };
    guard.0 = None;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let err: String = err.trim().chars().take(2000).collect();
        Err(Failure::job(action, format!("git {shown} failed: {err}")))
    }
}

/// Clones a checked repository into `dir` and checks out `revision`.
pub async fn clone(
    ctx: &Ctx,
    action: &str,
    target: &GitTarget,
    dir: &Path,
    revision: Option<&str>,
) -> Result<(), Failure> {
    let mut config = vec!["protocol.allow=never".to_string()];
    let source = match target {
        GitTarget::File(path) => {
            config.push("protocol.file.allow=always".into());
            path.display().to_string()
        }
        GitTarget::Remote { url, addrs } => {
            config.push(format!("protocol.{}.allow=always", url.scheme()));
            config.push("http.followRedirects=false".into());
            let mut url = url.clone();
            if url.scheme() == "git" {
                // The git protocol has no way to pin an address: connect to it by number.
                let _ = url.set_ip_host(addrs[0].ip());
            } else if let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) {
                let ips: Vec<String> = addrs
                    .iter()
                    .map(|a| match a.ip() {
                        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                        v4 => v4.to_string(),
                    })
                    .collect();
                config.push(format!(
                    "http.curloptResolve={host}:{port}:{}",
                    ips.join(",")
                ));
            }
            url.to_string()
        }
    };
    let dir_s = dir.display().to_string();
    git(
        ctx,
        action,
        &config,
        &["clone", "--quiet", "--", &source, &dir_s],
    )
    .await?;
    if let Some(rev) = revision {
        let checkout = [
            "-C",
            &dir_s,
            "checkout",
            "--quiet",
            "--detach",
            "--end-of-options",
            rev,
        ];
        git(ctx, action, &[], &checkout).await?;
    }
    Ok(())
}

/// Reads `path` of a checkout, which must stay inside it once symbolic links are resolved.
pub fn read_in_checkout(
    action: &str,
    dir: &Path,
    path: &str,
    repository: &str,
) -> Result<String, Failure> {
    check_testdef_path(path).map_err(|why| Failure::job(action, format!("{repository}: {why}")))?;
    let missing = |e: std::io::Error| Failure::job(action, format!("{path} in {repository}: {e}"));
    let root = dir.canonicalize().map_err(missing)?;
    let real = dir.join(path).canonicalize().map_err(missing)?;
    if !real.starts_with(&root) {
        return Err(Failure::job(
            action,
            format!(
                "{path} in {repository} leads outside the repository (through a symbolic link)"
            ),
        ));
    }
    let len = std::fs::metadata(&real).map_err(missing)?.len();
    if len > MAX_DEFINITION_BYTES as u64 {
        return Err(Failure::job(
            action,
            format!("{path} in {repository} is larger than {MAX_DEFINITION_BYTES} bytes"),
        ));
    }
    std::fs::read_to_string(&real).map_err(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that takes the connection and never answers: git waits until the job's
    /// git timeout kills it with its helpers (git-remote-http runs in the same group).
    #[tokio::test]
    async fn a_silent_server_is_given_up_on_at_the_git_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = crate::job::test_ctx(dir.path());
        ctx.settings.git_timeout = std::time::Duration::from_secs(1);
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/r.git", silent.local_addr().unwrap());
        let dest = dir.path().join("clone").display().to_string();
        let started = std::time::Instant::now();
        let e = git(
            &ctx,
            "test",
            &[
                "protocol.allow=never".into(),
                "protocol.http.allow=always".into(),
            ],
            &["clone", "--quiet", "--", &url, &dest],
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(e.kind, crate::job::ErrorType::Timeout, "{e}");
        assert!(e.message.contains("jobs.git_timeout"), "{e}");
        let out = std::process::Command::new("ps")
            .args(["-eo", "stat=,args="])
            .output()
            .unwrap();
        let ps = String::from_utf8_lossy(&out.stdout).into_owned();
        let left: Vec<&str> = ps
            .lines()
            .filter(|l| l.contains(&url) && !l.trim_start().starts_with('Z'))
            .collect();
        assert!(left.is_empty(), "git left running: {left:?}");
    }

    #[test]
    fn a_definition_stays_inside_the_checkout() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join("sub")).unwrap();
        std::fs::write(repo.join("sub/t.yaml"), "inside").unwrap();
        std::fs::write(dir.path().join("outside.yaml"), "outside").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside.yaml"), repo.join("out.yaml")).unwrap();
        std::os::unix::fs::symlink("sub/t.yaml", repo.join("in.yaml")).unwrap();
        let read = |p: &str| read_in_checkout("test", &repo, p, "r");
        assert_eq!(read("sub/t.yaml").unwrap(), "inside");
        assert_eq!(read("in.yaml").unwrap(), "inside");
        let e = read("out.yaml").unwrap_err();
        assert!(e.message.contains("leads outside the repository"), "{e}");
        assert!(read("../outside.yaml").is_err());
        assert!(read(&dir.path().join("outside.yaml").display().to_string()).is_err());
    }
}
