//! Starting the lab's daemons, waiting until they are ready, and killing them again.

use std::fs::File;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Error;
use crate::command::describe;

/// How long a daemon may take to become ready (pdudaemon takes about 0.5 s).
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// `N` distinct loopback TCP ports that were free a moment ago (the kernel's picks, all
/// held at once so none comes twice, then released for the daemons).
pub fn free_ports<const N: usize>() -> Result<[u16; N], Error> {
    let mut held = Vec::with_capacity(N);
    let mut ports = [0; N];
    for port in &mut ports {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(Error::io("bind a loopback port for", "127.0.0.1:0"))?;
        *port = listener
            .local_addr()
            .map_err(Error::io("read the address of", "127.0.0.1:0"))?
            .port();
        held.push(listener);
    }
    Ok(ports)
}

/// Starts `cmd` with stdin from /dev/null and stdout and stderr appended to `log`.
pub(crate) fn spawn(cmd: &mut Command, log: &Path) -> Result<Child, Error> {
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(Error::io("open", log))?;
    let err = out.try_clone().map_err(Error::io("duplicate", log))?;
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|source| Error::Spawn {
            command: describe(cmd),
            source,
        })
}

/// Polls `ready` until it holds; fails if `child` exits or [`READY_TIMEOUT`] passes.
pub(crate) fn wait_ready(
    child: &mut Child,
    what: &str,
    log: &Path,
    mut ready: impl FnMut() -> bool,
) -> Result<Duration, Error> {
    let started = Instant::now();
    loop {
        if ready() {
            return Ok(started.elapsed());
        }
        let log_tail = || {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(20)..].join("\n")
        };
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::NotReady {
                what: what.to_owned(),
                reason: format!("it exited ({status})"),
                log: log.to_owned(),
                output: log_tail(),
            });
        }
        if started.elapsed() > READY_TIMEOUT {
            return Err(Error::NotReady {
                what: what.to_owned(),
                reason: format!("not ready within {READY_TIMEOUT:?}"),
                log: log.to_owned(),
                output: log_tail(),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether something listens on `127.0.0.1:port`, from `/proc/net/tcp`.
///
/// Asking the kernel instead of connecting matters for ser2net: a connection opens the
/// serial device and would count as a client.
pub(crate) fn listening(port: u16) -> bool {
    let wanted = format!("0100007F:{port:04X}");
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table.lines().skip(1).any(|line| {
        let mut fields = line.split_whitespace().skip(1);
        let local = fields.next();
        let state = fields.nth(1);
        local == Some(wanted.as_str()) && state == Some("0A")
    })
}

/// Whether process `pid` still runs (a zombie does not: it only waits to be reaped).
pub(crate) fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Reads a pid file; `None` when it is missing, empty or garbled.
pub(crate) fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether `pid` runs with `FAKE_BOARD_DIR=dir` in its environment: the board's own shells.
pub(crate) fn is_board_process(pid: u32, dir: &Path) -> bool {
    let marker = format!("FAKE_BOARD_DIR={}", dir.display());
    std::fs::read(format!("/proc/{pid}/environ"))
        .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == marker.as_bytes()))
}

/// Whether `pid` runs with `dir` in its command line: the board's socat.
pub(crate) fn mentions(pid: u32, dir: &Path) -> bool {
    let dir = dir.display().to_string();
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&dir))
}

/// Sends SIGKILL to process group `pgid`, through kill(1) because this crate has no unsafe.
pub(crate) fn kill_group(pgid: u32) {
    signal(&format!("-{pgid}"));
}

/// Sends SIGKILL to process `pid`.
pub(crate) fn kill_pid(pid: u32) {
    signal(&pid.to_string());
}

/// SIGKILL through kill(1); never to pid or group 0 or 1 (0 would be our own group).
fn signal(target: &str) {
    if target
        .trim_start_matches('-')
        .parse::<u32>()
        .is_ok_and(|n| n <= 1)
    {
        return;
    }
    let result = Command::new("kill")
        .args(["-KILL", "--", target])
        .stderr(Stdio::null())
        .status();
    if let Err(err) = result {
        tracing::warn!(target, %err, "cannot run kill");
    }
}
