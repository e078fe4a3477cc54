//! The files of the fake board's lab: board script, power script, ser2net and pdudaemon
//! configuration (lab-recipes.md §1 and §2, with the lab directory and ports filled in).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::Error;

/// The board: a U-Boot-like banner, a 3 s autoboot countdown, a `=> ` prompt whose `boot`
/// command prints a kernel banner and a login prompt, and after `root` a real `/bin/sh` in a
/// root of its own (bubblewrap: a tmpfs with the host's `/usr` read-only), so the jobs' test
/// shells write nothing of the host's.
///
/// It records its pid (the leader of its session and process group, thanks to socat's
/// `setsid`) so teardown can kill the board's shell and whatever the shell started.
const BOARD_SH: &str = r#"#!/bin/bash
# fake board: U-Boot-like banner, 3 s autoboot countdown, "=> " prompt, boot -> login: -> sh
echo $$ > "$D/board.pid"
echo; echo "U-Boot 2023.01 (fake-board) $(date -u +%T)"; echo "DRAM:  1 GiB"
stop=
for n in 3 2 1; do
  printf 'Hit any key to stop autoboot: %d \r' "$n"
  if read -r -s -n 1 -t 1 _; then stop=1; break; fi
done
echo
while [ -n "$stop" ]; do
  printf '=> '; IFS= read -r cmd || exit 0
  case "$cmd" in
    boot) break ;;
    '') ;;
    version) echo "U-Boot 2023.01 (fake-board)" ;;
    *) echo "Unknown command '${cmd%% *}' - try 'help'" ;;
  esac
done
echo "Starting kernel ..."; echo
echo "[    0.000000] Linux version 6.1.0-fake (root@fake) #1 SMP PREEMPT_DYNAMIC"
echo; echo "Debian GNU/Linux 12 fakeboard ttyS0"; echo
until printf 'fakeboard login: '; IFS= read -r user || exit 0; [ "$user" = root ]; do
  echo "Login incorrect"; done
# The board's own root: a tmpfs with the host's /usr read-only (bubblewrap, as the dummy
# device type does), so what a job does there (its overlay in /lava-ID) never touches the
# host's files.
exec bwrap --die-with-parent --unshare-pid --unshare-ipc --unshare-uts --cap-drop ALL \
  --clearenv --setenv PATH /usr/sbin:/usr/bin:/sbin:/bin --setenv HOME /root \
  --setenv PS1 'root@fakeboard:~# ' \
  --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib \
  --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin \
  --proc /proc --dev /dev --tmpfs /tmp --dir /root --chdir /tmp /bin/sh +m -i
"#;

/// What pdudaemon's `localcmdline` PDU runs: `power.sh on|off PORT`.
///
/// `on` flushes the pty first, because a pty keeps (and replays at the next connect) whatever
/// boots printed while nobody was connected; `/usr/bin/python3`, not a pyenv one from PATH.
const POWER_SH: &str = r#"#!/bin/sh
# power.sh on|off [port]: what the localcmdline PDU runs
echo "$(date +%T.%N) $1 port=$2" >> "$D/pdu.log"
case "$1" in
off) [ -s "$D/boot.pid" ] && kill "$(cat "$D/boot.pid")" 2>/dev/null; rm -f "$D/boot.pid" ;;
on)  [ -s "$D/boot.pid" ] && kill -0 "$(cat "$D/boot.pid")" 2>/dev/null && exit 0  # already on
     # throw away console output left in the pty by boots nobody was connected to
     /usr/bin/python3 -c 'import os,sys,termios; termios.tcflush(os.open(sys.argv[1],
       os.O_RDWR|os.O_NOCTTY|os.O_NONBLOCK), termios.TCIFLUSH)' "$D/ttyBOARD"
     # FAKE_BOARD_DIR marks the board's processes (in /proc/PID/environ) as this lab's
     FAKE_BOARD_DIR="$D" socat UNIX-CONNECT:"$D/board.sock" EXEC:"$D/board.sh",pty,setsid,ctty,stderr \
       >>"$D/boot.log" 2>&1 </dev/null &
     echo $! > "$D/boot.pid" ;;
esac
"#;

/// Writes `board.sh`, `power.sh`, `ser2net.yaml` and `pdudaemon.conf` into `dir`.
pub(crate) fn write_lab(dir: &Path, telnet_port: u16, pdu_http_port: u16) -> Result<(), Error> {
    let d = dir.display().to_string();
    // The scripts are generated with their directory, so they need no environment.
    let with_dir = |script: &str| script.replacen('\n', &format!("\nD='{d}'\n"), 1);
    write(dir, "board.sh", &with_dir(BOARD_SH), 0o755)?;
    write(dir, "power.sh", &with_dir(POWER_SH), 0o755)?;
    write_daemon_confs(dir, telnet_port, pdu_http_port)
}

/// Writes `ser2net.yaml` (the console on `telnet_port`) and `pdudaemon.conf` (its HTTP
/// listener on `pdu_http_port`) into `dir`: the two daemons every fake board's lab runs.
pub(crate) fn write_daemon_confs(
    dir: &Path,
    telnet_port: u16,
    pdu_http_port: u16,
) -> Result<(), Error> {
    write(dir, "ser2net.yaml", &ser2net_yaml(dir, telnet_port), 0o644)?;
    write(
        dir,
        "pdudaemon.conf",
        &pdudaemon_conf(dir, pdu_http_port),
        0o644,
    )
}

/// One telnet connection (`kickolduser`, with the banner) on `127.0.0.1:port`.
fn ser2net_yaml(dir: &Path, port: u16) -> String {
    format!(
        "%YAML 1.1\n---\nconnection: &board01\n  \
         accepter: telnet(rfc2217),tcp,127.0.0.1,{port}\n  \
         connector: serialdev,{tty},115200n81,local\n  \
         options:\n    kickolduser: true\n    \
         banner: '\\r\\nser2net port \\p device \\d [\\B]\\r\\n\\r\\n'\n",
        tty = dir.join("ttyBOARD").display()
    )
}

/// pdudaemon over HTTP on `127.0.0.1:port`, with the `localcmdline` PDU `pdu`.
///
/// `cmd_on`/`cmd_off` are `%`-formatted with the port by pdudaemon: each needs one `%s`.
fn pdudaemon_conf(dir: &Path, port: u16) -> String {
    let power = dir
        .join("power.sh")
        .display()
        .to_string()
        .replace('%', "%%");
    format!(
        r#"{{ "daemon": {{ "hostname": "127.0.0.1", "port": {port}, "listener": "http", "logging_level": "DEBUG" }},
  "pdus": {{ "{pdu}": {{ "driver": "localcmdline",
                     "cmd_on": "{power} on %s", "cmd_off": "{power} off %s" }} }} }}
"#,
        pdu = super::PDU_HOSTNAME,
    )
}

pub(crate) fn write(dir: &Path, name: &str, text: &str, mode: u32) -> Result<(), Error> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(Error::io("write", &path))?;
    std::fs::set_permissions(&path, PermissionsExt::from_mode(mode))
        .map_err(Error::io("chmod", &path))
}
