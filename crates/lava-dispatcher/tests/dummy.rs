//! The `dummy` device type of `examples/device-types/dummy.conf`: a sandboxed shell on the
//! worker as the board. A job with a minimal boot and an inline test runs to complete in a
//! fraction of a second; its test shell cannot touch the host's files; the boot methods and
//! deploys the type does not have are refused naming it.

use std::path::{Path, PathBuf};
use std::process::Command;

use lava_common::log::{Level, Message, parse_line};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A job on the dummy board whose test step runs `step`; `boot` and `deploy` are YAML
/// fragments of its actions.
fn job(deploy: &str, boot: &str, step: &str) -> String {
    format!(
        "job_name: dummy\ndevice_type: dummy\nvisibility: public\ntimeouts:\n  job: {{minutes: 1}}\nactions:\n{deploy}- boot:\n    method: {boot}\n- test:\n    definitions:\n    - from: inline\n      name: dummy\n      path: inline/dummy.yaml\n      repository:\n        metadata: {{format: Lava-Test Test Definition 1.0, name: dummy}}\n        run:\n          steps:\n          - '{step}'\n"
    )
}

/// Runs `job` on a dummy device made from the example files; returns the log's lines.
fn run(job_id: &str, job: &str) -> Vec<lava_common::log::LogLine> {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir_all(etc.join("device-types")).unwrap();
    std::fs::create_dir_all(etc.join("devices")).unwrap();
    std::fs::copy(
        workspace().join("examples/device-types/dummy.conf"),
        etc.join("device-types/dummy.conf"),
    )
    .unwrap();
    std::fs::copy(
        workspace().join("examples/devices/dummy01.conf"),
        etc.join("devices/dummy01.conf"),
    )
    .unwrap();
    let file = dir.path().join("job.yaml");
    std::fs::write(&file, job).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lava-dispatch"))
        .arg("--device")
        .arg(etc.join("devices/dummy01.conf"))
        .arg("--output-dir")
        .arg(dir.path().join("out"))
        .args(["--job-id", job_id, "--quiet"])
        .arg(&file)
        .output()
        .unwrap();
    let log = std::fs::read_to_string(dir.path().join("out/output.yaml")).unwrap_or_else(|e| {
        panic!(
            "no output.yaml ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    log.lines().map(|l| parse_line(l).unwrap()).collect()
}

fn texts(lines: &[lava_common::log::LogLine], lvl: Level) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.lvl == lvl)
        .filter_map(|l| match &l.msg {
            Message::Text(t) => Some(t.clone()),
            Message::Map(_) => None,
        })
        .collect()
}

fn job_result(lines: &[lava_common::log::LogLine]) -> String {
    let last = lines.last().unwrap();
    assert_eq!(last.lvl, Level::Results);
    format!("{:?}", last.msg)
}

#[test]
fn a_minimal_boot_and_an_inline_test_run_in_the_sandboxed_shell() {
    let id = format!("dummy{}", std::process::id());
    let step = "i=1; while [ $i -le 30 ]; do echo \"line $i\"; i=$((i+1)); done; mount -o remount,rw,bind /usr 2>/dev/null && echo remounted; test -w /usr && echo usr-is-writable || echo usr-is-read-only; ls /home /root /etc 2>&1 | head -n 3; lava-test-case counted --result pass";
    let lines = run(&id, &job("", "minimal", step));
    let result = job_result(&lines);
    assert!(result.contains("pass"), "{result}");
    let target = texts(&lines, Level::Target);
    for i in 1..=30 {
        let n = target.iter().filter(|t| **t == format!("line {i}")).count();
        assert_eq!(n, 1, "line {i} is logged once: {target:?}");
    }
    assert!(target.iter().any(|t| t == "usr-is-read-only"), "{target:?}");
    assert!(
        !target.iter().any(|t| t == "remounted"),
        "no capability to remount the host's /usr, even for a root worker: {target:?}"
    );
    assert!(
        target
            .iter()
            .any(|t| t.contains("/home") && t.contains("No such file")),
        "the host's files are not in the sandbox: {target:?}"
    );
    // The overlay went to the board's own root, not the host's.
    assert!(!Path::new(&format!("/lava-{id}")).exists());
}

#[test]
fn boot_methods_and_deploys_the_type_lacks_are_refused_naming_it() {
    for (deploy, boot, want) in [
        (
            "",
            "qemu",
            "device type 'dummy' cannot boot with method qemu: it has no qemu_options (client_type = dummy)",
        ),
        ("", "u-boot", "device type 'dummy' has no bootloader"),
        (
            "- deploy:\n    to: tftp\n    images:\n      kernel: {url: 'file:///nonexistent/vmlinuz'}\n",
            "minimal",
            "device type 'dummy' cannot deploy to tftp (it supports: tmpfs)",
        ),
    ] {
        let lines = run("refused", &job(deploy, boot, "true"));
        let errors = texts(&lines, Level::Error);
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "{boot}/{deploy}: {errors:?}"
        );
        assert!(job_result(&lines).contains("fail"));
    }
}
