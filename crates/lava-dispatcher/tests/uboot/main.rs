//! Board jobs on the U-Boot QEMU board of lava-testkit (Debian's U-Boot in QEMU's arm64
//! `virt` machine, console behind real ser2net, power through real pdudaemon, files from a
//! real tftpd-hpa), run with `lava-dispatch --device` as a lab admin would: the example
//! jobs, a 5 MiB repository with a binary file, the target fetching its overlay, and every
//! fault that must end a job incomplete with a clear error and nothing left behind.
//!
//! The worker and server path for the same jobs is in `lab.rs`-style `worker.rs` here.

#[path = "../common/mod.rs"]
mod common;
mod faults;
mod harness;
mod kernelci;
mod noisy_line;
mod worker;

use harness::{BoardRun, git_repo};

#[test]
fn the_yaml_example_boots_over_tftp_and_runs_its_tests_from_the_ramdisk() {
    let run = BoardRun::start(0);
    let repo = run.smoke_repo();
    let job = run.example("jobs/uboot-ramdisk.yaml", &repo);
    run.passes(&job);
    let cases = run.cases();
    assert_eq!(
        cases,
        [
            ("0_smoke", "kernel-version", "pass"),
            ("0_smoke", "shell-works", "pass"),
            ("0_smoke", "proc-mounted", "pass"),
            ("0_smoke", "uptime", "pass"),
        ]
        .map(|(d, c, r)| (d.to_string(), c.to_string(), r.to_string()))
    );
    let log = run.log_text();
    // The device type's ramdisk set, filled: booti, the addresses, the job's files.
    let input = run.inputs().join("\n");
    assert!(
        input.contains(&format!("tftp 0x40400000 {}/kernel/Image", run.job_id)),
        "{input}"
    );
    assert!(
        input.contains(&format!("tftp 0x43f00000 {}/dtb/virt.dtb", run.job_id)),
        "{input}"
    );
    assert!(
        input.contains("booti 0x40400000 0x44000000 0x43f00000"),
        "{input}"
    );
    assert!(input.contains("setenv serverip 192.0.2.1"), "{input}");
    assert!(
        input.contains("console=ttyAMA0,115200 quiet"),
        "extra_kernel_args from the context: {input}"
    );
    assert!(
        !log.contains("over the console"),
        "the overlay came in the ramdisk: {log}"
    );
    // tftpd-hpa served the kernel, ramdisk and dtb of this job.
    let tftpd = run.board.tftpd_log();
    for file in [
        "kernel/Image",
        "dtb/virt.dtb",
        "ramdisk/ramdisk.cpio.gz.uboot",
    ] {
        assert!(
            tftpd.contains(&format!("{}/{file}", run.job_id)),
            "tftpd served {file}: {tftpd}"
        );
    }
    run.assert_clean();
}

/// The same board described by a LAVA 2023 device dictionary over LAVA's own
/// `base-uboot.jinja2` (Debian's lava-server 2023.01, fetched at test time, found through
/// /usr/share/lava-server/device-types below `LAVA_ROOT`, as an installed LAVA has it, here
/// a link in the test's directory): the job runs the same, and its context's
/// `extra_kernel_args` reaches the kernel command line through LAVA's template.
#[test]
fn the_yaml_example_runs_on_the_boards_lava_device_dictionary() {
    let package = lava_testkit::lava_device_types().unwrap();
    let run = BoardRun::start(0);
    let share = run.dir().join("root/usr/share/lava-server");
    std::fs::create_dir_all(&share).unwrap();
    std::os::unix::fs::symlink(package.device_types(), share.join("device-types")).unwrap();
    let repo = run.smoke_repo();
    let job = run.example("jobs/uboot-ramdisk.yaml", &repo);
    let text = std::fs::read_to_string(&job).unwrap();
    let marked = text.replace(
        "extra_kernel_args: quiet",
        "extra_kernel_args: 'quiet lava_dictionary=1'",
    );
    assert_ne!(marked, text, "the example sets extra_kernel_args");
    std::fs::write(&job, marked).unwrap();
    let out = run
        .command_on(&job, &run.board.device_dictionary_path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", run.log_text());
    assert_eq!(run.cases().len(), 4, "{:?}", run.cases());
    let input = run.inputs().join("\n");
    assert!(
        input.contains("setenv bootargs 'console=ttyAMA0,115200n8 root=/dev/ram0 quiet lava_dictionary=1 ip=dhcp'"),
        "extra_kernel_args through base-uboot.jinja2: {input}"
    );
    assert!(
        input.contains("booti 0x40400000 0x44000000 0x43f00000"),
        "{input}"
    );
    assert!(input.contains("setenv serverip 192.0.2.1"), "{input}");
    run.assert_clean();
}

#[test]
fn the_seed_era_json_example_runs_on_the_board() {
    let run = BoardRun::start(0);
    let repo = run.smoke_repo();
    let job = run.example("jobs/uboot-kernel.json", &repo);
    run.passes(&job);
    assert_eq!(run.cases().len(), 4, "{:?}", run.cases());
    let input = run.inputs().join("\n");
    // A seed-era boot with a ramdisk takes the device type's ramdisk set; the kernel's type
    // comes from the file (an arm64 Image: booti).
    assert!(
        input.contains("booti 0x40400000 0x44000000 0x43f00000"),
        "{input}"
    );
    assert!(run.log_text().contains("kernel type: image"));
    run.assert_clean();
}

#[test]
fn a_five_mib_repository_with_a_binary_file_runs_on_the_board() {
    let run = BoardRun::start(0);
    let (repo, cases) = harness::big_repo(run.dir(), 5);
    let job = run.yaml_job(&run.deploy(""), "commands: ramdisk", &repo, "big.yaml", "");
    run.passes(&job);
    assert_eq!(
        run.cases(),
        cases.map(|c| ("0_big".to_string(), c.to_string(), "pass".to_string()))
    );
    let log = run.log_text();
    assert!(log.contains("bytes of repository files"), "{log}");
    run.assert_clean();
}

#[test]
fn the_target_fetches_its_overlay_from_the_tftp_server() {
    let run = BoardRun::start(0);
    let repo = run.smoke_repo();
    let deploy = run.deploy("      install_overlay: false\n");
    // The board's network comes up in the background after boot: try for a while.
    let boot = "commands: ramdisk\n    transfer_overlay:\n      download_command: for i in 1 2 3 4 5 6 7 8 9 10; do tftp -g -l overlay.tar.gz -r {OVERLAY} {SERVER_IP} && break; sleep 2; done; test -s overlay.tar.gz\n      unpack_command: tar -C / -xzf";
    let job = run.yaml_job(&deploy, boot, &repo, "smoke.yaml", "");
    run.passes(&job);
    assert_eq!(run.cases().len(), 4, "{:?}", run.cases());
    let log = run.log_text();
    assert!(log.contains("the target fetches the test overlay"), "{log}");
    assert!(log.contains("overlay transfer: "), "{log}");
    let tftpd = run.board.tftpd_log();
    assert!(
        tftpd.contains(&format!("{}/overlay/overlay.tar.gz", run.job_id)),
        "the target fetched the overlay from tftpd-hpa: {tftpd}"
    );
    run.assert_clean();
}

/// LAVA 2023's `format: cpio.newc` with `overlays` on a tftp deploy's ramdisk: the test
/// overlay (`lava: true`) and a named tarball follow the ramdisk as more cpio archives before
/// the tftp deploy wraps it in its U-Boot header; the board runs the test from it and finds
/// the named overlay's file.
#[test]
fn a_tftp_ramdisks_overlays_reach_the_board() {
    let run = BoardRun::start(0);
    let extra = run.dir().join("extra");
    std::fs::create_dir_all(extra.join("extra")).unwrap();
    std::fs::write(extra.join("extra/marker"), "board-overlay\n").unwrap();
    let tarball = run.dir().join("extra.tar");
    lava_testkit::tar(&tarball, &extra, "extra").unwrap();
    let definition = "metadata:\n  format: Lava-Test Test Definition 1.0\n  name: overlays\nrun:\n  steps:\n  - lava-test-case extra-overlay --shell grep -q board-overlay /opt/extra/marker\n";
    let repo = git_repo(run.dir(), "tests.git", &[("overlays.yaml", definition)]);
    let deploy = run.deploy(&format!(
        "      format: cpio.newc\n      overlays:\n        lava: true\n        extra: {{url: 'file://{}', format: tar, path: /opt}}\n",
        tarball.display()
    ));
    let job = run.yaml_job(&deploy, "commands: ramdisk", &repo, "overlays.yaml", "");
    run.passes(&job);
    assert_eq!(
        run.cases(),
        [(
            "0_overlays".to_string(),
            "extra-overlay".to_string(),
            "pass".to_string()
        )]
    );
    let log = run.log_text();
    assert!(
        log.contains("overlay(s) lava, extra follow the ramdisk"),
        "{log}"
    );
    assert!(!log.contains("overlay over the console"), "{log}");
    run.assert_clean();
}

/// The fallback for a board whose ramdisk takes no overlay and which fetches nothing itself:
/// base64 over the console, read by `base64 -d` from the terminal (busybox ash's line
/// editor would take a second a line of a here-document).
#[test]
fn without_ramdisk_or_transfer_the_overlay_goes_over_the_console() {
    let run = BoardRun::start(0);
    let repo = run.smoke_repo();
    let deploy = run.deploy("      install_overlay: false\n");
    let job = run.yaml_job(&deploy, "commands: ramdisk", &repo, "smoke.yaml", "");
    run.passes(&job);
    assert_eq!(run.cases().len(), 4, "{:?}", run.cases());
    let log = run.log_text();
    assert!(log.contains("overlay over the console: "), "{log}");
    run.assert_clean();
}

/// An overlay of 1 MiB of incompressible bytes (every byte value) over the real console,
/// about 1.4 MB of base64: it arrives whole, checked by the dispatcher chunk by chunk and
/// in full before it is unpacked, and on the board by the definition's own sha256.
#[test]
fn a_one_mib_incompressible_overlay_goes_over_the_console_intact() {
    let run = BoardRun::start(0);
    let (repo, cases) = harness::big_repo(run.dir(), 1);
    let deploy = run.deploy("      install_overlay: false\n");
    let job = run.yaml_job(&deploy, "commands: ramdisk", &repo, "big.yaml", "");
    run.passes(&job);
    assert_eq!(
        run.cases(),
        cases.map(|c| ("0_big".to_string(), c.to_string(), "pass".to_string()))
    );
    let log = run.log_text();
    assert!(log.contains("overlay over the console: "), "{log}");
    run.assert_clean();
}
