//! Starting the board's daemons, in order, each marked as the board's, in its own process
//! group, and waited for until it is ready.

use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::Error;
use crate::process::{listening, spawn, wait_ready};

use super::{SERVER_IP, UbootBoard, layout};

impl UbootBoard {
    /// The tftpd log's socat, the serial line's socat, ser2net, tftpd-hpa in the board's
    /// namespaces (its pid in `run/tftpd.pid` for `power.sh`), pdudaemon.
    pub(super) fn launch_all(&mut self) -> Result<(), Error> {
        let run = self.layout.run.clone();
        let log_sock = self.layout.nsdev().join("log");
        let mut syslog = Command::new("socat");
        syslog
            .arg("-u")
            .arg(format!("UNIX-RECV:{},unlink-early", log_sock.display()))
            .arg(format!(
                "OPEN:{},creat,append",
                run.join("tftpd.log").display()
            ));
        self.launch(syslog, "the tftpd log's socat", "syslog.log", |_| {
            log_sock.exists()
        })?;

        // `-t 0`: after a power-off the old child must stop reading the pty at once, or it
        // eats what the client types next. `unlink-close=0`: children keep the symlink.
        let (tty, sock) = (self.layout.file("ttyBOARD"), self.layout.board_sock());
        let mut line = Command::new("socat");
        line.args(["-d", "-d", "-t", "0"])
            .arg(format!(
                "pty,raw,echo=0,link={},unlink-close=0",
                tty.display()
            ))
            .arg(format!("UNIX-LISTEN:{},fork", sock.display()));
        self.launch(line, "the serial line's socat", "line.log", |_| {
            tty.exists() && sock.exists()
        })?;

        let mut ser2net = Command::new("ser2net");
        ser2net
            .args(["-n", "-d", "-c"])
            .arg(run.join("ser2net.yaml"));
        let port = self.telnet_port;
        self.launch(ser2net, "ser2net", "ser2net.log", |_| listening(port))?;

        let mut tftpd = Command::new("unshare");
        tftpd
            .args([
                "--net",
                "--mount",
                "--propagation",
                "private",
                "--",
                "/bin/sh",
            ])
            .arg(run.join("netns.sh"));
        let what = "tftpd-hpa in the board's network namespace";
        let pid = self.launch(tftpd, what, "tftpd.log", tftpd_listening)?;
        let pid_file = run.join("tftpd.pid");
        std::fs::write(&pid_file, pid.to_string()).map_err(Error::io("write", &pid_file))?;

        let mut pdudaemon = Command::new("pdudaemon");
        pdudaemon.arg("--conf").arg(run.join("pdudaemon.conf"));
        let port = self.pdu_http_port;
        self.launch(pdudaemon, "pdudaemon", "pdudaemon.log", |_| listening(port))?;
        Ok(())
    }

    /// Spawns a daemon marked as ours, in its own process group, keeps it for teardown and
    /// waits until `ready`.
    fn launch(
        &mut self,
        mut cmd: Command,
        what: &str,
        log: &str,
        mut ready: impl FnMut(u32) -> bool,
    ) -> Result<u32, Error> {
        let log = self.layout.file(log);
        cmd.env(layout::MARKER_VAR, &self.layout.run)
            .current_dir(&self.layout.run)
            .process_group(0);
        self.daemons.push(spawn(&mut cmd, &log)?);
        let child = self.daemons.last_mut().expect("just pushed");
        let pid = child.id();
        let took = wait_ready(child, what, &log, || ready(pid))?;
        tracing::debug!(what, ?took, "u-boot board daemon ready");
        Ok(pid)
    }
}

/// Whether tftpd (`pid`) listens on [`SERVER_IP`]:69, in its namespace's `/proc/PID/net/udp`.
fn tftpd_listening(pid: u32) -> bool {
    // The address as the kernel prints it: its bytes in reverse (little-endian), the port.
    let ip: std::net::Ipv4Addr = SERVER_IP.parse().expect("a valid address");
    let [a, b, c, d] = ip.octets();
    let wanted = format!("{d:02X}{c:02X}{b:02X}{a:02X}:0045");
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/udp")).unwrap_or_default();
    table
        .lines()
        .skip(1)
        .any(|line| line.split_whitespace().nth(1) == Some(wanted.as_str()))
}
