//! The fake board through real ser2net and pdudaemon, driven the way LAVA drives a device:
//! connect to the console first, then power on, then interrupt U-Boot, boot and log in.

use std::path::Path;
use std::time::{Duration, Instant};

use lava_testkit::{FakeBoard, TelnetConsole};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Every wait has its own timeout: a silent or powered-off board is never reported.
const WAIT: Duration = Duration::from_secs(15);

/// Waits for `needle` on the console; a timeout or a closed console fails the test, quoting
/// what the board printed.
fn wait(console: &mut TelnetConsole, needle: &str) {
    if let Err(e) = console.expect(needle, WAIT) {
        panic!("{e}");
    }
}

/// One pdudaemon request, as `curl` would make it; returns the status code.
async fn pdu(board: &FakeBoard, command: &str, extra: &str) -> u16 {
    let path = format!("/power/control/{command}?hostname=pdu&port=5{extra}");
    let request = async {
        let mut stream = TcpStream::connect(board.pdu_daemon()).await.unwrap();
        let head = format!(
            "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n",
            board.pdu_daemon()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        reply
    };
    let reply = tokio::time::timeout(WAIT, request)
        .await
        .expect("pdudaemon replies");
    reply.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn boots_to_a_shell_over_telnet_and_leaves_nothing_behind() {
    let started = Instant::now();
    let board = FakeBoard::start().unwrap();
    eprintln!("lab started in {:?}", started.elapsed());
    assert_eq!(board.pdu_log(), "", "the board starts powered off");

    let mut console = TelnetConsole::connect(board.telnet_port()).unwrap();
    wait(&mut console, "ser2net port");
    let powered = Instant::now();
    assert_eq!(pdu(&board, "on", "").await, 200);
    wait(&mut console, "U-Boot 2023.01 (fake-board)");
    wait(&mut console, "Hit any key to stop autoboot");
    eprintln!("countdown {:?} after power on", powered.elapsed());
    console.send(" ").unwrap();
    wait(&mut console, "=> ");
    console.send("boot\r").unwrap();
    wait(&mut console, "Starting kernel ...");
    wait(&mut console, "fakeboard login: ");
    console.send("root\r").unwrap();
    wait(&mut console, "root@fakeboard:~# ");
    console.send("echo hello\r").unwrap();
    wait(&mut console, "\nhello\r\n");
    eprintln!("shell answered {:?} after power on", powered.elapsed());

    // A reboot cuts the board off and starts a new one on the same connection.
    let rebooting = Instant::now();
    assert_eq!(pdu(&board, "reboot", "&delay=1").await, 200);
    wait(&mut console, "U-Boot 2023.01 (fake-board)");
    eprintln!(
        "new banner {:?} after the reboot request",
        rebooting.elapsed()
    );

    assert_eq!(pdu(&board, "off", "").await, 200);
    let log = board.pdu_log();
    let words: Vec<&str> = log.lines().filter_map(|l| l.split(' ').nth(1)).collect();
    assert_eq!(words, ["on", "off", "on", "off"], "{log}");
    assert!(log.lines().all(|l| l.ends_with(" port=5")), "{log}");

    // Teardown while the board runs: the hard case, with a socat and a shell outside our tree.
    assert_eq!(pdu(&board, "on", "").await, 200);
    // The old board's countdown may still be unread: wait for the new banner first.
    wait(&mut console, "U-Boot 2023.01 (fake-board)");
    wait(&mut console, "Hit any key to stop autoboot");
    let pids = board.pids();
    assert_eq!(
        pids.len(),
        5,
        "line, ser2net, pdudaemon, board socat and shell: {pids:?}"
    );
    let dir = board.dir().to_owned();
    let ports = [board.telnet_port(), pdu_port(&board)];
    drop(board);
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "pid {pid} survived: {stat}"
        );
    }
    for port in ports {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).await.is_err(),
            "{port} still open"
        );
    }
    let mentions_dir = |pid: &str| {
        ["cmdline", "environ"].iter().any(|file| {
            let bytes = std::fs::read(format!("/proc/{pid}/{file}")).unwrap_or_default();
            String::from_utf8_lossy(&bytes).contains(&*dir.to_string_lossy())
        })
    };
    let leftovers: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()) && mentions_dir(name))
        .collect();
    assert!(
        leftovers.is_empty(),
        "processes of the lab survived: {leftovers:?}"
    );
    assert!(!dir.exists(), "{} was not removed", dir.display());
}

fn pdu_port(board: &FakeBoard) -> u16 {
    board
        .pdu_daemon()
        .rsplit_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap()
}

#[test]
fn device_conf_uses_the_lab_ports_and_the_given_pduclient() {
    let board = FakeBoard::start().unwrap();
    let pduclient = Path::new("/opt/lava/pduclient");
    let daemon = board.pdu_daemon();
    let conf = board.device_conf("fake01", "fake-board", pduclient);
    let expected = format!(
        "hostname = fake01\n\
         device_type = fake-board\n\
         connection_command = telnet 127.0.0.1 {port}\n\
         hard_reset_command = /opt/lava/pduclient --daemon {daemon} --hostname pdu --command reboot --port 5 --delay 1\n\
         power_off_cmd = /opt/lava/pduclient --daemon {daemon} --hostname pdu --command off --port 5\n\
         power_on_cmd = /opt/lava/pduclient --daemon {daemon} --hostname pdu --command on --port 5\n",
        port = board.telnet_port()
    );
    assert_eq!(conf, expected);
    assert_eq!(
        board.connection_command(),
        format!("telnet 127.0.0.1 {}", board.telnet_port())
    );
}
