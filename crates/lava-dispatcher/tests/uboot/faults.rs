//! Board faults and bad input: each job ends incomplete with a clear error, and the board is
//! off, its console free and the job's TFTP files gone.

use std::path::Path;
use std::time::{Duration, Instant};

use lava_common::log::{Message, Value};

use super::harness::{BoardRun, workspace};

/// The longest single wait of the boot: past a dead board's silence, within a TFTP transfer
/// of the 27 MiB kernel on a busy machine.
const BOOT_WAIT: &str = "  connections:\n    uboot-action: {seconds: 90}\n";

/// For a board that stays silent from the start.
const SILENT_WAIT: &str = "  connections:\n    uboot-action: {seconds: 20}\n";

#[test]
fn a_board_that_never_shows_the_interrupt_prompt_times_out_naming_it() {
    let run = BoardRun::start(5);
    let job = run.smoke_job("commands: ramdisk", SILENT_WAIT);
    let (kind, msg) = run.fails(&job);
    assert_eq!(kind, "LAVATimeout", "{msg}");
    assert!(
        msg.contains("waiting for the interrupt prompt 'Hit any key to stop autoboot'"),
        "{msg}"
    );
    run.assert_clean();
}

/// Also LAVA 2023's `failure_retry_interval` (a wait between the tries) and `namespace` (one
/// for the whole job: the results are filed under it).
#[test]
fn failure_retry_boots_the_board_on_its_second_try() {
    let run = BoardRun::start(1);
    let job = run.smoke_job(
        "commands: ramdisk\n    failure_retry: 3\n    failure_retry_interval: 3",
        BOOT_WAIT,
    );
    let text = std::fs::read_to_string(&job).unwrap();
    let mut namespaced = text.clone();
    for action in ["deploy", "boot", "test"] {
        namespaced = namespaced.replace(
            &format!("- {action}:\n"),
            &format!("- {action}:\n    namespace: board\n"),
        );
    }
    assert_eq!(
        namespaced.matches("namespace: board").count(),
        3,
        "{namespaced}"
    );
    std::fs::write(&job, namespaced).unwrap();
    run.passes(&job);
    let log = run.log_text();
    assert!(
        log.contains("uboot-action failed (attempt 1 of 3): trying again"),
        "{log}"
    );
    assert!(log.contains("attempt 2 of 3"), "{log}");
    assert!(!log.contains("attempt 3 of 3"), "{log}");
    assert_eq!(run.cases().len(), 4, "{:?}", run.cases());
    // The second try started no sooner than the interval after the wait was announced.
    let lines = run.log();
    let at = |needle: &str| {
        let line = lines
            .iter()
            .find(|l| matches!(&l.msg, Message::Text(t) if t.contains(needle)))
            .unwrap_or_else(|| panic!("no line with {needle:?}: {log}"));
        chrono::NaiveDateTime::parse_from_str(&line.dt, "%Y-%m-%dT%H:%M:%S%.f").unwrap()
    };
    let waited =
        at("attempt 2 of 3") - at("failure_retry_interval: waiting 00:00:03 before attempt 2");
    assert!(waited >= chrono::TimeDelta::seconds(3), "{waited}: {log}");
    // Every result of the job's actions is filed under its namespace, as LAVA files them.
    let results = run.results();
    let uboot: Vec<_> = results
        .iter()
        .filter(|r| r.get("case") == Some(&Value::from("uboot-action")))
        .collect();
    assert_eq!(uboot.len(), 2, "{results:?}");
    for r in uboot {
        assert_eq!(r["namespace"], Value::from("board"), "{r:?}");
    }
    assert!(log.contains("[board]"), "{log}");
    run.assert_clean();
}

#[test]
fn a_file_missing_on_the_tftp_server_is_named_with_uboots_error() {
    let run = BoardRun::start(0);
    let repo = run.smoke_repo();
    let boot = "commands:\n    - setenv autoload no\n    - dhcp\n    - setenv serverip {SERVER_IP}\n    - tftp {KERNEL_ADDR} {KERNEL}.missing\n    - '{BOOTX}'";
    let job = run.yaml_job(&run.deploy(""), boot, &repo, "smoke.yaml", "");
    let (kind, msg) = run.fails(&job);
    assert_eq!(kind, "Infrastructure", "{msg}");
    assert!(
        msg.contains(&format!(
            "u-boot reported an error after 'tftp 0x40400000 {}/kernel/Image.missing'",
            run.job_id
        )) && msg.contains("File not found"),
        "{msg}"
    );
    run.assert_clean();
}

#[test]
fn a_kernel_that_does_not_boot_ends_the_job_naming_the_boot_message() {
    let run = BoardRun::start(0);
    let repo = run.smoke_repo();
    let junk = run.dir().join("Image");
    std::fs::write(&junk, vec![0u8; 1 << 20]).unwrap();
    let deploy = run.deploy("").replace(
        &run.image.kernel.display().to_string(),
        &junk.display().to_string(),
    );
    let job = run.yaml_job(&deploy, "commands: ramdisk", &repo, "smoke.yaml", BOOT_WAIT);
    let (kind, msg) = run.fails(&job);
    assert_eq!(kind, "Infrastructure", "{msg}");
    assert!(msg.contains("'Starting kernel' never seen"), "{msg}");
    assert!(msg.contains("booti 0x40400000"), "{msg}");
    run.assert_clean();
}

#[test]
fn cancel_during_the_tftp_transfer_stops_the_board_and_removes_the_files() {
    let run = BoardRun::start(0);
    let job = run.smoke_job("commands: ramdisk", "");
    let mut child = run.command(&job).spawn().unwrap();
    // Canceled once tftpd-hpa has the kernel's request, while the 27 MiB go to the board.
    let deadline = Instant::now() + Duration::from_secs(300);
    let requested = format!("{}/kernel/Image", run.job_id);
    while !run.board.tftpd_log().contains(&requested) {
        assert!(
            Instant::now() < deadline,
            "the kernel's transfer never started"
        );
        assert!(child.try_wait().unwrap().is_none(), "{}", run.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    let tftp = run.board.tftp_root().join(&run.job_id);
    assert!(
        tftp.join("kernel/Image").exists(),
        "the files are served while the job runs"
    );
    let st = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "{}", run.log_text());
    let log = run.log_text();
    assert!(log.contains("job canceled during uboot-action"), "{log}");
    let after_kernel = log
        .split(&format!("tftp 0x40400000 {requested}"))
        .nth(1)
        .unwrap_or("");
    assert!(
        !after_kernel.contains("Bytes transferred"),
        "canceled before the kernel's transfer ended: {log}"
    );
    run.assert_clean();
}

/// The device type's placeholders are checked before anything is touched: no board is
/// needed, none is connected.
#[test]
fn placeholders_the_device_type_cannot_fill_are_refused_at_validation() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir_all(etc.join("device-types")).unwrap();
    std::fs::create_dir_all(etc.join("devices")).unwrap();
    std::fs::copy(
        workspace().join("examples/device-types/uboot-qemu.conf"),
        etc.join("device-types/uboot-qemu.conf"),
    )
    .unwrap();
    let device = etc.join("devices/b.conf");
    std::fs::write(
        &device,
        format!(
            "device_type = uboot-qemu\nconnection_command = telnet 127.0.0.1 1\nserver_ip = 192.0.2.1\ntftp_root = {}\n",
            dir.path().display()
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("Image"), "k").unwrap();
    let job = |kernel_type: &str, commands: &str| {
        let p = dir.path().join("job.yaml");
        std::fs::write(
            &p,
            format!(
                "job_name: p\ndevice_type: uboot-qemu\nvisibility: public\ntimeouts: {{job: {{minutes: 1}}}}\n\
                 actions:\n- deploy:\n    to: tftp\n    kernel: {{url: 'file://{}/Image', type: {kernel_type}}}\n\
                 - boot:\n    method: u-boot\n    {commands}\n",
                dir.path().display()
            ),
        )
        .unwrap();
        p
    };
    let dispatch = |job: &Path| {
        let out_dir = dir.path().join("out");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lava-dispatch"))
            .arg("--device")
            .arg(&device)
            .arg("--output-dir")
            .arg(&out_dir)
            .arg("--quiet")
            .arg(job)
            .env("LAVA_ROOT", dir.path().join("root"))
            .env("LAVA_FILE_URL_DIRS", dir.path())
            .output()
            .unwrap();
        let log = std::fs::read_to_string(out_dir.join("output.yaml")).unwrap();
        assert_eq!(out.status.code(), Some(1), "{log}");
        assert!(!log.contains("connected:"), "nothing was touched: {log}");
        log
    };
    let log = dispatch(&job("zimage", "commands: ramdisk"));
    assert!(
        log.contains("placeholder {KERNEL_ADDR} in 'tftp {KERNEL_ADDR} {KERNEL}' cannot be filled: device type 'uboot-qemu' defines no bootz_kernel_addr (kernel type zimage)"),
        "{log}"
    );
    let log = dispatch(&job(
        "image",
        "commands: ['tftp {ROOTFS_ADDR} {KERNEL}', '{BOOTX}']",
    ));
    assert!(
        log.contains("unknown placeholder {ROOTFS_ADDR} in 'tftp {ROOTFS_ADDR} {KERNEL}'"),
        "{log}"
    );
    let log = dispatch(&job("image", "commands: usb"));
    assert!(
        log.contains(
            "device type 'uboot-qemu' has no boot command set 'usb' (it has: nfs, ramdisk)"
        ),
        "{log}"
    );
}
