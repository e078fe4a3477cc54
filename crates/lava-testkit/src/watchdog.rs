//! A shell process that stops the server when we die without stopping it.
//!
//! A test process killed with SIGKILL runs no destructors, and a shared cluster in a `static`
//! is never dropped at all, so the server would outlive us forever. The watchdog holds the read
//! end of a pipe whose write end only we hold: when we exit for any reason the kernel closes it,
//! `read` sees end of file, and the watchdog sends the postmaster SIGQUIT (immediate shutdown)
//! and removes a temporary cluster directory. A line "detach" instead tells it to leave the
//! server running. It sits in its own process group so a Ctrl-C aimed at the tests does not
//! kill it before it has cleaned up (`pg_ctl` already puts the server in its own session).

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::Error;

/// `$1` is the data directory, `$2` a directory to remove afterwards (or empty).
const SCRIPT: &str = r#"
read -r cmd
[ "$cmd" = detach ] && exit 0
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
            .arg(SCRIPT)
            .arg("lava-pg-watchdog")
            .arg(data)
            .arg(remove.unwrap_or(Path::new("")))
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = cmd.spawn().map_err(|source| Error::Spawn {
            command: "/bin/sh -c <watchdog script>".into(),
            source,
        })?;
        let stdin = child.stdin.take();
        Ok(Self { child, stdin })
    }

    /// Lets the watchdog exit without touching the server.
    pub(crate) fn detach(mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            // If the write fails the watchdog is gone already, which is what we want anyway.
            let _ = stdin.write_all(b"detach\n");
        }
        let _ = self.child.wait();
    }

    /// Makes the watchdog kill the server and clean up now, and waits until it has.
    pub(crate) fn fire(mut self) {
        self.stdin.take();
        let _ = self.child.wait();
    }
}
