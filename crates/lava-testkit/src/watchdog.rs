//! A shell process that cleans up after us when we die without doing it: the PostgreSQL
//! cluster's server here, a U-Boot board's processes in `uboot::teardown`.
//!
//! A test process killed with SIGKILL runs no destructors, and a shared cluster in a `static`
//! is never dropped at all, so the server would outlive us forever. The watchdog holds the read
//! end of a pipe whose write end only we hold: when we exit for any reason the kernel closes it,
//! `read` sees end of file, and the watchdog cleans up (for a cluster: sends the postmaster
//! SIGQUIT, immediate shutdown, and removes a temporary cluster directory). A line "detach"
//! instead tells it to leave things running. It sits in its own process group so a Ctrl-C
//! aimed at the tests does not kill it before it has cleaned up (`pg_ctl` already puts the
//! server in its own session).

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};

use crate::Error;

/// The start of every watchdog script: wait for our end of stdin to close (fire) or for the
/// line "detach" (exit without cleaning up).
pub(crate) const WAIT_OR_DETACH: &str = "read -r cmd; [ \"$cmd\" = detach ] && exit 0\n";

/// After [`WAIT_OR_DETACH`]: `$1` is the data directory, `$2` a directory to remove
/// afterwards (or empty).
const SCRIPT: &str = r#"
pidfile="$1/postmaster.pid"
# A server that is still starting may not have written its pid yet.
[ -f "$pidfile" ] || sleep 1
# The comm check keeps a stale pid file from killing an unrelated process that reused the pid.
if [ -f "$pidfile" ] && read -r pid < "$pidfile" &&
   [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]; then
    kill -QUIT "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
fi
[ -n "$2" ] && rm -rf "$2"
exit 0
"#;

/// A running watchdog; dropping it without [`Watchdog::detach`] makes it fire.
#[derive(Debug)]
pub(crate) struct Watchdog {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Watchdog {
    /// Starts a watchdog for the server of `data`, removing `remove` after it fired.
    pub(crate) fn spawn(data: &Path, remove: Option<&Path>) -> Result<Self, Error> {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(format!("{WAIT_OR_DETACH}{SCRIPT}"))
            .arg("lava-pg-watchdog")
            .arg(data)
            .arg(remove.unwrap_or(Path::new("")))
            .current_dir("/");
        Self::start(cmd, "/bin/sh -c <watchdog script>")
    }

    /// Starts `cmd`, a script that begins with [`WAIT_OR_DETACH`], as a watchdog: its stdin
    /// ours, its output discarded, in a process group of its own. `what` names it in errors.
    pub(crate) fn start(mut cmd: Command, what: &str) -> Result<Self, Error> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group: a Ctrl-C aimed at the tests must not kill it before it worked.
            .process_group(0);
        let mut child = cmd.spawn().map_err(|source| Error::Spawn {
            command: what.into(),
            source,
        })?;
        let stdin = child.stdin.take();
        Ok(Self { child, stdin })
    }

    /// Lets the watchdog exit without cleaning up.
    pub(crate) fn detach(mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            // If the write fails the watchdog is gone already, which is what we want anyway.
            let _ = stdin.write_all(b"detach\n");
        }
        let _ = self.child.wait();
    }

    /// Makes the watchdog clean up now, and waits until it has: its exit status.
    pub(crate) fn fire(mut self) -> std::io::Result<ExitStatus> {
        self.stdin.take();
        self.child.wait()
    }
}
