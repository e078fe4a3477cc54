//! The U-Boot QEMU board end to end, driven as LAVA drives a board and with the boot commands
//! typed by hand: console through ser2net, power through pduclient and pdudaemon, kernel,
//! ramdisk and device tree over TFTP from tftpd-hpa, Debian's U-Boot and kernel for real.
//!
//! The two boots run in parallel (cargo runs tests in threads): each board has its own
//! network namespace with its own tftpd-hpa on 192.0.2.1:69.

mod common;

use std::time::{Duration, Instant};

use lava_testkit::{
    SERVER_IP, SHELL_PROMPT, TelnetConsole, UbootBoard, UbootBoardConfig, board_image,
    built_pduclient, run_power_command,
};

use common::{Traces, interfaces};

/// U-Boot's prompt after power-on, and each command's prompt (a TFTP transfer of the 27 MiB
/// kernel takes a few seconds on an idle machine, much longer on a busy one).
const UBOOT_WAIT: Duration = Duration::from_secs(120);
/// From `booti` to the login prompt (TCG boot: about 5 s idle).
const KERNEL_WAIT: Duration = Duration::from_secs(180);
/// A shell command's answer.
const SHELL_WAIT: Duration = Duration::from_secs(60);

fn start_board() -> (UbootBoard, Traces) {
    start_board_with(0)
}

fn start_board_with(dead_boots: u32) -> (UbootBoard, Traces) {
    let interfaces = interfaces();
    let mut config = UbootBoardConfig::temporary(&built_pduclient().unwrap());
    config.dead_boots = dead_boots;
    let board = UbootBoard::start(&config).unwrap();
    let traces = Traces {
        dir: board.dir().to_owned(),
        netns: board.netns().expect("the board's network namespace"),
        interfaces,
    };
    (board, traces)
}

/// Connects, powers on with the device's `power_on_cmd` and stops U-Boot's countdown.
fn power_on_and_interrupt(board: &UbootBoard) -> (TelnetConsole, Instant) {
    let mut console = TelnetConsole::connect(board.telnet_port()).unwrap();
    console.expect("ser2net port", UBOOT_WAIT).unwrap();
    let powered = Instant::now();
    run_power_command(board, "power_on_cmd").unwrap();
    let interrupt = board.device_value("interrupt_boot_prompt").unwrap();
    console.expect(&interrupt, UBOOT_WAIT).unwrap();
    let command = board.device_value("interrupt_boot_command").unwrap();
    console.send(&format!("{command}\r")).unwrap();
    let prompt = board.device_value("bootloader_prompt").unwrap();
    console.expect(&prompt, UBOOT_WAIT).unwrap();
    (console, powered)
}

#[test]
fn boots_over_tftp_to_a_shell_and_leaves_nothing_behind() {
    let image = board_image().unwrap();
    let (board, traces) = start_board();
    let files = board.place_job_files("1234", &image).unwrap();
    // A file for the target to fetch itself, as a test overlay can be.
    let token = format!("fetched-by-the-target-{}", std::process::id());
    std::fs::write(board.tftp_root().join("1234/hello.txt"), &token).unwrap();
    let commands = board.ramdisk_commands(&files).unwrap();
    assert_eq!(
        commands.last().unwrap(),
        "booti 0x40400000 0x44000000 0x43f00000"
    );
    assert!(
        commands.contains(&format!("setenv serverip {SERVER_IP}")),
        "{commands:?}"
    );
    assert!(
        commands.contains(&"tftp 0x40400000 1234/Image".to_owned()),
        "{commands:?}"
    );

    let (mut console, powered) = power_on_and_interrupt(&board);
    let prompt = board.device_value("bootloader_prompt").unwrap();
    let (last, before) = commands.split_last().unwrap();
    for command in before {
        console.send(&format!("{command}\r")).unwrap();
        let output = console.expect(&prompt, UBOOT_WAIT).unwrap();
        assert!(!output.contains("TFTP error"), "{command}: {output}");
    }
    console.send(&format!("{last}\r")).unwrap();
    let boot_msg = board.device_value("image_boot_msg").unwrap();
    console.expect(&boot_msg, UBOOT_WAIT).unwrap();
    console.expect("Linux version 6.", KERNEL_WAIT).unwrap();
    console
        .expect(&board.device_value("login_prompt").unwrap(), KERNEL_WAIT)
        .unwrap();
    console
        .send(&format!("{}\r", board.device_value("username").unwrap()))
        .unwrap();
    console.expect(SHELL_PROMPT, SHELL_WAIT).unwrap();
    eprintln!("shell {:?} after power-on", powered.elapsed());

    console.send("uname -m; cat /proc/cmdline\r").unwrap();
    let answer = console.expect(SHELL_PROMPT, SHELL_WAIT).unwrap();
    assert!(answer.contains("\naarch64\r\n"), "{answer}");
    assert!(answer.contains("console=ttyAMA0,115200"), "{answer}");
    // eth0 comes up by DHCP in the background: retry until it has.
    console
        .send(&format!(
            "for i in $(seq 30); do tftp -g -r 1234/hello.txt -l /tmp/h {SERVER_IP} && break; \
             sleep 1; done; cat /tmp/h; echo\r"
        ))
        .unwrap();
    console.expect(&token, SHELL_WAIT).unwrap();

    // tftpd-hpa served the kernel, the ramdisk, the device tree and the target's request.
    let log = board.tftpd_log();
    for file in [&files.kernel, &files.ramdisk, &files.dtb, "1234/hello.txt"] {
        let line = format!("RRQ from {SERVER_IP} filename {file}");
        assert!(log.contains(&line), "no {line:?} in the tftpd log:\n{log}");
    }

    let running = board.pids();
    let qemu: Vec<u32> = running
        .iter()
        .copied()
        .filter(|pid| comm(*pid).starts_with("qemu-system"))
        .collect();
    assert_eq!(qemu.len(), 1, "one QEMU among {running:?}");
    run_power_command(&board, "power_off_cmd").unwrap();
    assert!(!board.pids().contains(&qemu[0]), "QEMU survived power off");
    let words: Vec<String> = board
        .pdu_log()
        .lines()
        .filter_map(|l| l.split(' ').nth(1).map(str::to_owned))
        .collect();
    assert_eq!(words, ["on", "off"], "{}", board.pdu_log());

    drop(board);
    traces.assert_gone();
}

#[test]
fn a_file_missing_on_the_tftp_server_is_reported_by_uboot() {
    let (board, traces) = start_board();
    let files = lava_testkit::JobFiles {
        kernel: "5678/Image".into(),
        ramdisk: "5678/ramdisk.cpio.gz.uboot".into(),
        dtb: "5678/virt.dtb".into(),
    };
    let commands = board.ramdisk_commands(&files).unwrap();
    let (mut console, _) = power_on_and_interrupt(&board);
    let prompt = board.device_value("bootloader_prompt").unwrap();
    let mut output = String::new();
    for command in commands.iter().take_while(|c| !c.starts_with("tftp ")) {
        console.send(&format!("{command}\r")).unwrap();
        console.expect(&prompt, UBOOT_WAIT).unwrap();
    }
    console.send("tftp 0x40400000 5678/Image\r").unwrap();
    output.push_str(&console.expect(&prompt, UBOOT_WAIT).unwrap());
    assert!(
        output.contains("TFTP error: 'File not found' (1)"),
        "U-Boot's output:\n{output}"
    );
    let log = board.tftpd_log();
    assert!(
        log.contains(&format!("RRQ from {SERVER_IP} filename 5678/Image")),
        "{log}"
    );
    drop(board);
    traces.assert_gone();
}

#[test]
fn two_boards_have_two_tftp_servers_on_the_same_address() {
    let (first, first_traces) = start_board();
    let (second, second_traces) = start_board();
    assert_ne!(first_traces.netns, second_traces.netns);
    assert_ne!(first.telnet_port(), second.telnet_port());
    // Each one's tftpd listens on SERVER_IP:69 in its own namespace, and nothing of theirs
    // listens on the host's port 69 (a system tftpd-hpa may, and is left alone).
    for board in [&first, &second] {
        let names: Vec<String> = board.pids().iter().map(|pid| comm(*pid)).collect();
        assert!(names.iter().any(|n| n == "in.tftpd"), "{names:?}");
    }
    drop(first);
    first_traces.assert_gone();
    // The second board is untouched by the first one's teardown.
    assert!(second.pids().len() >= 5, "{:?}", second.pids());
    drop(second);
    second_traces.assert_gone();
}

#[test]
fn a_dead_boot_shows_nothing_and_the_next_power_on_boots() {
    let (board, traces) = start_board_with(1);
    let mut console = TelnetConsole::connect(board.telnet_port()).unwrap();
    console.expect("ser2net port", UBOOT_WAIT).unwrap();
    let interrupt = board.device_value("interrupt_boot_prompt").unwrap();
    run_power_command(&board, "power_on_cmd").unwrap();
    // power.sh returns once QEMU runs; there is none, and the console stays silent.
    let names: Vec<String> = board.pids().iter().map(|pid| comm(*pid)).collect();
    assert!(!names.iter().any(|n| n.starts_with("qemu")), "{names:?}");
    let silent = console.expect(&interrupt, Duration::from_secs(3));
    assert!(
        matches!(silent, Err(lava_testkit::ConsoleError::Timeout { .. })),
        "{silent:?}"
    );
    run_power_command(&board, "power_off_cmd").unwrap();
    run_power_command(&board, "power_on_cmd").unwrap();
    console.expect(&interrupt, UBOOT_WAIT).unwrap();
    let words: Vec<String> = board
        .pdu_log()
        .lines()
        .filter_map(|l| l.split(' ').nth(1).map(str::to_owned))
        .collect();
    assert_eq!(words, ["on", "fault:", "off", "on"], "{}", board.pdu_log());
    drop(board);
    traces.assert_gone();
}

#[test]
fn a_panic_while_the_board_runs_leaves_nothing_behind() {
    let mut traces = None;
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let (board, t) = start_board();
        traces = Some(t);
        run_power_command(&board, "power_on_cmd").unwrap();
        panic!("a test fails while {} runs", board.dir().display());
    }));
    assert!(unwound.is_err());
    traces.expect("the board started").assert_gone();
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}
