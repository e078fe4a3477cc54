//! The seed's "Generating KVM images on Debian", end to end: `share/create-kvm-image --image`
//! (what `lava-dev image kvm` and `/usr/share/lava-server/create-kvm-image` run) builds a full
//! Debian 12 disk image from Debian's mirror with the seed's options, and `lava-dispatch`
//! boots it as a `kvm` job to a test shell that checks each option took effect.
//!
//! Slow (a few minutes to build, a minute or more to boot under TCG) and it needs Debian's
//! mirror: `#[ignore]`d, run by `make test-kvm-image` (CI runs it after the other tests;
//! `make bench` prints its times).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use lava_common::log::{Message, Value, parse_line};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A package for `--custom-package`: one script that says it was installed.
fn marker_deb(dir: &Path) -> PathBuf {
    let root = dir.join("marker");
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: lava-image-marker\nVersion: 1.0\nArchitecture: all\n\
         Maintainer: LAVA tests <lava@example.invalid>\nDescription: marker\n a marker\n",
    )
    .unwrap();
    let script = root.join("usr/bin/lava-image-marker");
    std::fs::write(&script, "#!/bin/sh\necho custom-package-installed\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let deb = dir.join("lava-image-marker_1.0_all.deb");
    let st = Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group"])
        .arg(&root)
        .arg(&deb)
        .stdout(Stdio::null())
        .status()
        .expect("dpkg-deb (package dpkg)");
    assert!(st.success());
    deb
}

/// The job: LAVA 2023's qemu form with kernel, initrd and the disk, the image's
/// auto-login shell as the prompt, and a test shell checking the image's options.
fn job(dir: &Path) -> String {
    let f = |name: &str| format!("file://{}", dir.join(name).display());
    format!(
        r#"device_type: kvm
job_name: debian-12-full-image
visibility: public
timeouts:
  job: {{minutes: 20}}
  action: {{minutes: 10}}
  connection: {{minutes: 5}}
actions:
- deploy:
    to: tmpfs
    images:
      kernel:
        image_arg: -kernel {{kernel}} -append "console=ttyS0,115200 root=/dev/vda1 rw"
        url: {kernel}
      initrd:
        image_arg: -initrd {{initrd}}
        url: {initrd}
      rootfs:
        image_arg: -drive format=qcow2,if=virtio,file={{rootfs}}
        url: {rootfs}
- boot:
    method: qemu
    media: tmpfs
    timeout: {{minutes: 10}}
    prompts:
    - 'root@lava-kvm:~#'
- test:
    timeout: {{minutes: 5}}
    definitions:
    - repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: full-image
          description: "the options of create-kvm-image --image"
        run:
          steps:
          - lava-test-case debian-12 --shell grep -q '^VERSION_ID="12"' /etc/os-release
          - lava-test-case custom-package --shell sh -c 'lava-image-marker | grep -q custom-package-installed'
          - lava-test-case root-password --shell sh -c 'grep "^root:" /etc/shadow | cut -d":" -f2 | grep -q "^[$]y[$]"'
          - lava-test-case dhcp-address --shell sh -c 'for i in $(seq 60); do ip -4 addr show | grep -q "inet 10\.0\.2\." && exit 0; sleep 1; done; exit 1'
          - lava-test-case serial-autologin --shell test -e /etc/systemd/system/serial-getty@ttyS0.service.d/lava-autologin.conf
          - lava-test-case root-on-vda1 --shell sh -c 'grep -q "^/dev/vda1 / ext4" /proc/mounts'
      from: inline
      name: full-image
      path: inline/full-image.yaml
"#,
        kernel = f("debian.vmlinuz"),
        initrd = f("debian.initrd.img"),
        rootfs = f("debian.qcow2"),
    )
}

#[test]
#[ignore = "slow: builds a Debian image from the mirror and boots it (make test-kvm-image)"]
fn a_full_debian_image_boots_as_a_kvm_job_to_a_test_shell() {
    let dir = tempfile::tempdir().unwrap();
    // mmdebstrap's user namespace reads the packages and writes the tarball here.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let deb = marker_deb(dir.path());
    let t = Instant::now();
    let out = Command::new("sh")
        .arg(workspace().join("share/create-kvm-image"))
        .arg("--image")
        .arg(dir.path().join("debian.qcow2"))
        .arg("--custom-package")
        .arg(&deb)
        .args([
            "--enable-dhcp",
            "--serial-console",
            // A password containing what a careless script would expand.
            "--root-password",
            "r00t '$HOME' \"x\"",
        ])
        .output()
        .unwrap();
    let built = t.elapsed();
    assert!(
        out.status.success(),
        "create-kvm-image: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["debian.qcow2", "debian.vmlinuz", "debian.initrd.img"] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }

    let etc = dir.path().join("etc");
    std::fs::create_dir_all(etc.join("device-types")).unwrap();
    std::fs::create_dir_all(etc.join("devices")).unwrap();
    std::fs::copy(
        workspace().join("examples/device-types/kvm.conf"),
        etc.join("device-types/kvm.conf"),
    )
    .unwrap();
    let device = etc.join("devices/kvm01.conf");
    // The full system wants more memory than the small image's 512 MiB.
    std::fs::write(
        &device,
        "device_type = kvm\nhostname = kvm01\nqemu_options = -machine accel=%(qemu_accel)s -m 1024 -nographic -no-reboot -net nic,model=virtio -net user\n",
    )
    .unwrap();
    let job_file = dir.path().join("job.yaml");
    std::fs::write(&job_file, job(dir.path())).unwrap();
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_lava-dispatch"))
        .arg("--device")
        .arg(&device)
        .arg("--output-dir")
        .arg(dir.path().join("out"))
        .args(["--job-id", "full-image", "--quiet"])
        .arg(&job_file)
        .env("LAVA_QEMU_ACCEL", "tcg")
        .env("LAVA_DISPATCHER_CACHE", dir.path().join("cache"))
        .env("LAVA_FILE_URL_DIRS", dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let booted = t.elapsed();
    let log = std::fs::read_to_string(dir.path().join("out/output.yaml")).unwrap_or_default();
    let tail: String = log
        .lines()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        out.status.success(),
        "the job did not complete ({:?}): {}\n{tail}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut results = Vec::new();
    for line in log.lines() {
        let l = parse_line(line).unwrap();
        if let Message::Map(m) = l.msg
            // LAVA names a job's test definitions by their position: 0_full-image.
            && m.get("definition") == Some(&Value::from("0_full-image"))
        {
            results.push((m["case"].clone(), m["result"].clone()));
        }
    }
    let want = [
        "debian-12",
        "custom-package",
        "root-password",
        "dhcp-address",
        "serial-autologin",
        "root-on-vda1",
    ];
    for case in want {
        let got = results
            .iter()
            .find(|(c, _)| *c == Value::from(case))
            .map(|(_, r)| r.clone());
        assert_eq!(
            got,
            Some(Value::from("pass")),
            "{case}: {results:?}\n{tail}"
        );
    }
    eprintln!(
        "full Debian image: built in {:.0} s, booted to a test shell and tested in {:.0} s",
        built.as_secs_f64(),
        booted.as_secs_f64()
    );
}
