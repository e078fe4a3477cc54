//! `lava-lab board start|stop|run DIR`: what it writes, what it refuses, and that nothing is
//! left once it is stopped, by `stop`, by a signal, or by the watchdog after a SIGKILL.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use lava_common::conf::DeviceConfig;
use lava_testkit::{DEVICE_TYPE_CONF, DEVICE_TYPE_TEMPLATE, SERVER_IP, built_pduclient};

use common::{marked, source_env, wait_until};

fn lava_lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lava-lab"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn pduclient() -> String {
    built_pduclient().unwrap().display().to_string()
}

/// A directory that does not exist yet, in a temporary one.
fn new_dir(parent: &tempfile::TempDir) -> PathBuf {
    parent.path().canonicalize().unwrap().join("board")
}

#[test]
fn start_writes_the_device_and_board_env_and_stop_removes_everything() {
    let parent = tempfile::tempdir().unwrap();
    let dir = new_dir(&parent);
    let d = dir.to_str().unwrap();
    let out = lava_lab(&["board", "start", d, "--pduclient", &pduclient()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let conf = PathBuf::from(text(&out.stdout).trim());
    assert_eq!(conf, dir.join("etc/devices/uboot-qemu01.conf"));
    assert!(!marked(&dir).is_empty(), "no board process runs");

    let names = [
        "DEVICE_CONF",
        "DEVICE_TYPE",
        "KERNEL_URL",
        "KERNEL_TYPE",
        "RAMDISK_URL",
        "DTB_URL",
        "TFTP_ROOT",
        "SERVER_IP",
        "SHELL_PROMPT",
    ];
    let env = source_env(&dir.join("board.env"), &names);
    assert_eq!(env[0], conf.display().to_string());
    assert_eq!(env[1], "uboot-qemu");
    assert_eq!(env[3], "image");
    for url in [&env[2], &env[4], &env[5]] {
        let path = url.strip_prefix("file://").expect("a file:// URL");
        assert!(Path::new(path).is_file(), "{url}");
    }
    assert_eq!(env[6], dir.join("tftp").display().to_string());
    assert!(dir.join("tftp").is_dir());
    assert_eq!(env[7], SERVER_IP);
    assert_eq!(env[8], "root@lava-arm64:~#");

    // The dispatcher's own loader reads the device on its type next to it.
    let device = DeviceConfig::load_file(&dir.join("etc"), &conf).unwrap();
    assert_eq!(device.get("server_ip").unwrap().unwrap(), SERVER_IP);
    assert_eq!(device.get("tftp_root").unwrap().unwrap(), env[6]);
    assert_eq!(device.get("client_type").unwrap().unwrap(), "bootloader");
    let on = device.get("power_on_cmd").unwrap().unwrap();
    assert!(
        on.starts_with(&format!("{} --daemon 127.0.0.1:", pduclient())),
        "{on}"
    );
    let types = std::fs::read_to_string(dir.join("etc/device-types/uboot-qemu.conf")).unwrap();
    assert_eq!(types, DEVICE_TYPE_CONF);
    // The same board as a LAVA 2023 device dictionary over its type template, where LAVA
    // keeps them.
    let lava = dir.join("etc/lava-server/dispatcher-config");
    let dictionary = source_env(&dir.join("board.env"), &["DEVICE_DICTIONARY"]);
    assert_eq!(
        dictionary[0],
        lava.join("devices/uboot-qemu01.jinja2")
            .display()
            .to_string()
    );
    let written = std::fs::read_to_string(&dictionary[0]).unwrap();
    assert!(
        written.contains("{% extends 'uboot-qemu.jinja2' %}"),
        "{written}"
    );
    assert!(
        written.contains(&format!("dispatcher_ip: {SERVER_IP}")),
        "{written}"
    );
    assert!(written.contains(&on), "{written}");
    let template = std::fs::read_to_string(lava.join("device-types/uboot-qemu.jinja2")).unwrap();
    assert_eq!(template, DEVICE_TYPE_TEMPLATE);

    // A second board in the same directory is refused; the first one keeps running.
    let again = lava_lab(&["board", "start", d, "--pduclient", &pduclient()]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("a board runs in"),
        "{}",
        text(&again.stderr)
    );
    assert!(!marked(&dir).is_empty());

    let stop = lava_lab(&["board", "stop", d]);
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    assert!(text(&stop.stderr).contains("stopped the board in"));
    assert_eq!(marked(&dir), Vec::<u32>::new());
    assert!(!dir.exists(), "the board made {d} and must remove it");
    let twice = lava_lab(&["board", "stop", d]);
    assert!(twice.status.success(), "{}", text(&twice.stderr));
    assert!(
        text(&twice.stderr).contains("no board in"),
        "{}",
        text(&twice.stderr)
    );
}

#[test]
fn run_stops_on_sigterm_and_the_watchdog_cleans_up_after_sigkill() {
    let parent = tempfile::tempdir().unwrap();
    // A TFTP root of the user's stays, with what is in it.
    let root = parent.path().canonicalize().unwrap().join("srv-tftp");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("keep.txt"), "mine").unwrap();
    for signal in ["-TERM", "-KILL"] {
        let dir = new_dir(&parent);
        let mut child = Command::new(env!("CARGO_BIN_EXE_lava-lab"))
            .args([
                "board",
                "run",
                dir.to_str().unwrap(),
                "--pduclient",
                &pduclient(),
            ])
            .arg("--tftp-root")
            .arg(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        assert!(
            wait_until(300, || dir.join("board.env").exists()),
            "{signal}: the board did not start"
        );
        let env = source_env(&dir.join("board.env"), &["TFTP_ROOT"]);
        assert_eq!(env[0], root.display().to_string());
        assert!(!marked(&dir).is_empty());
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = child.wait().unwrap();
        if signal == "-TERM" {
            assert!(exit.success(), "{exit}");
        }
        assert!(
            wait_until(30, || marked(&dir).is_empty() && !dir.exists()),
            "{signal}: left {:?} and {}",
            marked(&dir),
            dir.display()
        );
    }
    assert_eq!(
        std::fs::read_to_string(root.join("keep.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn start_refuses_a_directory_it_did_not_make() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::write(parent.path().join("notes.txt"), "mine").unwrap();
    let out = lava_lab(&[
        "board",
        "start",
        parent.path().to_str().unwrap(),
        "--pduclient",
        &pduclient(),
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("holds files that no board made") && err.contains("notes.txt"),
        "{err}"
    );
    assert!(parent.path().join("notes.txt").exists());
}

#[test]
fn help_says_what_start_writes_and_how_to_use_it() {
    for sub in ["start", "run"] {
        let out = lava_lab(&["board", sub, "--help"]);
        assert!(out.status.success());
        let help = text(&out.stdout);
        for word in [
            "board.env",
            "KERNEL_URL",
            "--tftp-root",
            "lava-dispatch --device",
            "root",
        ] {
            assert!(
                help.contains(word),
                "board {sub} --help lacks {word}:\n{help}"
            );
        }
    }
    let out = lava_lab(&["board", "stop", "--help"]);
    assert!(
        text(&out.stdout).contains("succeeds if none runs"),
        "{}",
        text(&out.stdout)
    );
}
