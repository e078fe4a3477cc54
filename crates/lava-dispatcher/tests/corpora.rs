//! Real job corpora: LAVA jobs as the tools that feed LAVA labs write them, accepted and run
//! unchanged but for their image locations.
//!
//! tuxlava (pinned, from PyPI, installed at test time into a venv under `target/` by
//! `lava_testkit::tuxlava`) writes the QEMU jobs; each is validated as the server validates
//! a submission (`lava_common::job::parse_job`), what we do not run is refused naming the
//! key, and the x86_64 and arm64 ones run to complete on a LAVA device dictionary over
//! LAVA's own `qemu.jinja2` (Debian's lava-server 2023.01) with the project's test images.
//!
//! KernelCI's QEMU baseline job, in its container image, is in `corpora/kernelci.rs`.

#[path = "common/mod.rs"]
mod common;
#[path = "corpora/kernelci.rs"]
mod kernelci;
#[path = "corpora/podman.rs"]
mod podman;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use lava_common::job::parse_job;
use lava_common::log::{Level, Message, Value, parse_line};
use lava_testkit::{lava_device_types, test_image, tuxlava};

/// A directory with the job files, a device dictionary over LAVA's `qemu.jinja2` and the
/// output of one run.
struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Run {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["etc/devices", "etc/device-types", "files"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Run { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A LAVA lab's qemu device: `{% extends 'qemu.jinja2' %}` over LAVA's own templates,
    /// then the dictionary's own `lines`.
    fn qemu_device(&self, lines: &str) -> PathBuf {
        let package = lava_device_types().unwrap();
        for t in ["qemu.jinja2", "base.jinja2"] {
            std::os::unix::fs::symlink(
                package.device_types().join(t),
                self.path(&format!("etc/device-types/{t}")),
            )
            .unwrap();
        }
        let device = self.path("etc/devices/qemu01.jinja2");
        std::fs::write(&device, format!("{{% extends 'qemu.jinja2' %}}\n{lines}")).unwrap();
        device
    }

    /// Runs `job` with `lava-dispatch` on `device`; file URLs may name the test image and
    /// this run's `files/`.
    fn dispatch(&self, device: &Path, job: &Path) -> Output {
        self.dispatch_with(device, job, &[])
    }

    /// [`Run::dispatch`] with more environment variables (the worker's `LAVA_DOCKER_*`).
    fn dispatch_with(&self, device: &Path, job: &Path, env: &[(&str, &OsStr)]) -> Output {
        self.dispatch_command(device, job, env).output().unwrap()
    }

    /// The `lava-dispatch` command of [`Run::dispatch_with`], to start.
    fn dispatch_command(&self, device: &Path, job: &Path, env: &[(&str, &OsStr)]) -> Command {
        let image_dir = test_image().unwrap().kernel.parent().unwrap().to_path_buf();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lava-dispatch"));
        cmd.envs(env.iter().copied())
            .args(["--device", device.to_str().unwrap()])
            .args(["--output-dir", self.path("out").to_str().unwrap()])
            .args(["--job-id", &format!("corpora{}", std::process::id())])
            .arg(job)
            .env("LAVA_QEMU_ACCEL", "tcg")
            .env("LAVA_DISPATCHER_CACHE", self.path("cache"))
            .env(
                "LAVA_FILE_URL_DIRS",
                format!("{}:{}", image_dir.display(), self.path("files").display()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs the job file `job` on a LAVA qemu dictionary and checks it completed; returns
    /// its log.
    fn completes(&self, job: &Path) -> String {
        let out = self.dispatch(&self.qemu_device(""), job);
        let log = self.log_text();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{log}",
            String::from_utf8_lossy(&out.stderr)
        );
        log
    }

    /// The QEMU command line the job's log shows.
    fn qemu_started(&self) -> String {
        let log = self.log_text();
        log.lines()
            .find(|l| l.contains("\"starting: qemu-system-"))
            .unwrap_or_else(|| panic!("{log}"))
            .to_string()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.path("out/output.yaml")).unwrap_or_default()
    }

    /// (definition, case, result) of every test result, LAVA's own actions excluded.
    fn cases(&self) -> Vec<(String, String, String)> {
        let s = |v: &Value| match v {
            Value::Str(s) | Value::Scalar(s) => s.clone(),
            other => format!("{other:?}"),
        };
        self.log_text()
            .lines()
            .map(|l| parse_line(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .filter(|l| l.lvl == Level::Results)
            .filter_map(|l| match l.msg {
                Message::Map(m) => Some(m),
                Message::Text(_) => None,
            })
            .filter(|m| m["definition"] != Value::from("lava"))
            .map(|m| (s(&m["definition"]), s(&m["case"]), s(&m["result"])))
            .collect()
    }

    /// No process mentions this run's directory any more (QEMU above all).
    fn assert_no_leftovers(&self) {
        let live = self.leftovers();
        assert!(live.is_empty(), "left running: {live:?}");
    }

    /// [`Run::assert_no_leftovers`], once the processes have had up to `secs` to end by
    /// themselves: podman's monitor (`conmon`) outlives its removed container by a moment.
    fn assert_no_leftovers_within(&self, secs: u64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while !self.leftovers().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        self.assert_no_leftovers();
    }

    /// The processes (`STAT ARGS`) that mention this run's directory, zombies aside.
    fn leftovers(&self) -> Vec<String> {
        let needle = self.dir.path().to_str().unwrap();
        let out = Command::new("ps")
            .args(["-eo", "stat=,args="])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains(needle) && !l.trim_start().starts_with('Z'))
            .map(str::to_string)
            .collect()
    }
}

/// `file://` URL of a path.
fn url(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// A modules tarball as a kernel build makes one (`lib/modules/…`), gzip'd, holding a marker
/// file the job's command looks for.
fn modules_tarball(run: &Run) -> PathBuf {
    let stage = run.path("modules-stage");
    std::fs::create_dir_all(stage.join("lib/modules/corpora")).unwrap();
    std::fs::write(
        stage.join("lib/modules/corpora/marker"),
        "corpora-modules-overlay\n",
    )
    .unwrap();
    let tarball = run.path("files/modules.tar.gz");
    lava_testkit::tar(&tarball, &stage, "lib").unwrap();
    tarball
}

/// A tarball of test definitions at the path tuxlava's `smoke` test names, compressed as its
/// jobs say (`compression: zstd`). The definition is ours (not Linaro's): it checks that the
/// job's parameters reach it.
fn test_definitions(run: &Run) -> PathBuf {
    let definition = "metadata:
  format: Lava-Test Test Definition 1.0
  name: smoke
  description: the corpora test's smoke definition, where tuxlava looks for Linaro's
params:
  TESTS: ''
run:
  steps:
  - lava-test-case tests-parameter --shell test -n \"$TESTS\"
  - lava-test-case skip-install --shell test \"$SKIP_INSTALL\" = true
";
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(definition.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(
        &mut header,
        "automated/linux/smoke/smoke.yaml",
        definition.as_bytes(),
    )
    .unwrap();
    let tarball = tar.into_inner().unwrap();
    let file = run.path("files/test-definitions.tar.zst");
    std::fs::write(&file, zstd::stream::encode_all(&tarball[..], 3).unwrap()).unwrap();
    file
}

/// Every tuxlava QEMU job validates as a submission, or is refused naming the key we do not
/// run; none is accepted with a key ignored.
#[test]
fn tuxlava_qemu_jobs_validate_or_are_refused_by_name() {
    let tux = tuxlava().unwrap();
    let run = Run::new();
    let image = test_image().unwrap();
    let (kernel, cpio) = (url(&image.kernel), url(&image.initramfs));
    let modules = url(&modules_tarball(&run));
    let definitions = url(&test_definitions(&run));
    let rootfs = "rootfs.ext4.zst";
    std::fs::write(run.path(&format!("files/{rootfs}")), b"").unwrap();
    let rootfs = url(&run.path(&format!("files/{rootfs}")));
    // (tuxlava's arguments, None when the job validates, else the refusal's path and words)
    let cases: Vec<(Vec<&str>, Option<&str>)> = vec![
        // The defaults: tuxboot's kernel and zstd-compressed ext4 root file system over https.
        (vec![], None),
        (
            vec!["--kernel", &kernel, "--rootfs", &cpio, "--", "uname", "-a"],
            None,
        ),
        (
            vec![
                "--kernel",
                &kernel,
                "--rootfs",
                &cpio,
                "--modules",
                &modules,
                "--",
                "true",
            ],
            None,
        ),
        (vec!["--rootfs", &rootfs, "--boot-args", "quiet"], None),
        (vec!["--timeouts", "deploy=3", "boot=4", "--", "true"], None),
        (vec!["--tests", "ltp-smoke"], None),
        (
            vec![
                "--rootfs",
                &rootfs,
                "--partition",
                "1",
                "--tests",
                "ltp-smoke",
            ],
            Some(
                "actions[0].deploy.images.rootfs.root_partition: root_partition (the partition of a disk image that holds the root file system) is not supported",
            ),
        ),
        (
            vec![
                "--kernel",
                &kernel,
                "--rootfs",
                &cpio,
                "--tests",
                "smoke",
                "--test-definitions",
                &definitions,
            ],
            None,
        ),
        // QEMU in a container image: `boot.docker`, run by `corpora/kernelci.rs`.
        (vec!["--qemu-image", "docker.io/qemu/qemu:latest"], None),
    ];
    let mut failures = Vec::new();
    for device in ["qemu-x86_64", "qemu-arm64"] {
        for (args, refusal) in &cases {
            let mut all = vec!["--device", device];
            all.extend(args.iter().copied());
            let job = tux.job(&all).unwrap();
            let got = parse_job(&job).map(|_| ()).map_err(|e| e.to_string());
            let ok = match (refusal, &got) {
                (None, Ok(())) => true,
                (Some(want), Err(e)) => e.contains(want),
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "tuxlava {}: expected {refusal:?}, got {got:?}\n{job}",
                    all.join(" ")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Runs tuxlava's QEMU job for `device` (`qemu-x86_64`, `qemu-arm64`) with `kernel` and the
/// cpio root file system `rootfs`, a modules tarball, its `smoke` test from a tarball of
/// definitions and a command to run, on a LAVA device dictionary over LAVA's own
/// `qemu.jinja2`, and checks it completes: the test overlay and the modules go into the root
/// file system as its `overlays` say, the smoke test's markers come through the kernel log
/// (`lava-signal: kmsg`), and the command passes only when the modules are there. Returns
/// the QEMU command line, for the caller's checks of what the context chose.
fn tuxlava_job_runs(device: &str, kernel: &Path, rootfs: &Path) -> String {
    tuxlava_job_runs_as(
        device,
        kernel,
        &|_| rootfs.to_path_buf(),
        |job| job,
        "follow the rootfs",
    )
}

/// [`tuxlava_job_runs`], with the root file system made in the run's directory by `rootfs`,
/// the generated job changed by `adapt` before it runs, and the words that say where its
/// overlays went.
fn tuxlava_job_runs_as(
    device: &str,
    kernel: &Path,
    rootfs: &dyn Fn(&Run) -> PathBuf,
    adapt: impl Fn(String) -> String,
    overlays_went: &str,
) -> String {
    let tux = tuxlava().unwrap();
    let run = Run::new();
    let rootfs = rootfs(&run);
    let modules = modules_tarball(&run);
    let job = tux
        .job(&[
            "--device",
            device,
            "--kernel",
            &url(kernel),
            "--rootfs",
            &url(&rootfs),
            "--modules",
            &url(&modules),
            "--tests",
            "smoke",
            "--test-definitions",
            &url(&test_definitions(&run)),
            "--",
            "grep",
            "-q",
            "corpora-modules-overlay",
            "/lib/modules/corpora/marker",
        ])
        .unwrap();
    for key in ["lava: true", "lava-signal: kmsg", "compression: zstd"] {
        assert!(job.contains(key), "{key}: {job}");
    }
    let job = adapt(job);
    parse_job(&job).unwrap();
    let job_file = run.path(&format!("tuxlava-{device}.yaml"));
    std::fs::write(&job_file, &job).unwrap();
    let log = run.completes(&job_file);
    let pass = |d: &str, c: &str| (d.to_string(), c.to_string(), "pass".to_string());
    assert_eq!(
        run.cases(),
        [
            pass("0_smoke", "tests-parameter"),
            pass("0_smoke", "skip-install"),
            pass("1_commands", "command"),
        ],
        "{log}"
    );
    // The smoke test's markers came from the kernel log: the console shows them after the
    // kernel's own prefix.
    assert!(
        log.lines()
            .any(|l| l.contains("\"target\"") && l.contains("] <LAVA_SIGNAL_STARTRUN 0_smoke")),
        "{log}"
    );
    assert!(
        log.contains(&format!("overlay(s) lava, modules {overlays_went}")),
        "{log}"
    );
    run.assert_no_leftovers();
    run.qemu_started()
}

/// tuxlava's x86_64 job on the kvm test image; LAVA's template gives it the job's context:
/// 4G, no KVM, the extra options.
#[test]
fn tuxlava_x86_64_qemu_job_runs_to_complete() {
    let image = test_image().unwrap();
    let started = tuxlava_job_runs("qemu-x86_64", &image.kernel, &image.initramfs);
    assert!(started.contains("qemu-system-x86_64"), "{started}");
    for option in ["-m 4G", "-no-reboot", "-smp 2", "-initrd "] {
        assert!(started.contains(option), "{option}: {started}");
    }
    assert!(!started.contains("-enable-kvm"), "{started}");
}

/// tuxlava's x86_64 job with its default kind of root file system, a zstd-compressed ext4
/// image: the test overlay and the modules tarball are written into the image (`debugfs`),
/// the kernel mounts it as its root and the smoke test and the command run from it. Our
/// Debian test kernel has no built-in disk driver, so the job gets what its kernel needs
/// and nothing else: the test image's initramfs (which loads virtio-blk and switches to
/// `root=/dev/vda`) and the disk on virtio in place of IDE.
#[test]
fn tuxlava_x86_64_job_on_an_ext4_root_file_system_runs_to_complete() {
    let image = test_image().unwrap();
    let initrd = url(&image.initramfs);
    let started = tuxlava_job_runs_as(
        "qemu-x86_64",
        &image.kernel,
        &|run| {
            let rootfs = run.path("files/rootfs.ext4.zst");
            let raw = std::fs::read(&image.rootfs_ext4).unwrap();
            std::fs::write(&rootfs, zstd::stream::encode_all(&raw[..], 3).unwrap()).unwrap();
            rootfs
        },
        |job| {
            assert!(job.contains("format: ext4"), "{job}");
            let with_initrd = format!(
                "      initrd:\n        image_arg: '-initrd {{initrd}}'\n        url: \"{initrd}\"\n      rootfs:\n"
            );
            job.replace("root=/dev/sda", "root=/dev/vda")
                .replace("if=ide", "if=virtio")
                .replacen("      rootfs:\n", &with_initrd, 1)
        },
        "written into the ext4 image",
    );
    assert!(started.contains("if=virtio,format=raw"), "{started}");
}

/// LAVA 2023's `format: qcow2` on a tmpfs deploy's image: the test image's ext4 root file
/// system (its host name changed, so that its prompt tells it from the initramfs) as qcow2
/// is converted to raw after download, QEMU boots it as `{rootfs}` on virtio, and the test
/// shell (its overlay carried into the root by the initramfs) runs from it.
#[test]
fn a_qcow2_image_is_converted_to_raw_and_boots() {
    let image = test_image().unwrap();
    let run = Run::new();
    let raw = run.path("stage.ext4");
    std::fs::copy(&image.rootfs_ext4, &raw).unwrap();
    let stage = run.path("hostname-stage");
    std::fs::create_dir_all(stage.join("etc")).unwrap();
    std::fs::write(stage.join("etc/hostname"), "lava-qcow2\n").unwrap();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(lava_dispatcher::ext4::write_tree(
            &raw,
            &stage,
            run.dir.path(),
        ))
        .unwrap();
    let qcow2 = run.path("files/rootfs.qcow2");
    let status = Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(&raw)
        .arg(&qcow2)
        .status()
        .expect("qemu-img (package qemu-utils)");
    assert!(status.success());
    let job = format!(
        r#"device_type: qemu
job_name: qcow2 root file system
visibility: public
context:
  arch: x86_64
  no_kvm: true
timeouts:
  job: {{minutes: 10}}
  action: {{minutes: 5}}
actions:
- deploy:
    to: tmpfs
    images:
      kernel:
        image_arg: -kernel {{kernel}} -append "console=ttyS0,115200 root=/dev/vda"
        url: {kernel}
      initrd:
        image_arg: -initrd {{initrd}}
        url: {initrd}
      rootfs:
        image_arg: -drive format=raw,if=virtio,file={{rootfs}}
        url: {qcow2}
        format: qcow2
- boot:
    method: qemu
    media: tmpfs
    auto_login:
      login_prompt: 'lava-qcow2 login:'
      username: root
    prompts:
    - 'root@lava-qcow2:~#'
- test:
    definitions:
    - from: inline
      name: qcow2
      path: inline/qcow2.yaml
      repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: qcow2
        run:
          steps:
          - lava-test-case root-on-vda --shell grep -q "^/dev/vda / ext4" /proc/mounts
"#,
        kernel = url(&image.kernel),
        initrd = url(&image.initramfs),
        qcow2 = url(&qcow2),
    );
    parse_job(&job).unwrap();
    let job_file = run.path("qcow2.yaml");
    std::fs::write(&job_file, &job).unwrap();
    let log = run.completes(&job_file);
    assert_eq!(
        run.cases(),
        [(
            "0_qcow2".to_string(),
            "root-on-vda".to_string(),
            "pass".to_string()
        )],
        "{log}"
    );
    assert!(log.contains("rootfs: converted from qcow2 to raw"), "{log}");
    let started = run.qemu_started();
    assert!(
        started.contains("file=") && started.contains("/rootfs/rootfs.img"),
        "{started}"
    );
    run.assert_no_leftovers();
}

/// tuxlava's arm64 job on the U-Boot board's arm64 kernel and ramdisk, booted directly by
/// QEMU: the context's CPU and machine (board features that pass the job allow-list) reach
/// `qemu-system-aarch64` through LAVA's template.
#[test]
fn tuxlava_arm64_qemu_job_runs_to_complete() {
    let image = lava_testkit::board_image().unwrap();
    let started = tuxlava_job_runs("qemu-arm64", &image.kernel, &image.ramdisk);
    for option in [
        "qemu-system-aarch64",
        "-cpu 'max,pauth-impdef=on'",
        "-machine 'virt,virtualization=on,gic-version=3,mte=on'",
        "-m 4G",
    ] {
        assert!(started.contains(option), "{option}: {started}");
    }
}
