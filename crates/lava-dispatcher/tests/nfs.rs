//! NFS root file systems up to the export: `deploy: to: nfs` unpacks the job's rootfs under
//! the NFS root, puts the test overlay in it and exports it with Debian's `exportfs`; the
//! job's "board" is a shell chrooted into the exported directory (this machine's kernel has
//! no NFS server, so the last step, the board mounting it, cannot run here); at the end the
//! export is gone and so is the directory.
//!
//! `exportfs` keeps its table in /var/lib/nfs: the job runs in a private mount namespace
//! with a directory of the test's own mounted there, so the host's exports are untouched.

use std::path::Path;
use std::process::Command;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A root file system tarball: Debian's static busybox and its applets.
fn rootfs_tarball(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("rootfs");
    for d in ["bin", "tmp", "proc"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
    for applet in text(&list.stdout).lines() {
        let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
    }
    let tarball = dir.join("rootfs.tar.gz");
    lava_testkit::tar(&tarball, &root, ".").unwrap();
    tarball
}

/// What one NFS job left: its exit, its log, the export it made and the export table.
struct NfsRun {
    out: std::process::Output,
    log: String,
    exported: std::path::PathBuf,
    etab: std::path::PathBuf,
}

/// Runs a job deploying `nfsrootfs` (the YAML of the image, one line) to nfs, booting the
/// chroot "board" and running the test `steps` in it, in a private mount namespace.
fn nfs_job(d: &Path, nfsrootfs: &str, steps: &str) -> NfsRun {
    let nfs = d.join("nfs");
    let state = d.join("nfs-state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("etab"), "").unwrap();
    let job_id = format!("nfs{}", std::process::id());
    let exported = nfs.join(&job_id);
    std::fs::create_dir_all(d.join("etc/device-types")).unwrap();
    std::fs::create_dir_all(d.join("etc/devices")).unwrap();
    std::fs::write(
        d.join("etc/device-types/nfsboard.conf"),
        "client_type = bootloader\nbootloader_prompt = =>\n",
    )
    .unwrap();
    // The "board": what a board booted with this root would see, a shell in it; first it
    // shows the export table, as the NFS server would serve it.
    let device = d.join("etc/devices/nfs01.conf");
    std::fs::write(
        &device,
        format!(
            "device_type = nfsboard\nconnection_command = sh -c 'exportfs -v; exec chroot \"$0\" /bin/sh -i' {}\n",
            exported.display()
        ),
    )
    .unwrap();
    let job = d.join("job.yaml");
    std::fs::write(
        &job,
        format!(
            "job_name: nfs\ndevice_type: nfsboard\nvisibility: public\ntimeouts:\n  job: {{minutes: 2}}\n\
             actions:\n\
             - deploy:\n    to: nfs\n    nfsrootfs: {nfsrootfs}\n\
             - boot:\n    method: minimal\n    prompts: ['/ # ']\n\
             - test:\n    definitions:\n    - from: inline\n      name: inroot\n      path: inline/inroot.yaml\n      repository:\n        metadata: {{format: Lava-Test Test Definition 1.0, name: inroot}}\n        run:\n          steps:\n{steps}",
        ),
    )
    .unwrap();
    let out_dir = d.join("out");
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount --bind \"$0\" /var/lib/nfs && exec \"$@\"")
        .arg(&state)
        .arg(env!("CARGO_BIN_EXE_lava-dispatch"))
        .arg("--device")
        .arg(&device)
        .arg("--output-dir")
        .arg(&out_dir)
        .args(["--job-id", &job_id, "--quiet"])
        .arg(&job)
        .env("LAVA_ROOT", d.join("root"))
        .env("LAVA_NFS_ROOT", &nfs)
        .env("LAVA_FILE_URL_DIRS", d)
        .env("LAVA_DISPATCHER_CACHE", d.join("cache"))
        .output()
        .unwrap();
    let log = std::fs::read_to_string(out_dir.join("output.yaml")).unwrap_or_default();
    NfsRun {
        out,
        log,
        exported,
        etab: state.join("etab"),
    }
}

#[test]
fn an_nfs_root_is_unpacked_filled_exported_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tarball = rootfs_tarball(d);
    let NfsRun {
        out,
        log,
        exported,
        etab,
    } = nfs_job(
        d,
        &format!("{{url: 'file://{}', compression: gz}}", tarball.display()),
        "          - lava-test-case busybox-root --shell test -x /bin/busybox\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}\n{log}", text(&out.stderr));
    assert!(
        log.contains(&format!(
            "exported *:{} (rw,no_root_squash",
            exported.display()
        )),
        "{log}"
    );
    // The export table as the board's side printed it during the job.
    assert!(
        log.contains(&format!(
            r#""lvl": "target", "msg": "{}"#,
            exported.display()
        )),
        "exportfs -v listed the job's root: {log}"
    );
    assert!(
        log.contains(r#""case": "busybox-root", "definition": "0_inroot""#)
            && log.contains(r#""result": "pass""#),
        "the test ran inside the exported root, from the overlay put there: {log}"
    );
    assert!(!log.contains("over the console"), "{log}");
    assert!(log.contains("unexported and removed"), "{log}");
    assert!(!exported.exists(), "the job's root is removed");
    let etab = std::fs::read_to_string(etab).unwrap();
    assert!(!etab.contains(&exported.display().to_string()), "{etab}");
}

/// LAVA 2023's `format: tar` with `overlays` on the nfsrootfs: the test overlay and a named
/// tarball are appended to the root file system's tarball, so the export holds them and
/// the test runs from it, with the file the overlay replaced.
#[test]
fn an_nfs_roots_overlays_are_in_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tarball = rootfs_tarball(d);
    let extra = d.join("extra");
    std::fs::create_dir_all(extra.join("lib/modules/nfs")).unwrap();
    std::fs::write(extra.join("lib/modules/nfs/marker"), "nfs-overlay\n").unwrap();
    let extra_tar = d.join("extra.tar.gz");
    lava_testkit::tar(&extra_tar, &extra, "lib").unwrap();
    let NfsRun { out, log, .. } = nfs_job(
        d,
        &format!(
            "{{url: 'file://{}', compression: gz, format: tar, overlays: {{lava: true, modules: {{url: 'file://{}', format: tar, path: /}}}}}}",
            tarball.display(),
            extra_tar.display()
        ),
        "          - lava-test-case modules-overlay --shell grep -q nfs-overlay /lib/modules/nfs/marker\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}\n{log}", text(&out.stderr));
    assert!(
        log.contains(r#""case": "modules-overlay", "definition": "0_inroot""#)
            && log.contains(r#""result": "pass""#),
        "{log}"
    );
    assert!(
        log.contains("overlay(s) lava, modules appended to the tarball"),
        "{log}"
    );
    assert!(
        !log.contains("the test overlay is in the root file system"),
        "the test overlay came with the tarball, not unpacked a second time: {log}"
    );
}
