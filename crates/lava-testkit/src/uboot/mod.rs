//! The U-Boot QEMU board: QEMU's arm64 `virt` machine running Debian's own U-Boot build,
//! reached the way a lab reaches a real board.
//!
//! - Console: a long-lived socat owns the pty ser2net serves (`run/ttyBOARD`) and listens on
//!   `run/board.sock`; QEMU's serial port connects there at each power-on, so the telnet
//!   session survives power cycles (lab-recipes.md §1).
//! - Power: real pdudaemon, its `localcmdline` PDU `pdu` running `run/power.sh`, which starts
//!   or kills QEMU (§2). `pduclient` drives it, as the dispatcher does.
//! - Network: real tftpd-hpa serving the TFTP root, inside a network namespace of the
//!   board's own, where it listens on [`SERVER_IP`]:69. QEMU runs in that namespace with
//!   user-mode networking: U-Boot gets 10.0.2.15 by DHCP and reaches [`SERVER_IP`] through
//!   QEMU's NAT. Each board has its own namespace, so boards never fight over port 69, and a
//!   system tftpd-hpa on the host is neither used nor disturbed.
//!
//! Only the hardware is emulated. Dropping the board (or [`UbootBoard::stop`]) kills every
//! process it started and removes its files; a watchdog does the same when the owner dies.

mod by_hand;
mod conf;
mod daemons;
mod dir;
mod files;
mod image;
mod layout;
mod preflight;
mod qemu;
mod raw_boot;
mod teardown;

use std::path::{Path, PathBuf};
use std::process::Child;

use tempfile::TempDir;

use crate::Error;
use crate::process::free_ports;

pub use by_hand::{JobFiles, built_pduclient, run_power_command};
pub use conf::{DEVICE_TYPE_CONF, DEVICE_TYPE_TEMPLATE, SHELL_PROMPT};
pub use image::{BoardImage, board_image};
pub use raw_boot::RawBoot;

use layout::Layout;
use teardown::Removal;

use crate::watchdog::Watchdog;

/// The board's device type.
pub const DEVICE_TYPE: &str = "uboot-qemu";

/// The TFTP server's address as the board sees it: `{SERVER_IP}` in boot commands. It is
/// TEST-NET-1 (RFC 5737), routed nowhere, on `lo` of the board's own network namespace.
pub const SERVER_IP: &str = "192.0.2.1";

/// How to start a board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UbootBoardConfig {
    /// The board's directory (absolute); `None` for a temporary one, removed with the board.
    pub dir: Option<PathBuf>,
    /// The directory tftpd-hpa serves (absolute); `None` for `DIR/tftp`.
    pub tftp_root: Option<PathBuf>,
    /// The device's name: its `.conf` is `DIR/etc/devices/HOSTNAME.conf`.
    pub hostname: String,
    /// The `pduclient` the device file's power commands run.
    pub pduclient: PathBuf,
    /// How many power-ons leave the board dead (no U-Boot on the console), before it boots
    /// again: a fault for testing a dispatcher's retries.
    pub dead_boots: u32,
}

impl UbootBoardConfig {
    /// A temporary board named `uboot-qemu01` whose power commands run `pduclient`.
    pub fn temporary(pduclient: &Path) -> Self {
        Self {
            dir: None,
            tftp_root: None,
            hostname: "uboot-qemu01".into(),
            pduclient: pduclient.to_owned(),
            dead_boots: 0,
        }
    }
}

/// Where the board lives: a temporary directory (removed whole) or one we were given.
#[derive(Debug)]
enum BoardDir {
    Temp(TempDir),
    Given,
}

/// A running U-Boot QEMU board, powered off until its PDU switches it on.
#[derive(Debug)]
pub struct UbootBoard {
    layout: Layout,
    dir: BoardDir,
    tftp_root: PathBuf,
    hostname: String,
    telnet_port: u16,
    pdu_http_port: u16,
    /// Our children: the syslog reader, the line's socat, ser2net, tftpd, pdudaemon.
    daemons: Vec<Child>,
    /// `None` once stopped or detached.
    watchdog: Option<Watchdog>,
}

impl UbootBoard {
    /// Builds the images if needed, sets up the board's directory and starts its daemons.
    /// Needs root (for the network namespace) and Debian's packages named in the errors.
    pub fn start(config: &UbootBoardConfig) -> Result<Self, Error> {
        preflight::check()?;
        let image = board_image()?;
        let (dir, layout) = match &config.dir {
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("lava-uboot-")
                    .tempdir()
                    .map_err(Error::io(
                        "create temporary directory in",
                        std::env::temp_dir(),
                    ))?;
                let path = temp
                    .path()
                    .canonicalize()
                    .map_err(Error::io("resolve", temp.path()))?;
                let layout = Layout::new(&path)?;
                std::fs::create_dir(&layout.run)
                    .map_err(Error::io("create directory", &layout.run))?;
                (BoardDir::Temp(temp), layout)
            }
            Some(path) => (BoardDir::Given, dir::prepare_given(path)?),
        };
        let tftp_root = config
            .tftp_root
            .clone()
            .unwrap_or_else(|| layout.default_tftp_root());
        layout::check_plain(&tftp_root)?;
        dir::check_hostname(&config.hostname)?;
        let [telnet_port, pdu_http_port] = free_ports()?;
        let mut board = Self {
            layout,
            dir,
            tftp_root,
            hostname: config.hostname.clone(),
            telnet_port,
            pdu_http_port,
            daemons: Vec::new(),
            watchdog: None,
        };
        // From here on, an early return drops `board`, which tears down what exists.
        board.watchdog = Some(teardown::watchdog(&board.layout, &board.removal())?);
        board.make_tftp_root()?;
        files::write_run_files(
            &board.layout,
            &board.tftp_root,
            telnet_port,
            pdu_http_port,
            config.dead_boots,
        )?;
        board.launch_all()?;
        conf::write_atomic(&board.layout.device_type_conf(), DEVICE_TYPE_CONF)?;
        conf::write_atomic(
            &board.layout.device_conf(&board.hostname),
            &board.device_conf(&config.pduclient),
        )?;
        conf::write_atomic(&board.layout.device_type_template(), DEVICE_TYPE_TEMPLATE)?;
        conf::write_atomic(
            &board.layout.device_dictionary(&board.hostname),
            &board.device_dictionary(&config.pduclient),
        )?;
        conf::write_atomic(&board.layout.board_env(), &board.board_env(&image))?;
        Ok(board)
    }

    fn removal(&self) -> Removal {
        match &self.dir {
            BoardDir::Temp(temp) => Removal::Whole(temp.path().to_owned()),
            BoardDir::Given => Removal::Board,
        }
    }

    fn make_tftp_root(&self) -> Result<(), Error> {
        let root = &self.tftp_root;
        if !root.exists() {
            std::fs::create_dir_all(root).map_err(Error::io("create directory", root))?;
            // Only the default root, inside the board's directory, is removed with the board:
            // a root named by the user stays theirs.
            if *root == self.layout.default_tftp_root() {
                let flag = self.layout.owned_tftp_root_flag();
                std::fs::write(&flag, "").map_err(Error::io("write", &flag))?;
            }
        }
        // tftpd-hpa serves it as user tftp, after a chroot into it.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root, PermissionsExt::from_mode(0o755))
            .map_err(Error::io("chmod", root))
    }
}

impl UbootBoard {
    /// The board's directory.
    pub fn dir(&self) -> &Path {
        &self.layout.dir
    }

    /// The device's name.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The directory tftpd-hpa serves: a job's files go under `<root>/<job id>/`, readable
    /// by user `tftp`, and are named relative to it in boot commands.
    pub fn tftp_root(&self) -> &Path {
        &self.tftp_root
    }

    /// The device `.conf` written for the board (`DIR/etc/devices/HOSTNAME.conf`).
    pub fn device_conf_path(&self) -> PathBuf {
        self.layout.device_conf(&self.hostname)
    }

    /// The board's LAVA device dictionary
    /// (`DIR/etc/lava-server/dispatcher-config/devices/HOSTNAME.jinja2`).
    pub fn device_dictionary_path(&self) -> PathBuf {
        self.layout.device_dictionary(&self.hostname)
    }

    /// `DIR/board.env`.
    pub fn board_env_path(&self) -> PathBuf {
        self.layout.board_env()
    }

    /// ser2net's telnet port on 127.0.0.1: the board's console.
    pub fn telnet_port(&self) -> u16 {
        self.telnet_port
    }

    /// How LAVA reaches the console: `telnet 127.0.0.1 PORT`.
    pub fn connection_command(&self) -> String {
        format!("telnet 127.0.0.1 {}", self.telnet_port)
    }

    /// pdudaemon's HTTP address, `127.0.0.1:PORT`.
    pub fn pdu_daemon(&self) -> String {
        format!("127.0.0.1:{}", self.pdu_http_port)
    }

    /// tftpd-hpa's log (its syslog lines, `-v -v`): one `RRQ from … filename …` per request.
    pub fn tftpd_log(&self) -> String {
        self.read_run_file("tftpd.log")
    }

    /// The power log: one line per PDU command, `TIME on|off port=N`.
    pub fn pdu_log(&self) -> String {
        self.read_run_file("pdu.log")
    }

    /// A file of `DIR/run` (logs: `qemu.log`, `ser2net.log`, `pdudaemon.log`, …), or "".
    pub fn read_run_file(&self, name: &str) -> String {
        std::fs::read_to_string(self.layout.file(name)).unwrap_or_default()
    }

    /// The pids of every process of the board: the daemons, QEMU while it is on, tftpd's
    /// transfers.
    pub fn pids(&self) -> Vec<u32> {
        teardown::board_pids(&self.layout)
    }

    /// The board's network namespace, as `/proc/PID/ns/net` names it (`net:[INODE]`).
    pub fn netns(&self) -> Option<String> {
        let pid = std::fs::read_to_string(self.layout.file("tftpd.pid")).ok()?;
        let link = std::fs::read_link(format!("/proc/{}/ns/net", pid.trim())).ok()?;
        Some(link.display().to_string())
    }

    /// Kills every process of the board and removes its files (the TFTP root and the
    /// directory only if the board created them). Dropping the board does the same.
    pub fn stop(&mut self) -> Result<(), Error> {
        let Some(watchdog) = self.watchdog.take() else {
            return Ok(());
        };
        let result = teardown::fire(watchdog);
        for child in &mut self.daemons {
            // Killed by the watchdog already; killing our own unreaped child again is safe
            // (its pid cannot be reused yet) and keeps `wait` from hanging if one survived.
            let _ = child.kill();
            let _ = child.wait();
        }
        if let BoardDir::Temp(temp) = std::mem::replace(&mut self.dir, BoardDir::Given) {
            // The watchdog removed it already; keep TempDir from trying again.
            let _ = temp.keep();
        }
        result
    }

    /// Leaves the board running after this value is gone (`lava-lab board start`); stop it
    /// with [`UbootBoard::stop_dir`]. A temporary board cannot be detached: it returns an
    /// error and keeps running until dropped.
    pub fn detach(mut self) -> Result<(), Error> {
        if matches!(self.dir, BoardDir::Temp(_)) {
            return Err(Error::TemporaryBoard);
        }
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.detach();
        }
        Ok(())
    }

    /// Stops the board in `dir` from any process: kills its processes and removes what it
    /// made. Returns whether there was anything to stop; stopping twice is not an error.
    pub fn stop_dir(dir: &Path) -> Result<bool, Error> {
        dir::stop(dir)
    }
}

impl Drop for UbootBoard {
    fn drop(&mut self) {
        if let Err(err) = self.stop() {
            tracing::warn!(%err, dir = %self.layout.dir.display(), "cannot stop the u-boot board");
        }
    }
}
