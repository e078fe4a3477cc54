//! Stopping a board: every process marked with `LAVA_UBOOT_BOARD=DIR/run` is killed, then the
//! board's files are removed.
//!
//! One shell script does it for all three callers: dropping (or stopping) a board, its
//! watchdog when the owning process died without doing so (a test killed with SIGKILL runs
//! no destructors), and `lava-lab board stop DIR` from another process. The marker finds
//! QEMU started by pdudaemon and tftpd's per-transfer children as well as the daemons. The
//! network namespace, and the mounts inside it, go away with the last of its processes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;
use crate::watchdog::{WAIT_OR_DETACH, Watchdog};

use super::layout::{Layout, MARKER_VAR};

/// `$1` is the run directory (the marker's value), `$2` a temporary board's directory to
/// remove whole, or empty for a board in a directory of the user's: then the board's own
/// entries go, `DIR/tftp` and `DIR` itself only when the flags in `DIR/run` say the board
/// made them (the flags are read before `DIR/run` goes).
///
/// pdudaemon goes first, so no power command starts QEMU again; then every marked process,
/// round after round, until a scan finds none: a process started between a scan and its
/// kill carries the marker too, and nothing without it starts board processes.
const TEARDOWN: &str = r#"
run=$1; whole=$2
marker="LAVA_UBOOT_BOARD=$run"
scan() { grep -lzxF -- "$marker" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3; }
for p in $(scan); do
    grep -qaF pdudaemon "/proc/$p/cmdline" 2>/dev/null && kill -KILL "$p" 2>/dev/null
done
i=0
while pids=$(scan) && [ -n "$pids" ]; do
    if [ "$i" -ge 200 ]; then echo "board processes survive SIGKILL: $pids" >&2; exit 1; fi
    kill -KILL $pids 2>/dev/null
    sleep 0.05
    i=$((i + 1))
done
if [ -n "$whole" ]; then rm -rf -- "$whole"; exit 0; fi
dir=${run%/run}
[ -e "$run/owned-tftp-root" ] && rm -rf -- "$dir/tftp"
owned_dir=; [ -e "$run/owned-dir" ] && owned_dir=1
rm -rf -- "$dir/board.env" "$dir/etc" "$run"
[ -z "$owned_dir" ] || rmdir -- "$dir" 2>/dev/null
exit 0
"#;

/// What stopping the board removes besides its processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Removal {
    /// A temporary board: its whole directory.
    Whole(PathBuf),
    /// A board in a directory of the user's: what the board made there.
    Board,
}

/// `sh -c TEARDOWN` for `layout`, without the marker in its own environment.
fn command(prefix: &str, layout: &Layout, removal: &Removal) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("{prefix}{TEARDOWN}"))
        .arg("lava-board-teardown")
        .arg(&layout.run)
        .arg(match removal {
            Removal::Whole(dir) => dir.as_path(),
            Removal::Board => Path::new(""),
        })
        .env_remove(MARKER_VAR)
        .current_dir("/");
    cmd
}

/// Kills the board's processes and removes its files, now.
pub(crate) fn tear_down(layout: &Layout, removal: &Removal) -> Result<(), Error> {
    crate::command::run(&mut command("", layout, removal), None).map(drop)
}

/// A process that tears the board down when we exit without doing it (our end of its stdin
/// closes, whatever the way we exit), unless told to [`Watchdog::detach`] (`lava-lab board
/// start` lets the board outlive us).
pub(crate) fn watchdog(layout: &Layout, removal: &Removal) -> Result<Watchdog, Error> {
    Watchdog::start(
        command(WAIT_OR_DETACH, layout, removal),
        "/bin/sh -c <board watchdog>",
    )
}

/// Makes the board's watchdog tear down now, and waits until it has.
pub(crate) fn fire(watchdog: Watchdog) -> Result<(), Error> {
    let status = watchdog
        .fire()
        .map_err(Error::io("wait for", "the board watchdog"))?;
    if status.success() {
        return Ok(());
    }
    Err(Error::Command {
        command: "the board watchdog".into(),
        status,
        output: "board processes survived SIGKILL".into(),
    })
}

/// The pids of the processes marked as `layout`'s board, read from `/proc`.
pub(crate) fn board_pids(layout: &Layout) -> Vec<u32> {
    let marker = layout.marker();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == marker.as_bytes()))
        })
        .collect();
    pids.sort_unstable();
    pids
}
