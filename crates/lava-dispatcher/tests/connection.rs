//! The console engine against real processes under a pseudo-terminal.

use std::time::Duration;

use lava_dispatcher::command::Argv;
use lava_dispatcher::connection::{Connection, ConnectionError};
use lava_dispatcher::joblog::JobLog;
use regex::bytes::Regex;

fn re(s: &str) -> Regex {
    Regex::new(s).unwrap()
}

fn setup() -> (tempfile::TempDir, JobLog) {
    let dir = tempfile::tempdir().unwrap();
    let log = JobLog::create(&dir.path().join("output.yaml"), false).unwrap();
    (dir, log)
}

fn messages(log: &JobLog, lvl: &str) -> Vec<String> {
    log.flush().unwrap();
    std::fs::read_to_string(log.path())
        .unwrap()
        .lines()
        .map(|l| lava_common::log::parse_line(l).unwrap())
        .filter(|l| l.lvl.as_str() == lvl)
        .map(|l| match l.msg {
            lava_common::log::Message::Text(t) => t,
            other => panic!("{other:?}"),
        })
        .collect()
}

fn script(dir: &tempfile::TempDir, body: &str) -> Argv {
    let path = dir.path().join("device.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    Argv::from_words(vec!["/bin/sh".into(), path.display().to_string()]).unwrap()
}

/// Whether any process of the group is still running (zombies waiting to be reaped by
/// whoever inherited them do not count), after giving SIGKILL up to 2 s to land.
fn group_alive(pgid: i32) -> bool {
    for _ in 0..20 {
        let out = std::process::Command::new("ps")
            .args(["-o", "stat=", "-g", &pgid.to_string()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !text.lines().any(|s| !s.trim().starts_with('Z')) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    true
}

#[tokio::test]
async fn login_dialogue_is_logged_both_ways() {
    let (dir, log) = setup();
    let cmd = script(
        &dir,
        "echo 'U-Boot 2023.01'; printf 'login: '; read u; echo \"welcome $u\"; sleep 30",
    );
    let mut c = Connection::spawn(&cmd, &log).unwrap();
    let m = c
        .expect(&[re("nope"), re("login: ")], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(m.index, 1);
    assert!(m.before.contains("U-Boot 2023.01"), "{m:?}");
    c.sendline("root").await.unwrap();
    c.expect(&[re(r"welcome \w+")], Duration::from_secs(5))
        .await
        .unwrap();
    c.close().await;
    let target = messages(&log, "target");
    assert!(target.contains(&"U-Boot 2023.01".to_string()), "{target:?}");
    assert!(
        target.iter().any(|l| l.starts_with("login: ")),
        "{target:?}"
    );
    assert!(
        target.iter().any(|l| l.contains("welcome root")),
        "{target:?}"
    );
    assert_eq!(messages(&log, "input"), ["root\n"]);
}

#[tokio::test]
async fn a_silent_device_times_out_with_its_last_output() {
    let (dir, log) = setup();
    let cmd = script(&dir, "printf 'Hit any key'; sleep 30");
    let mut c = Connection::spawn(&cmd, &log).unwrap();
    let err = c
        .expect(&[re("=> ")], Duration::from_millis(300))
        .await
        .unwrap_err();
    match &err {
        ConnectionError::Timeout { tail, patterns, .. } => {
            assert_eq!(tail, "Hit any key");
            assert_eq!(patterns, "'=> '");
        }
        other => panic!("{other}"),
    }
    c.close().await;
}

#[tokio::test]
async fn a_connection_that_exits_is_reported_at_once() {
    let (dir, log) = setup();
    let cmd = script(
        &dir,
        "echo 'telnet: Unable to connect to remote host: Connection refused'; exit 1",
    );
    let mut c = Connection::spawn(&cmd, &log).unwrap();
    let started = std::time::Instant::now();
    let err = c
        .expect(&[re("login:")], Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    match err {
        ConnectionError::Closed { tail, .. } => {
            assert!(tail.contains("Connection refused"), "{tail}")
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn close_kills_the_whole_process_group() {
    let (dir, log) = setup();
    let cmd = script(&dir, "sleep 100 & sleep 100 & echo started; wait");
    let mut c = Connection::spawn(&cmd, &log).unwrap();
    c.expect(&[re("started")], Duration::from_secs(5))
        .await
        .unwrap();
    let pgid = c.pgid().unwrap();
    assert!(group_alive(pgid));
    c.close().await;
    assert!(!group_alive(pgid), "children of the connection survived");
}

#[tokio::test]
async fn character_delay_and_line_end() {
    let (dir, log) = setup();
    let cmd = script(
        &dir,
        "stty -echo; read line; printf 'got[%s]\\n' \"$line\"; sleep 30",
    );
    let mut c = Connection::spawn(&cmd, &log).unwrap();
    c.set_char_delay(Duration::from_millis(5));
    c.set_line_end("\r");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    c.sendline("boot").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(25),
        "5 characters, 5 ms apart"
    );
    c.expect(&[re(r"got\[boot\]")], Duration::from_secs(5))
        .await
        .unwrap();
    c.close().await;
}

#[tokio::test]
async fn output_between_expects_is_still_logged_and_bounded() {
    let (dir, log) = setup();
    // 4 MB of output with nobody waiting: the reader keeps draining and logging.
    let cmd = script(
        &dir,
        "i=0; while [ $i -lt 40000 ]; do echo \"line $i padding-padding-padding-padding-padding-padding-padding-padding-padding\"; i=$((i+1)); done; echo done; sleep 30",
    );
    let mut c = Connection::spawn(&cmd, &log).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.expect(&[re("done")], Duration::from_secs(60))
        .await
        .unwrap();
    c.close().await;
    let target = messages(&log, "target");
    assert!(target.iter().any(|l| l.starts_with("line 0 ")));
    assert!(target.iter().any(|l| l.starts_with("line 39999 ")));
    assert_eq!(
        target.iter().filter(|l| l.starts_with("line ")).count(),
        40000
    );
}
