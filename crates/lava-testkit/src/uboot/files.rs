//! The board's scripts and daemon configuration in `DIR/run`, generated with the board's
//! paths and ports filled in (the paths were checked to need no quoting).

use std::path::Path;

use crate::Error;
use crate::board::scripts::{write, write_daemon_confs};
use crate::command::quote_if_needed;

use super::layout::Layout;
use super::{SERVER_IP, qemu};

/// What pdudaemon's `localcmdline` PDU runs: `power.sh on|off PORT`.
///
/// "on" starts QEMU in the board's network namespace (the one tftpd-hpa runs in; `tftpd.pid`
/// names it), its serial port plugged into the line's socat through `board.sock`, after
/// flushing what earlier boots left in the pty (a pty replays it to the next client). "off"
/// kills QEMU, as pulling the plug would, and waits until it is gone so that an "on" right
/// after it starts a new one. pdudaemon ignores the exit status, so problems go to
/// `pdu.log`. While `dead-boots` holds a count above 0, "on" leaves the board dead (nothing
/// on the console, as a board that does not come up) and counts down.
const POWER_SH: &str = r#"#!/bin/sh
# power.sh on|off PORT: what pdudaemon's localcmdline PDU runs for the U-Boot QEMU board
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
echo "$(date +%T.%N) $1 port=$2" >> "$R/pdu.log"
exec 2>>"$R/pdu.log"
running() {  # QEMU of this board runs (not a zombie); sets $p
    p=$(cat "$R/qemu.pid" 2>/dev/null) && [ -n "$p" ] &&
        grep -qaF "$R/" "/proc/$p/cmdline" 2>/dev/null &&
        ! sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | grep -q '^[ZX]'
}
case "$1" in
off)
    if running; then
        kill -KILL "$p"
        i=0
        while running && [ "$i" -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    fi
    rm -f "$R/qemu.pid" ;;
on)
    running && exit 0  # already on
    # a fault on request (run/dead-boots holds how many power-ons leave the board dead)
    n=$(cat "$R/dead-boots" 2>/dev/null || echo 0)
    if [ "$n" -gt 0 ] 2>/dev/null; then
        echo "$((n - 1))" > "$R/dead-boots"
        echo "$(date +%T.%N) fault: the board stays dead ($((n - 1)) more)" >> "$R/pdu.log"
        exit 0
    fi
    # throw away console output left in the pty by boots nobody was connected to
    /usr/bin/python3 -c 'import os,sys,termios; termios.tcflush(os.open(sys.argv[1],
      os.O_RDWR|os.O_NOCTTY|os.O_NONBLOCK), termios.TCIFLUSH)' "$R/ttyBOARD"
    ns=$(cat "$R/tftpd.pid" 2>/dev/null)
    if [ -z "$ns" ] || ! grep -qaF "$R" "/proc/$ns/environ" 2>/dev/null; then
        echo "power.sh: the board's network namespace is gone (tftpd pid '$ns')"; exit 1
    fi
    nsenter --net="/proc/$ns/ns/net" -- QEMU_COMMAND >>"$R/qemu.log" 2>&1 </dev/null ;;
*) echo "power.sh: unknown command '$1' (on, off)"; exit 2 ;;
esac
"#;

/// The first process of the board's network and mount namespaces (`unshare --net --mount`),
/// which becomes tftpd-hpa.
///
/// QEMU's user-mode network NATs what the board sends beyond 10.0.2.0/24 into this
/// namespace, where the server address sits on `lo`. It cannot be slirp's own 10.0.2.2:
/// slirp answers TFTP requests to that address itself ("Access violation" without its
/// `tftp=` option). tftpd-hpa logs only to syslog, so `/dev` here is `run/nsdev`, whose `log`
/// is a socket read by a socat into `tftpd.log`; the mounts vanish with the namespace.
const NETNS_SH: &str = r#"#!/bin/sh
# netns.sh: becomes tftpd-hpa inside the board's own network and mount namespaces
set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
ip link set lo up
ip addr add "$SERVER_IP/32" dev lo
mount --bind /dev/null "$R/nsdev/null"
mount --rbind "$R/nsdev" /dev
exec in.tftpd --foreground --verbose --verbose --secure --user tftp \
    --address "$SERVER_IP:69" "$TFTP_ROOT"
"#;

/// Writes `power.sh`, `netns.sh`, `ser2net.yaml` and `pdudaemon.conf` into `DIR/run`, and
/// prepares `run/nsdev`.
pub(crate) fn write_run_files(
    layout: &Layout,
    tftp_root: &Path,
    telnet_port: u16,
    pdu_http_port: u16,
    dead_boots: u32,
) -> Result<(), Error> {
    let run = &layout.run;
    let qemu: Vec<String> = std::iter::once(qemu::QEMU_BINARY.to_owned())
        .chain(qemu::board_args(
            &layout.board_sock(),
            &layout.file("qemu.pid"),
        ))
        .map(|word| quote_if_needed(&word))
        .collect();
    let header = |script: &str, vars: &[(&str, &str)]| {
        let mut defs: String = vars.iter().map(|(k, v)| format!("{k}='{v}'\n")).collect();
        defs.insert(0, '\n');
        script.replacen('\n', &defs, 1)
    };
    let r = run.display().to_string();
    let power = header(POWER_SH, &[("R", &r)]).replace("QEMU_COMMAND", &qemu.join(" "));
    write(run, "power.sh", &power, 0o755)?;
    let root = tftp_root.display().to_string();
    let netns = header(
        NETNS_SH,
        &[("R", &r), ("SERVER_IP", SERVER_IP), ("TFTP_ROOT", &root)],
    );
    write(run, "netns.sh", &netns, 0o755)?;
    write_daemon_confs(run, telnet_port, pdu_http_port)?;
    write(run, "dead-boots", &format!("{dead_boots}\n"), 0o644)?;
    let nsdev = layout.nsdev();
    std::fs::create_dir_all(&nsdev).map_err(Error::io("create directory", &nsdev))?;
    write(&nsdev, "null", "", 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_name_the_board_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let layout = Layout::new(&root).unwrap();
        std::fs::create_dir(&layout.run).unwrap();
        write_run_files(&layout, &root.join("tftp"), 17001, 17002, 2).unwrap();
        let power = std::fs::read_to_string(layout.file("power.sh")).unwrap();
        let r = layout.run.display();
        assert!(
            power.starts_with(&format!("#!/bin/sh\nR='{r}'\n")),
            "{power}"
        );
        assert!(power.contains("-- qemu-system-aarch64 -machine virt -cpu cortex-a57 -accel tcg"));
        assert!(power.contains(&format!("socket,id=console,path={r}/board.sock")));
        assert!(!power.contains("QEMU_COMMAND"));
        let netns = std::fs::read_to_string(layout.file("netns.sh")).unwrap();
        assert!(netns.contains("SERVER_IP='192.0.2.1'\n"), "{netns}");
        assert!(netns.contains(&format!("TFTP_ROOT='{}/tftp'\n", root.display())));
        let pdu = std::fs::read_to_string(layout.file("pdudaemon.conf")).unwrap();
        assert!(
            pdu.contains(&format!("\"cmd_on\": \"{r}/power.sh on %s\"")),
            "{pdu}"
        );
        assert!(pdu.contains("\"port\": 17002"));
        let ser2net = std::fs::read_to_string(layout.file("ser2net.yaml")).unwrap();
        assert!(ser2net.contains("tcp,127.0.0.1,17001"));
        assert!(layout.nsdev().join("null").is_file());
        let dead = std::fs::read_to_string(layout.file("dead-boots")).unwrap();
        assert_eq!(dead, "2\n");
    }
}
