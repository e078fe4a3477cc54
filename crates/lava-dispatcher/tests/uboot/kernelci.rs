//! A board job in the shape KernelCI's LAVA templates render for a U-Boot board
//! (kernelci-core's `config/runtime/base/lava.jinja2` with `boot/u-boot.jinja2` and
//! `tests/baseline.jinja2`), on the U-Boot QEMU board: a tftp deploy of a typed kernel, xz
//! modules, a dtb and a gz ramdisk, the device type's `ramdisk` commands with
//! `failure_retry` and the boot's own step `timeouts`, and a baseline test signalling through
//! the kernel log. The commands and images are ours.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::common::{
    KERNELCI_TIMEOUTS, kernelci_baseline_test, kernelci_boot_limits, ramdisk_with_init_script,
};
use super::harness::BoardRun;

/// A ramdisk like KernelCI's buildroot one: the board's ramdisk with an `/init` after it (a
/// second cpio archive, unpacked over the first) that mounts the kernel's file systems and
/// gives a root shell on the console with busybox's prompt, `/ # ` (the board's busybox links
/// its applets at boot, as its own `/init` does).
fn buildroot_like_ramdisk(run: &BoardRun) -> PathBuf {
    let script = "#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\n/bin/busybox --install -s\n\
         export PATH=/sbin:/usr/sbin:/bin:/usr/bin\n\
         mount -t devtmpfs devtmpfs /dev\nmount -t sysfs sysfs /sys\n\
         exec </dev/console >/dev/console 2>&1\ncd /\nexport PS1='\\w \\$ '\n\
         exec setsid cttyhack sh -i\n";
    let base = std::fs::read(&run.image.ramdisk).unwrap();
    let ramdisk = ramdisk_with_init_script(&base, script, &run.dir().join("ramdisk-stage"));
    let file = run.dir().join("rootfs.cpio.gz");
    std::fs::write(&file, ramdisk).unwrap();
    file
}

/// A kernel build's modules tarball, xz-compressed, with a marker the test looks for.
fn modules(run: &BoardRun) -> PathBuf {
    let text = b"kernelci-modules\n";
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "lib/modules/kernelci/marker", &text[..])
        .unwrap();
    let mut xz = xz2::write::XzEncoder::new(Vec::new(), 1);
    xz.write_all(&tar.into_inner().unwrap()).unwrap();
    let file = run.dir().join("modules.tar.xz");
    std::fs::write(&file, xz.finish().unwrap()).unwrap();
    file
}

fn job(run: &BoardRun, ramdisk: &Path, modules: &Path) -> String {
    format!(
        r#"job_name: "[KernelCI AKS] 66a0f1c2d3e5 baseline-arm64 v6.9-rc1-12-gabcdef012345"

device_type: uboot-qemu

visibility: public

priority: 10

{KERNELCI_TIMEOUTS}
metadata:
  node_id: 66a0f1c2d3e5
  api_config_name: staging
  storage_config_name: staging-azure

actions:
- deploy:
    kernel:
      type: image
      url: 'file://{kernel}'
    modules:
      compression: xz
      url: 'file://{modules}'
    dtb:
      url: 'file://{dtb}'
    ramdisk:
      url: 'file://{ramdisk}'
      compression: gz
    os: oe
    timeout:
      minutes: 10
    to: tftp

- boot:
    method: u-boot
    commands: ramdisk
{boot_limits}
{baseline}"#,
        kernel = run.image.kernel.display(),
        dtb = run.image.dtb.display(),
        ramdisk = ramdisk.display(),
        modules = modules.display(),
        boot_limits = kernelci_boot_limits("minutes: 6"),
        baseline = kernelci_baseline_test(
            "modules --shell grep -q kernelci-modules /lib/modules/kernelci/marker"
        ),
    )
}

/// KernelCI's U-Boot baseline job runs to complete on the board: the modules reach the
/// ramdisk, the markers come through the kernel log, the boot's step limits are kept
/// (`login-action`, no step of ours, limits nothing, as in LAVA).
#[test]
fn a_kernelci_uboot_baseline_job_runs_on_the_board() {
    let run = BoardRun::start(0);
    let ramdisk = buildroot_like_ramdisk(&run);
    let modules = modules(&run);
    let text = job(&run, &ramdisk, &modules);
    lava_common::job::parse_job(&text).unwrap();
    let file = run.dir().join("kernelci-uboot.yaml");
    std::fs::write(&file, text).unwrap();
    let out = run.dispatch(&file);
    let log = run.log_text();
    assert_eq!(out.status.code(), Some(0), "{log}");
    let pass = |c: &str| ("0_dmesg".to_string(), c.to_string(), "pass".to_string());
    assert_eq!(
        run.cases(),
        [pass("modules"), pass("kmsg-writable")],
        "{log}"
    );
    assert!(log.contains("] <LAVA_SIGNAL_STARTRUN 0_dmesg"), "{log}");
    assert!(
        log.contains("timeouts.login-action of uboot-action: no step of this action has that name"),
        "{log}"
    );
    run.assert_clean();
}
