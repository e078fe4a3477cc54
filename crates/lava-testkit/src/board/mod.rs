//! A simulated serial board behind real ser2net and pdudaemon (lab-recipes.md §1 and §2).
//!
//! The layout, in a temporary directory: a long-lived socat owns the pty ser2net serves
//! (`ttyBOARD`), so the serial line and a telnet session survive power cycles. pdudaemon's
//! `localcmdline` PDU `pdu` runs `power.sh`: "on" starts a second socat that gives `board.sh`
//! a fresh pty and plugs it into the line through `board.sock`; "off" kills that socat, and
//! the pty hangup ends the board. Only hardware is faked: the daemons are the Debian ones.

mod conf;
pub(crate) mod scripts;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};

use tempfile::TempDir;

use crate::Error;
use crate::process::{
    alive, is_board_process, kill_group, kill_pid, listening, mentions, read_pid, spawn,
};

/// The PDU's name in the lab's pdudaemon configuration.
pub const PDU_HOSTNAME: &str = "pdu";

/// The PDU port (outlet) the board is plugged into.
pub const PDU_PORT: u32 = 5;

/// The reboot delay in [`FakeBoard::hard_reset_command`], shorter than pdudaemon's 5 s.
pub const REBOOT_DELAY_SECS: u32 = 1;

/// A running fake board lab; dropping it kills every process it started.
#[derive(Debug)]
pub struct FakeBoard {
    /// The lab directory: scripts, configuration, pid files and logs.
    dir: TempDir,
    telnet_port: u16,
    pdu_http_port: u16,
    /// The line's socat, ser2net and pdudaemon, each the leader of its own process group.
    daemons: Vec<Child>,
}

impl FakeBoard {
    /// Sets up the lab in a new temporary directory and starts the line, ser2net and
    /// pdudaemon, each on a free loopback port. The board stays off until powered on.
    pub fn start() -> Result<Self, Error> {
        let dir = tempfile::Builder::new()
            .prefix("lava-board-")
            .tempdir()
            .map_err(Error::io(
                "create temporary directory in",
                std::env::temp_dir(),
            ))?;
        let [telnet_port, pdu_http_port] = crate::process::free_ports()?;
        // From here on, an early return drops `board`, which kills what already runs.
        let mut board = Self {
            telnet_port,
            pdu_http_port,
            daemons: Vec::new(),
            dir,
        };
        let d = board.dir.path().to_owned();
        scripts::write_lab(&d, board.telnet_port, board.pdu_http_port)?;

        // `-t 0`: after a power-off the old child must stop reading the pty at once, or it
        // eats what the client types next. `unlink-close=0`: children keep the symlink.
        // setsid is not a group leader here, so it does not fork: socat leads its session.
        let (tty, sock) = (d.join("ttyBOARD"), d.join("board.sock"));
        let mut line = Command::new("setsid");
        line.args(["socat", "-d", "-d", "-t", "0"])
            .arg(format!(
                "pty,raw,echo=0,link={},unlink-close=0",
                tty.display()
            ))
            .arg(format!("UNIX-LISTEN:{},fork", sock.display()));
        board.launch(line, "the serial line's socat", "line.log", || {
            tty.exists() && sock.exists()
        })?;

        let mut ser2net = Command::new("ser2net");
        ser2net.args(["-n", "-d", "-c"]).arg(d.join("ser2net.yaml"));
        ser2net.process_group(0);
        let port = board.telnet_port;
        board.launch(ser2net, "ser2net", "ser2net.log", || listening(port))?;

        let mut pdudaemon = Command::new("pdudaemon");
        pdudaemon.arg("--conf").arg(d.join("pdudaemon.conf"));
        pdudaemon.process_group(0);
        let port = board.pdu_http_port;
        board.launch(pdudaemon, "pdudaemon", "pdudaemon.log", || listening(port))?;
        Ok(board)
    }

    /// Spawns a daemon, keeps it for teardown, and waits until `ready`.
    fn launch(
        &mut self,
        mut cmd: Command,
        what: &str,
        log: &str,
        ready: impl FnMut() -> bool,
    ) -> Result<(), Error> {
        let log = self.dir.path().join(log);
        self.daemons.push(spawn(&mut cmd, &log)?);
        let child = self.daemons.last_mut().expect("just pushed");
        let took = crate::process::wait_ready(child, what, &log, ready)?;
        tracing::debug!(what, ?took, "fake board daemon ready");
        Ok(())
    }

    /// The lab directory (scripts, configuration and every daemon's log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// ser2net's telnet port on 127.0.0.1: the board's console.
    pub fn telnet_port(&self) -> u16 {
        self.telnet_port
    }

    /// pdudaemon's HTTP address, `127.0.0.1:PORT`.
    pub fn pdu_daemon(&self) -> String {
        format!("127.0.0.1:{}", self.pdu_http_port)
    }

    /// The power log: one line per PDU command, `TIME on|off port=N`.
    pub fn pdu_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pdu.log")).unwrap_or_default()
    }

    /// How LAVA reaches the console: `telnet 127.0.0.1 PORT`.
    pub fn connection_command(&self) -> String {
        format!("telnet 127.0.0.1 {}", self.telnet_port)
    }

    /// The pids of everything running for this lab: the daemons, and the board's socat and
    /// shell while it is powered on.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self.daemons.iter().map(Child::id).collect();
        pids.extend(self.board_pids().into_iter().flatten());
        pids.retain(|pid| alive(*pid));
        pids
    }

    /// The powered-on board's socat and shell (the leader of the board's process group).
    fn board_pids(&self) -> [Option<u32>; 2] {
        let d = self.dir.path();
        let socat = read_pid(&d.join("boot.pid")).filter(|pid| alive(*pid) && mentions(*pid, d));
        let shell = read_pid(&d.join("board.pid")).filter(|pid| is_board_process(*pid, d));
        [socat, shell]
    }
}

impl Drop for FakeBoard {
    fn drop(&mut self) {
        let [socat, shell] = self.board_pids();
        // pdudaemon first, so no power command starts a new board while we tear down.
        for child in self.daemons.iter_mut().rev() {
            kill_group(child.id());
            if let Err(err) = child.wait() {
                tracing::warn!(pid = child.id(), %err, "cannot reap a fake board daemon");
            }
        }
        if let Some(pid) = socat.filter(|pid| alive(*pid)) {
            kill_pid(pid);
        }
        if let Some(pgid) = shell {
            kill_group(pgid);
        }
        let _ = std::fs::remove_file(self.dir.path().join("ttyBOARD"));
    }
}
