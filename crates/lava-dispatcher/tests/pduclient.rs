//! `pduclient` against a real pdudaemon, and `run_power_command` against real shells.
//!
//! Each test that needs pdudaemon starts its own on a free loopback port, with a
//! `localcmdline` PDU named `pdu` whose commands append `on PORT` / `off PORT` to a log file.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use lava_dispatcher::command::Argv;
use lava_dispatcher::power::{PowerError, run_power_command};

/// A private pdudaemon; killed on drop.
struct Pdudaemon {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
}

impl Pdudaemon {
    fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("lava-pdud-")
            .tempdir()
            .unwrap();
        let [port] = lava_testkit::free_ports().unwrap();
        let log = dir.path().join("power.log");
        let conf = serde_json::json!({
            "daemon": { "hostname": "127.0.0.1", "port": port, "listener": "http",
                        "logging_level": "DEBUG" },
            "pdus": { "pdu": { "driver": "localcmdline",
                               "cmd_on": format!("echo on %s >> {}", log.display()),
                               "cmd_off": format!("echo off %s >> {}", log.display()) } }
        });
        let conf_path = dir.path().join("pdudaemon.conf");
        std::fs::write(&conf_path, conf.to_string()).unwrap();
        let out = std::fs::File::create(dir.path().join("pdudaemon.log")).unwrap();
        let child = Command::new("pdudaemon")
            .arg("--conf")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("pdudaemon is installed (apt-get install pdudaemon)");
        let mut daemon = Self { dir, child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = daemon.child.try_wait().unwrap() {
                panic!("pdudaemon exited ({status}):\n{}", daemon.output());
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "pdudaemon never listened"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        eprintln!("pdudaemon listened after {:?}", started.elapsed());
        daemon
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The lines the PDU's commands wrote.
    fn power_log(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join("power.log")).unwrap_or_default();
        text.lines().map(str::to_owned).collect()
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pdudaemon.log")).unwrap_or_default()
    }
}

impl Drop for Pdudaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pduclient(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pduclient"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn on_off_and_reboot_reach_the_pdu_commands() {
    let pdud = Pdudaemon::start();
    let daemon = pdud.address();
    let base = ["--daemon", &daemon, "--hostname", "pdu", "--port", "05"];
    for (command, extra) in [("on", &[][..]), ("off", &[]), ("reboot", &["--delay", "1"])] {
        let started = Instant::now();
        let out = pduclient(&[&base[..], &["--command", command], extra].concat());
        eprintln!("pduclient {command} took {:?}", started.elapsed());
        assert!(out.status.success(), "{command}: {}", stderr(&out));
        if command == "reboot" {
            assert!(
                started.elapsed() >= Duration::from_secs(1),
                "the reply waits for the delay"
            );
        }
    }
    assert_eq!(
        pdud.power_log(),
        ["on 5", "off 5", "off 5", "on 5"],
        "{}",
        pdud.output()
    );
}

#[test]
fn unknown_pdu_fails_naming_the_url_and_status_500() {
    let pdud = Pdudaemon::start();
    let daemon = pdud.address();
    let out = pduclient(&[
        "--daemon",
        &daemon,
        "--hostname",
        "nosuchpdu",
        "--command",
        "on",
        "--port",
        "5",
    ]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(err.contains("http status 500"), "{err}");
    assert!(err.contains("Invalid request"), "{err}");
    assert!(
        err.contains(&format!(
            "http://{daemon}/power/control/on?hostname=nosuchpdu&port=5"
        )),
        "{err}"
    );
    assert!(pdud.power_log().is_empty());
}

#[test]
fn refused_connection_names_the_daemon_address() {
    // A loopback port nobody listens on.
    let [port] = lava_testkit::free_ports().unwrap();
    let daemon = format!("127.0.0.1:{port}");
    let out = pduclient(&[
        "--daemon",
        &daemon,
        "--hostname",
        "pdu",
        "--command",
        "off",
        "--port",
        "5",
    ]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("cannot connect to pdudaemon at {daemon}")),
        "{err}"
    );
    assert!(err.contains("refused"), "{err}");
}

#[test]
fn help_shows_the_seed_example_and_a_short_timeout_is_refused() {
    let out = pduclient(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        help.contains("--daemon localhost --hostname pdu --command reboot --port 05"),
        "{help}"
    );
    let out = pduclient(&[
        "--daemon",
        "localhost",
        "--hostname",
        "pdu",
        "--command",
        "reboot",
        "--port",
        "5",
        "--delay",
        "10",
        "--timeout",
        "5",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--timeout 5 must exceed --delay 10"),
        "{}",
        stderr(&out)
    );
}

/// A device's power command as the admin writes it; a shell only when asked for.
fn argv(line: &str) -> Argv {
    Argv::from_config("power_on_cmd", line).unwrap()
}

#[tokio::test]
async fn failed_power_command_names_the_command_and_its_output() {
    let command = "sh -c 'echo relay stuck >&2; exit 3'";
    let err = run_power_command(&argv(command), Duration::from_secs(10))
        .await
        .unwrap_err();
    match &err {
        PowerError::Failed {
            command: c,
            status,
            output,
        } => {
            assert_eq!(c, command);
            assert_eq!(status.code(), Some(3));
            assert_eq!(output, "relay stuck");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert!(err.to_string().contains("exit 3"), "{err}");
    run_power_command(&argv("true"), Duration::from_secs(10))
        .await
        .unwrap();
}

#[tokio::test]
async fn power_command_past_its_timeout_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file: PathBuf = dir.path().join("sleep.pid");
    // The sleep is a child of the shell, so only a group kill reaches it.
    let command = format!("sh -c 'sleep 10 & echo $! > {}; wait'", pid_file.display());
    let started = Instant::now();
    let err = run_power_command(&argv(&command), Duration::from_millis(200))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(&err, PowerError::Timeout { command: c, after }
            if *c == command && *after == Duration::from_millis(200)),
        "{err:?}"
    );
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let stat = PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    let deadline = Instant::now() + Duration::from_secs(2);
    // Gone, or a zombie waiting for whoever inherited it: either way no longer running.
    while std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z ")) {
        assert!(
            Instant::now() < deadline,
            "sleep {} survived the timeout",
            pid.trim()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn fake_board_power_commands_run_through_pduclient() {
    let board = lava_testkit::FakeBoard::start().unwrap();
    let pduclient = std::path::Path::new(env!("CARGO_BIN_EXE_pduclient"));
    let timeout = Duration::from_secs(30);
    for command in [
        board.power_on_cmd(pduclient),
        board.power_off_cmd(pduclient),
        board.hard_reset_command(pduclient),
    ] {
        let started = Instant::now();
        run_power_command(&argv(&command), timeout).await.unwrap();
        eprintln!("{command} took {:?}", started.elapsed());
    }
    let log = board.pdu_log();
    let words: Vec<&str> = log.lines().filter_map(|l| l.split(' ').nth(1)).collect();
    assert_eq!(words, ["on", "off", "off", "on"], "{log}");
}
