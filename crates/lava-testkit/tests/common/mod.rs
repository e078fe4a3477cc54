//! Helpers of the U-Boot board tests: what "nothing left behind" means, checked from /proc.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What a board might leave behind, recorded while it runs.
pub struct Traces {
    /// The board's directory.
    pub dir: PathBuf,
    /// `net:[INODE]` of its network namespace.
    pub netns: String,
    /// The host's network interfaces before the board started.
    pub interfaces: BTreeSet<String>,
}

impl Traces {
    /// Fails naming each process, namespace member, interface or file still there.
    pub fn assert_gone(&self) {
        let dir = self.dir.to_string_lossy().into_owned();
        let mut problems = Vec::new();
        for pid in pids() {
            let read = |file: &str| {
                let bytes = std::fs::read(format!("/proc/{pid}/{file}")).unwrap_or_default();
                String::from_utf8_lossy(&bytes).replace('\0', " ")
            };
            let (cmdline, environ) = (read("cmdline"), read("environ"));
            if cmdline.contains(&dir) || environ.contains(&dir) {
                problems.push(format!("process {pid} of the board runs: {cmdline}"));
            }
            let ns = std::fs::read_link(format!("/proc/{pid}/ns/net"))
                .map(|l| l.display().to_string())
                .unwrap_or_default();
            // A namespace's inode number may be reused by another board's namespace, made by
            // a test running in parallel: its processes carry that board's marker.
            let other_board = environ.contains("LAVA_UBOOT_BOARD=") && !environ.contains(&dir);
            if ns == self.netns && !other_board {
                problems.push(format!("process {pid} is in {}: {cmdline}", self.netns));
            }
        }
        let now = interfaces();
        if now != self.interfaces {
            problems.push(format!(
                "host interfaces changed: {:?} before, {now:?} after",
                self.interfaces
            ));
        }
        if self.dir.exists() {
            problems.push(format!("{} was not removed", self.dir.display()));
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

/// The pids in /proc (zombies only wait to be reaped and hold nothing: left out).
fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
            })
        })
        .collect()
}

/// The host's network interfaces (`/sys/class/net`).
pub fn interfaces() -> BTreeSet<String> {
    std::fs::read_dir("/sys/class/net")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect()
}

/// `KEY='value'` lines of `board.env`, read back through `sh` as a job writer would.
pub fn source_env(path: &Path, names: &[&str]) -> Vec<String> {
    let script = names
        .iter()
        .map(|n| format!("printf '%s\\n' \"${n}\""))
        .collect::<Vec<_>>()
        .join("; ");
    lava_testkit::stdout_of(
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(". \"$1\" && {script}"))
            .arg("sh")
            .arg(path),
    )
    .unwrap()
    .lines()
    .map(str::to_owned)
    .collect()
}

/// The processes marked as the board in `dir` (`LAVA_UBOOT_BOARD=DIR/run`).
pub fn marked(dir: &Path) -> Vec<u32> {
    let marker = format!("LAVA_UBOOT_BOARD={}/run", dir.display());
    pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == marker.as_bytes()))
        })
        .collect()
}

/// Polls `done` every 50 ms for up to `secs` seconds; whether it became true.
pub fn wait_until(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    done()
}
