//! The soak's daemons: the real `lava-server web`, `lava-server scheduler` and `lava-dispatcher
//! worker` binaries, each one process of ours that can be killed hard and started again, with
//! its peak resident memory (`VmHWM`) kept over every incarnation. Each incarnation leads a
//! process group of its own, so stopping a daemon also ends what it started (a worker's
//! `lava-dispatch` processes), and a terminal's Ctrl-C reaches the soak alone, which stops
//! its lab in order.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How long a daemon may take to stop on SIGTERM before it gets SIGKILL.
const STOP_WAIT: Duration = Duration::from_secs(20);

/// One daemon: how to start it, the running process and its peak memory so far.
pub struct Daemon {
    /// Its name in the report (`web`, `scheduler`, `worker-0`, …).
    pub name: String,
    make: Box<dyn Fn() -> Command>,
    log: PathBuf,
    child: Option<Child>,
    /// The process groups of every incarnation (one each, led by it), ended with the daemon.
    groups: Vec<Pid>,
    /// The largest `VmHWM` seen in any incarnation, in KiB.
    peak_kib: u64,
    /// How many times it was killed and started again.
    pub restarts: u32,
}

/// A process's peak resident set size (`VmHWM` of `/proc/PID/status`), in KiB.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

impl Daemon {
    /// Starts the daemon `make` builds, its output appended to `log`.
    pub fn start(
        name: &str,
        log: &Path,
        make: impl Fn() -> Command + 'static,
    ) -> anyhow::Result<Daemon> {
        let mut d = Daemon {
            name: name.to_string(),
            make: Box::new(make),
            log: log.to_path_buf(),
            child: None,
            groups: Vec::new(),
            peak_kib: 0,
            restarts: 0,
        };
        d.spawn()?;
        Ok(d)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("cannot open {}", self.log.display()))?;
        let err = out.try_clone()?;
        let mut cmd = (self.make)();
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}: {cmd:?}", self.name))?;
        if let Ok(pid) = i32::try_from(child.id()) {
            self.groups.push(Pid::from_raw(pid));
        }
        self.child = Some(child);
        Ok(())
    }

    /// Notes the current incarnation's peak memory.
    pub fn sample(&mut self) {
        if let Some(kib) = self.child.as_ref().and_then(|c| vm_hwm_kib(c.id())) {
            self.peak_kib = self.peak_kib.max(kib);
        }
    }

    /// The peak resident memory over every incarnation, in KiB.
    pub fn peak_kib(&self) -> u64 {
        self.peak_kib
    }

    /// Fails naming the daemon and its log's end when it has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(c) = self.child.as_mut()
            && let Some(status) = c.try_wait()?
        {
            bail!(
                "{} exited ({status}); the end of {}:\n{}",
                self.name,
                self.log.display(),
                tail(&self.log)
            );
        }
        Ok(())
    }

    /// SIGKILL, as a crash or an OOM kill would end it, then a fresh start after `pause`.
    pub fn crash_and_restart(&mut self, pause: Duration) -> anyhow::Result<()> {
        self.sample();
        if let Some(mut c) = self.child.take() {
            c.kill()?;
            c.wait()?;
        }
        std::thread::sleep(pause);
        self.restarts += 1;
        self.spawn()
    }

    /// SIGTERM to its process group, then SIGKILL after [`STOP_WAIT`]; waits for the process,
    /// then kills what is left of each of its incarnations' groups (a crashed incarnation's
    /// `lava-dispatch`, or one its daemon did not stop).
    pub fn stop(&mut self) {
        self.sample();
        if let Some(mut c) = self.child.take() {
            if let Some(group) = self.groups.last() {
                let _ = killpg(*group, Signal::SIGTERM);
            }
            let deadline = Instant::now() + STOP_WAIT;
            let mut stopped = false;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    stopped = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if !stopped {
                eprintln!("{} did not stop on SIGTERM: killed", self.name);
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        for group in self.groups.drain(..) {
            let _ = killpg(group, Signal::SIGKILL);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last lines of a daemon's log, for an error message.
pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// A free TCP port on loopback.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Runs `cmd` to its end and returns its standard output; fails naming it and its stderr.
pub fn output(mut cmd: Command) -> anyhow::Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
