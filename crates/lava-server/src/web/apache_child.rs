//! `lava-server web --under-apache`: the web app as Apache's child.
//!
//! The seed says the web application "is handled within apache", so that `sudo apache2ctl
//! restart` refreshes the code behind the front end. `apache2ctl restart` signals Apache's
//! own process and never goes through systemd, so a unit tied to `apache2.service` would not
//! follow it. Instead the Apache site starts the app as a *reliable piped log*
//! (`CustomLog "|/usr/bin/lava-server web --under-apache --user lavaserver" …`): Apache
//! starts it with itself, starts it again when it exits, and stops it on every stop, restart
//! and graceful restart, with or without systemd.
//!
//! In that role the app: becomes `--user` before anything else (Apache starts its piped logs
//! as root) and refuses to go on as root; reads and drops the log lines Apache writes to its standard input, and stops
//! when that pipe ends (Apache went away); waits for the previous instance to free the port;
//! gives requests in flight [`STOP_GRACE`] after a stop (Apache does not wait for it); and
//! pauses [`FAILURE_PAUSE`] before exiting on an error, since Apache restarts it at once.

use std::io::Read as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How long requests in flight (live logs, long polls) may run on after a stop.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// The pause before exiting on an error, so Apache's restarts do not spin.
pub const FAILURE_PAUSE: Duration = Duration::from_secs(5);

/// How long to wait for the port while the previous instance lets go of it.
const BIND_PATIENCE: Duration = Duration::from_secs(30);

/// Becomes `user` (its uid, its group and supplementary groups), with no way back to more
/// privileges (no_new_privs), when started as root; a process that is not root may only name
/// itself. Then fails if still root. Runs before any thread is started.
pub fn become_user(user: Option<&str>) -> anyhow::Result<()> {
    use nix::unistd::{Uid, User, geteuid, initgroups, setgid, setuid};
    if let Some(name) = user {
        let u = User::from_name(name)
            .with_context(|| format!("cannot look up user '{name}'"))?
            .with_context(|| format!("no user '{name}' (is the lava-server package installed?)"))?;
        if geteuid().is_root() {
            let cname = std::ffi::CString::new(name).context("a user name with a NUL byte")?;
            initgroups(&cname, u.gid).with_context(|| format!("initgroups({name})"))?;
            setgid(u.gid).with_context(|| format!("setgid({})", u.gid))?;
            setuid(u.uid).with_context(|| format!("setuid({})", u.uid))?;
            // Once the user, always the user: setuid programs cannot raise it again.
            nix::sys::prctl::set_no_new_privs().context("prctl(PR_SET_NO_NEW_PRIVS)")?;
            if Uid::effective().is_root() || setuid(Uid::from_raw(0)).is_ok() {
                bail!("still root after becoming '{name}'");
            }
        } else if geteuid() != u.uid {
            bail!(
                "--user {name}: only root can become another user (this is uid {})",
                geteuid()
            );
        }
    }
    if geteuid().is_root() {
        bail!(
            "lava-server web --under-apache runs as root: name the service user with --user lavaserver, as the lava-server Apache site does"
        );
    }
    Ok(())
}

/// Drops what Apache writes on standard input; when the pipe ends (Apache stopped, or
/// restarted and closed it), asks the app to stop.
pub fn watch_stdin(stop: watch::Sender<bool>) {
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 8192];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        tracing::info!("Apache closed the log pipe: stopping");
        let _ = stop.send(true);
    });
}

/// Binds `listen`, trying again while the address is in use (the instance Apache just
/// stopped may still hold it).
pub async fn bind(listen: SocketAddr) -> anyhow::Result<TcpListener> {
    let start = Instant::now();
    let mut said = false;
    loop {
        match TcpListener::bind(listen).await {
            Ok(l) => return Ok(l),
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse && start.elapsed() < BIND_PATIENCE =>
            {
                if !said {
                    tracing::info!(%listen, "the address is in use (the previous instance?): waiting for it");
                    said = true;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot listen on {listen}")),
        }
    }
}
