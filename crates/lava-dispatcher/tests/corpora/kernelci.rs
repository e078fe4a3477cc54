//! KernelCI's QEMU job: its LAVA job templates (kernelci-core's `config/runtime/`) are Jinja2
//! fed by its pipeline's database, so the QEMU x86_64 baseline job is written here in the
//! shape they render, with our own commands and images, and run as rendered: its QEMU in a
//! container image (`docker`), under podman with storage private to the test.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use lava_common::job::parse_job;
use lava_testkit::test_image;

use super::common::{
    KERNELCI_TIMEOUTS, kernelci_baseline_test, kernelci_boot_limits, ramdisk_with_init_script,
    wait_for,
};
use super::podman::{IMAGE, IMAGE_QEMU, Podman};
use super::{Run, url};

/// The boot's `docker` block as KernelCI's template renders it.
const KERNELCI_DOCKER: &str =
    "    docker:\n      binary: qemu-system-x86_64\n      image: kernelci/qemu\n";

/// A QEMU x86_64 baseline job in the shape KernelCI's LAVA templates render
/// (`config/runtime/base/lava.jinja2` with `boot/qemu.jinja2` and `tests/baseline.jinja2` of
/// kernelci-core): numeric priority, a context, `timeouts.queue`, a notify callback,
/// metadata, a tmpfs deploy of a kernel and ramdisk with `image_arg`s and `os`, a QEMU boot
/// run in KernelCI's container image (`docker`) with `failure_retry` and its steps' own
/// `timeouts`, and an inline baseline test signalling through the kernel log. The commands
/// are ours. `docker` is the boot's block ([`KERNELCI_DOCKER`]), or empty to leave it out.
fn kernelci_qemu_job(kernel: &str, ramdisk: &str, docker: &str, login_limit: &str) -> String {
    format!(
        r#"job_name: "[KernelCI AKS] 66a0f1c2d3e4 baseline-x86 v6.9-rc1-12-gabcdef012345"

device_type: qemu

visibility: public

priority: 10

context:
  arch: x86_64
  cpu: qemu64
  guestfs_interface: ide

{KERNELCI_TIMEOUTS}
notify:
  callback:
    content-type: json
    dataset: all
    method: POST
    token: kernelci-callback
    url: https://kernelci.example/node/66a0f1c2d3e4
  criteria:
    status: finished

metadata:
  node_id: 66a0f1c2d3e4
  api_config_name: staging
  storage_config_name: staging-azure

actions:
- deploy:
    images:
      kernel:
        image_arg: -kernel {{kernel}} -append "console=ttyS0,115200 root=/dev/ram0 debug
          verbose console_msg_format=syslog earlycon"
        url: '{kernel}'
      ramdisk:
        image_arg: -initrd {{ramdisk}}
        url: '{ramdisk}'
    os: oe
    timeout:
      minutes: 3
    to: tmpfs

- boot:
{docker}    media: tmpfs
    method: qemu
{boot_limits}
{baseline}"#,
        boot_limits = kernelci_boot_limits(login_limit),
        baseline = kernelci_baseline_test(
            "proc-cmdline --shell grep -q console_msg_format=syslog /proc/cmdline"
        ),
    )
}

/// A ramdisk like KernelCI's buildroot one: the test image with an `/init` after it (a second
/// cpio archive, which the kernel unpacks over the first) that mounts the kernel's file
/// systems and gives a root shell on the console with busybox's prompt, `/ # `.
fn buildroot_like_ramdisk(run: &Run) -> PathBuf {
    ramdisk_with_init(run, "exec setsid cttyhack sh -i\n")
}

/// The test image with an `/init` that mounts what a shell needs, then ends with `last`.
fn ramdisk_with_init(run: &Run, last: &str) -> PathBuf {
    let script = format!(
        "#!/bin/sh\nexport PATH=/sbin:/usr/sbin:/bin:/usr/bin\n\
         mount -t devtmpfs devtmpfs /dev\nmount -t proc proc /proc\nmount -t sysfs sysfs /sys\n\
         exec </dev/console >/dev/console 2>&1\ncd /\nexport PS1='\\w \\$ '\n{last}"
    );
    let base = std::fs::read(test_image().unwrap().initramfs).unwrap();
    let ramdisk = ramdisk_with_init_script(&base, &script, &run.path("ramdisk-stage"));
    let file = run.path("files/rootfs.cpio.gz");
    std::fs::write(&file, ramdisk).unwrap();
    file
}

/// The boot's `docker` block for the test's local image, run from the image's own QEMU.
fn local_docker() -> String {
    format!("    docker:\n      binary: {IMAGE_QEMU}\n      image: {IMAGE}\n      local: true\n")
}

/// The worker's settings for the test's podman, allowing [`IMAGE`] alone, as the environment
/// variables `lava-dispatch` reads them from.
fn worker_env(podman: &Podman) -> Vec<(&'static str, OsString)> {
    let mut env = podman.env();
    env.extend([
        ("LAVA_DOCKER_ENGINE", OsString::from("podman")),
        ("LAVA_DOCKER_IMAGES", OsString::from(IMAGE)),
        (
            "LAVA_DOCKER_ENGINE_OPTIONS",
            OsString::from(podman.engine_options().join(" ")),
        ),
    ]);
    env
}

fn as_env<'a>(env: &'a [(&'static str, OsString)]) -> Vec<(&'static str, &'a OsStr)> {
    env.iter().map(|(k, v)| (*k, v.as_os_str())).collect()
}

/// A worker where `/dev/kvm` cannot run guests says so in its dictionary (KernelCI's jobs do
/// not set `no_kvm`, and LAVA's template then asks QEMU for KVM).
const NO_KVM: &str = "{% set no_kvm = true %}\n";

/// KernelCI's QEMU job as its templates render it runs its QEMU in the container image it
/// names, once the worker allows that image: here a local one made from the host's QEMU,
/// under podman with storage private to the test. The job runs to complete on a LAVA qemu
/// device: the log shows QEMU started in the container, from a path only the image has; its
/// test's markers come through the kernel log, its boot's step limits are kept
/// (`login-action`, no step of a QEMU boot, limits nothing, as in LAVA); and the container is
/// gone afterwards. As rendered, naming `kernelci/qemu`, the job is refused before anything
/// starts, naming the image and the setting.
#[test]
fn a_kernelci_qemu_baseline_job_runs_in_its_container() {
    let run = Run::new();
    let kernel = url(&test_image().unwrap().kernel);
    let ramdisk = url(&buildroot_like_ramdisk(&run));
    let podman = Podman::new(&run.path("podman"));
    podman.import_qemu_image();
    let options = podman.engine_options().join(" ");
    let worker = worker_env(&podman);
    let env = as_env(&worker);
    let device = run.qemu_device(NO_KVM);

    let as_rendered = kernelci_qemu_job(&kernel, &ramdisk, KERNELCI_DOCKER, "minutes: 6");
    let plan = parse_job(&as_rendered).unwrap();
    assert_eq!(plan.priority, 10);
    assert_eq!(
        plan.timeouts.queue,
        Some(std::time::Duration::from_secs(2 * 86400))
    );
    let job_file = run.path("kernelci-qemu.yaml");
    std::fs::write(&job_file, &as_rendered).unwrap();
    let out = run.dispatch_with(&device, &job_file, &env);
    let log = run.log_text();
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains(
            "docker image 'kernelci/qemu' is not allowed on this worker: add it to docker.images in "
        ),
        "{log}"
    );
    assert!(
        log.contains(&format!("dispatcher.toml (allowed: {IMAGE})")),
        "{log}"
    );
    assert!(!log.contains("starting: "), "nothing started: {log}");

    let job = kernelci_qemu_job(&kernel, &ramdisk, &local_docker(), "minutes: 6");
    std::fs::write(&job_file, &job).unwrap();
    let out = run.dispatch_with(&device, &job_file, &env);
    let log = run.log_text();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = log
        .lines()
        .find(|l| l.contains("\"starting: podman "))
        .unwrap_or_else(|| panic!("{log}"));
    let work = run.path("out/work").display().to_string();
    for part in [
        format!("{options} run --rm --init -i --name lava-docker-qemu-corpora"),
        format!(
            "--mount 'type=bind,source={work},destination={work}' '--pull=never' {IMAGE} {IMAGE_QEMU} "
        ),
    ] {
        assert!(started.contains(&part), "{part}: {started}");
    }
    assert!(
        !std::path::Path::new(IMAGE_QEMU).exists(),
        "the host has {IMAGE_QEMU}"
    );
    let pass = |c: &str| ("0_dmesg".to_string(), c.to_string(), "pass".to_string());
    assert_eq!(
        run.cases(),
        [pass("proc-cmdline"), pass("kmsg-writable")],
        "{log}"
    );
    assert!(
        log.contains(
            "timeouts.login-action of boot-qemu-image: no step of this action has that name"
        ),
        "{log}"
    );
    assert!(log.contains("] <LAVA_SIGNAL_STARTRUN 0_dmesg"), "{log}");
    assert!(
        log.contains("removed the container lava-docker-qemu-corpora"),
        "{log}"
    );
    assert_eq!(podman.containers(), "", "the job's container is gone");
    run.assert_no_leftovers_within(30);
}

/// A job canceled while its QEMU runs in the container (SIGTERM to `lava-dispatch`, as the
/// worker sends it) leaves no container behind: killing the engine's client does not stop
/// one, the finalize step removes it.
#[test]
fn a_canceled_job_leaves_no_container() {
    let run = Run::new();
    let kernel = url(&test_image().unwrap().kernel);
    let ramdisk = url(&ramdisk_with_init(
        &run,
        "echo 'no shell on this board'\nexec sleep 100000\n",
    ));
    let podman = Podman::new(&run.path("podman"));
    podman.import_qemu_image();
    let worker = worker_env(&podman);
    let job = kernelci_qemu_job(&kernel, &ramdisk, &local_docker(), "minutes: 6");
    let job_file = run.path("kernelci-qemu.yaml");
    std::fs::write(&job_file, &job).unwrap();
    let device = run.qemu_device(NO_KVM);
    let child = run
        .dispatch_command(&device, &job_file, &as_env(&worker))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut dispatch = Stopped(Some(child));
    wait_for("the board's init in the container", 300, || {
        run.log_text()
            .contains("no shell on this board")
            .then_some(())
    });
    let running = podman.containers();
    assert!(
        running.starts_with("lava-docker-qemu-corpora"),
        "the job's container runs: {running:?}"
    );
    let mut child = dispatch.0.take().unwrap();
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    let log = run.log_text();
    assert_eq!(status.code(), Some(3), "canceled: {log}");
    assert!(
        log.contains("removed the container lava-docker-qemu-corpora"),
        "{log}"
    );
    assert_eq!(podman.containers(), "", "the job's container is gone");
    run.assert_no_leftovers_within(30);
}

/// A `lava-dispatch` killed if the test fails before it ends.
struct Stopped(Option<std::process::Child>);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What the job names as its image is checked at submit: only an image reference, never an
/// option of the engine.
#[test]
fn a_kernelci_job_naming_no_image_reference_is_refused() {
    for image in ["--privileged", "kernelci/QEMU", "a b"] {
        let docker = format!("    docker:\n      image: '{image}'\n");
        let job = kernelci_qemu_job("file:///k", "file:///r", &docker, "minutes: 6");
        let e = parse_job(&job).unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "actions[1].boot.docker.image: '{image}' is not a valid image reference"
            )),
            "{e}"
        );
    }
}

/// The boot's `auto-login-action` limit holds inside its 20 minutes: with two seconds for it
/// and a board that never shows its shell prompt (its init waits forever, so how fast this
/// machine boots does not matter), each of the three tries fails naming the step, and the
/// job ends incomplete within seconds, not after the boot's 20 minutes.
#[test]
fn a_kernelci_boot_step_limit_ends_the_boot_naming_the_step() {
    let run = Run::new();
    let kernel = url(&test_image().unwrap().kernel);
    let ramdisk = url(&ramdisk_with_init(
        &run,
        "echo 'no shell on this board'\nexec sleep 100000\n",
    ));
    let job = kernelci_qemu_job(&kernel, &ramdisk, "", "seconds: 2");
    let job_file = run.path("kernelci-qemu.yaml");
    std::fs::write(&job_file, &job).unwrap();
    let device = run.qemu_device(NO_KVM);
    let started = std::time::Instant::now();
    let out = run.dispatch(&device, &job_file);
    let log = run.log_text();
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "{log}"
    );
    let step_failures = log
        .lines()
        .filter(|l| {
            l.contains("\"lvl\": \"exception\"")
                && l.contains("auto-login-action timed out after 2s")
        })
        .count();
    assert_eq!(step_failures, 3, "one per try: {log}");
    assert!(log.contains("\"error_type\": \"LAVATimeout\""), "{log}");
    run.assert_no_leftovers();
}
