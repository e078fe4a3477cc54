//! A job's files on the TFTP server when things go wrong, without a board: a TFTP root that
//! is missing or full is an infrastructure error naming the path; a directory left by a
//! dispatcher that died is removed by the next job; a job removes its own when it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

const BOARD_TYPE: &str = "client_type = bootloader\nbootloader_prompt = =>\n\
    booti_kernel_addr = 0x40400000\nbooti_ramdisk_addr = 0x44000000\nbooti_dtb_addr = 0x43f00000\n\
    boot_cmds_ramdisk = tftp {KERNEL_ADDR} {KERNEL}\n    {BOOTX}\n";

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        std::fs::create_dir_all(etc.join("device-types")).unwrap();
        std::fs::create_dir_all(etc.join("devices")).unwrap();
        std::fs::write(etc.join("device-types/tboard.conf"), BOARD_TYPE).unwrap();
        // An arm64 Image's magic, so the kernel's type is known; 1 MiB.
        let mut kernel = vec![0u8; 1 << 20];
        kernel[56..60].copy_from_slice(b"ARM\x64");
        std::fs::write(dir.path().join("Image"), kernel).unwrap();
        Setup { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs a tftp deploy and a boot on a board whose console is refused at once.
    fn run(&self, tftp_root: &Path, job_id: &str) -> (Option<i32>, String) {
        let device = self.path("etc/devices/t.conf");
        std::fs::write(
            &device,
            format!(
                "device_type = tboard\nconnection_command = telnet 127.0.0.1 1\nserver_ip = 192.0.2.1\ntftp_root = {}\n",
                tftp_root.display()
            ),
        )
        .unwrap();
        let job = self.path("job.yaml");
        std::fs::write(
            &job,
            format!(
                "job_name: t\ndevice_type: tboard\nvisibility: public\ntimeouts: {{job: {{minutes: 1}}}}\n\
                 actions:\n- deploy:\n    to: tftp\n    kernel: {{url: 'file://{}', type: image}}\n\
                 - boot:\n    method: u-boot\n    commands: ramdisk\n",
                self.path("Image").display()
            ),
        )
        .unwrap();
        let out_dir = self.path("out");
        let out = Command::new(env!("CARGO_BIN_EXE_lava-dispatch"))
            .arg("--device")
            .arg(&device)
            .arg("--output-dir")
            .arg(&out_dir)
            .args(["--job-id", job_id, "--quiet"])
            .arg(&job)
            .env("LAVA_ROOT", self.path("root"))
            .env("LAVA_FILE_URL_DIRS", self.dir.path())
            .output()
            .unwrap();
        let log = std::fs::read_to_string(out_dir.join("output.yaml")).unwrap_or_default();
        (out.status.code(), log)
    }
}

/// A small tmpfs mounted for the test, unmounted when dropped.
struct Tiny(PathBuf);

impl Drop for Tiny {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_or_missing_tftp_root_is_an_infrastructure_error_naming_the_path() {
    let s = Setup::new();
    let missing = s.path("srv/tftp");
    let (code, log) = s.run(&missing, "7");
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains(&format!(
            "the TFTP root {} does not exist",
            missing.display()
        )) && log.contains(r#""error_type": "Infrastructure""#),
        "{log}"
    );
    let full = s.path("full");
    std::fs::create_dir_all(&full).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&full)
        .status()
        .unwrap();
    assert!(
        st.success(),
        "mount a 256 KiB tmpfs (the tests run as root)"
    );
    let _tiny = Tiny(full.clone());
    let (code, log) = s.run(&full, "8");
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains(&format!(
            "cannot place the kernel in {}/8/kernel/Image",
            full.display()
        )) && log.contains("No space left on device"),
        "{log}"
    );
    assert!(log.contains(r#""error_type": "Infrastructure""#), "{log}");
    assert!(!full.join("8").exists(), "finalize removed what was placed");
}

#[test]
fn a_dead_dispatchers_directory_is_swept_and_a_failed_job_removes_its_own() {
    let s = Setup::new();
    let root = s.path("tftp");
    let stale = root.join("41");
    std::fs::create_dir_all(stale.join("kernel")).unwrap();
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    std::fs::write(stale.join(".lava-dispatch"), format!("{dead}\n")).unwrap();
    std::fs::write(stale.join("kernel/Image"), "old").unwrap();
    let foreign = root.join("pxelinux.cfg");
    std::fs::create_dir_all(&foreign).unwrap();
    let (code, log) = s.run(&root, "42");
    assert_eq!(code, Some(1), "the board's console is refused: {log}");
    assert!(
        log.contains("kernel on the TFTP server: 42/kernel/Image (1048576 bytes)"),
        "{log}"
    );
    assert!(log.contains("removed the job's TFTP files"), "{log}");
    assert!(!stale.exists(), "the dead dispatcher's directory was swept");
    assert!(!root.join("42").exists(), "the failed job removed its own");
    assert!(foreign.exists(), "what is not a job's is left alone");
}
