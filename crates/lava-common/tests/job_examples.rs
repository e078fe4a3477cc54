//! Every job under `examples/jobs/` and `examples/health-checks/` parses into a plan, LAVA's
//! own sample jobs parse, errors name the path and line, and no input makes the parser panic.

use std::path::Path;
use std::time::Duration;

use lava_common::job::{
    ActionKind, BootMethod, DeployTo, JobError, SourceFormat, TestSource, Visibility, parse_job,
};
use proptest::prelude::*;

/// LAVA 2023.01's job 256 as submitted (`samples/callback/job-with-notify.yaml`).
const JOB_WITH_NOTIFY: &str = r#"# job 256 as submitted (XML-RPC scheduler.jobs.submit)
# LAVA job with a lava-test-shell: Debian generic kernel + its initramfs-tools initrd,
# no root fs -> drops to the "(initramfs)" busybox shell; LAVA attaches the test overlay as a
# qcow2 disk built with libguestfs (needs LIBGUESTFS_BACKEND_SETTINGS=force_tcg here) and mounts it.
device_type: qemu
job_name: qemu-amd64-testshell-notify
timeouts:
  job: {minutes: 10}
  action: {minutes: 5}
  connection: {minutes: 2}
priority: high
visibility: public
context:
  arch: amd64
  guestfs_interface: virtio
actions:
- deploy:
    timeout: {minutes: 4}
    to: tmpfs
    images:
      kernel:
        image_arg: -kernel {kernel} -append "console=ttyS0,115200 root=/dev/ram0 rootdelay=3"
        url: file:///srv/lava-images/vmlinuz-generic
      initrd:
        image_arg: -initrd {initrd}
        url: file:///srv/lava-images/initrd-generic.img
- boot:
    method: qemu
    media: tmpfs
    timeout: {minutes: 4}
    prompts:
    - '\(initramfs\)'
- test:
    timeout: {minutes: 4}
    definitions:
    - repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: smoke-inline
          description: "trivial inline checks"
        run:
          steps:
          - lava-test-case kernel-uname --shell uname -a
          - lava-test-case always-pass --shell true
          - lava-test-case always-fail --shell false
          - lava-test-case boot-time --result pass --measurement 42.5 --units ms
      from: inline
      name: smoke-inline
      path: inline/smoke.yaml
metadata:
  kernel.tree: mainline
  platform: qemu-x86
notify:
  criteria:
    status: finished
  callbacks:
  - url: http://127.0.0.1:8897/cb-json/{ID}/{STATUS}/{STATUS_STRING}
    method: POST
    dataset: all
    token: XXXX
    content-type: json
  - url: http://127.0.0.1:8897/cb-form/{ID}
    method: POST
    dataset: minimal
    token: XXXX
    header: X-Lava-Token
  - url: http://127.0.0.1:8897/cb-get/{ID}/{STATUS_STRING}
    method: GET
"#;

fn example_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files = Vec::new();
    for sub in ["jobs", "health-checks"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files.sort();
    files
}

#[test]
fn every_example_job_parses() {
    let files = example_files();
    assert!(files.len() >= 3, "found {files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let plan = parse_job(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(plan.timeouts.job > Duration::ZERO, "{}", path.display());
        assert!(!plan.actions.is_empty(), "{}", path.display());
    }
}

#[test]
fn the_qemu_job_has_kernel_initrd_and_prompts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/jobs");
    let text = std::fs::read_to_string(dir.join("qemu-smoke.yaml")).unwrap();
    for text in [text.as_str(), JOB_WITH_NOTIFY] {
        let plan = parse_job(text).unwrap();
        assert_eq!(plan.source, SourceFormat::Yaml);
        assert_eq!(plan.device_type.as_deref(), Some("qemu"));
        assert_eq!(plan.priority, 100);
        assert_eq!(plan.visibility, Visibility::Public);
        assert_eq!(plan.timeouts.connection, Some(Duration::from_secs(120)));
        let ActionKind::Deploy(deploy) = &plan.actions[0].kind else {
            panic!("not a deploy")
        };
        assert_eq!(deploy.to, DeployTo::Tmpfs);
        let names: Vec<&str> = deploy.images.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["kernel", "initrd"]);
        let kernel = deploy.image("kernel").unwrap();
        assert!(
            kernel
                .image_arg
                .as_deref()
                .unwrap()
                .starts_with("-kernel {kernel}")
        );
        assert_eq!(
            deploy.ramdisk().unwrap().image_arg.as_deref(),
            Some("-initrd {initrd}")
        );
        let ActionKind::Boot(boot) = &plan.actions[1].kind else {
            panic!("not a boot")
        };
        assert_eq!(boot.method, BootMethod::Qemu);
        assert_eq!(boot.prompts, [r"\(initramfs\)"]);
        assert_eq!(plan.actions[1].timeout, Some(Duration::from_secs(240)));
        let ActionKind::Test(test) = &plan.actions[2].kind else {
            panic!("not a test")
        };
        let TestSource::Inline { definition } = &test.definitions[0].source else {
            panic!()
        };
        assert_eq!(definition["metadata"]["name"], "smoke-inline");
        assert_eq!(plan.metadata["kernel.tree"], "mainline");
    }
    let plan = parse_job(JOB_WITH_NOTIFY).unwrap();
    assert_eq!(plan.notify.unwrap()["callbacks"][0]["dataset"], "all");
}

#[test]
fn the_kvm_job_is_seed_era_json() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/jobs");
    let plan = parse_job(&std::fs::read_to_string(dir.join("kvm-smoke.json")).unwrap()).unwrap();
    assert_eq!(plan.source, SourceFormat::Json);
    assert_eq!(plan.device_type.as_deref(), Some("kvm"));
    assert!(
        matches!(&plan.actions[3].kind, ActionKind::SubmitResults(s) if s.stream == "/anonymous/lab-health/")
    );
}

const HEAD: &str = "\
job_name: t
device_type: qemu
timeouts:
  job: {minutes: 10}
visibility: public
actions:
";

/// (job text, expected error display) for the schema errors users hit.
#[test]
fn errors_name_path_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "job_name: t\ndevice_type: qemu\nvisibility: public\nactions: []\n",
            "line 1: timeouts: required key not provided",
        ),
        (
            "priority: urgent\n",
            "line 8: priority: unknown priority 'urgent' (expected high, medium, low or 0 to 100)",
        ),
        (
            "- deploy: {to: tmpfs, images: {}}\n- reboot: {}\n",
            "line 8: actions[1]: unknown action 'reboot' (supported: deploy, boot, test)",
        ),
        (
            "- boot:\n    method: grub\n",
            "line 8: actions[0].boot.method: unknown boot method 'grub' (supported: qemu, u-boot, minimal)",
        ),
        (
            "- test:\n    definitions:\n    - from: git\n      name: x\n      path: a.yaml\n",
            "line 9: actions[0].test.definitions[0].repository: required key not provided",
        ),
        (
            "- deploy:\n    to: tmpfs\n    images:\n      kernel:\n        url: file:///k\n        image_arg: -kernel {kernel} -initrd {initrd}\n",
            "line 10: actions[0].deploy.images.kernel: image_arg names '{initrd}' but the deploy has no image 'initrd'",
        ),
        (
            "- deploy:\n    to: tmpfs\n    images:\n      kernel: {url: file:///k, sha256sum: abc}\n",
            "line 10: actions[0].deploy.images.kernel.sha256sum: expected 64 hex digits",
        ),
        (
            "- test:\n    interactive: []\n",
            "line 8: actions[0].test.interactive: interactive tests are not supported",
        ),
        (
            "- boot:\n    method: minimal\n    auto_login: {username: root}\n",
            "line 9: actions[0].boot.auto_login.login_prompt: required key not provided",
        ),
    ];
    for (tail, want) in cases {
        let text = if tail.starts_with("job_name") {
            tail.to_string()
        } else if tail.starts_with('-') {
            format!("{HEAD}{tail}")
        } else {
            format!("{HEAD}  []\n{tail}")
        };
        let err = parse_job(&text).unwrap_err();
        assert_eq!(err.to_string(), *want, "{text}");
    }
}

#[test]
fn syntax_errors_are_syntax_errors() {
    assert!(matches!(
        parse_job("a: [1\n"),
        Err(JobError::Syntax {
            format: SourceFormat::Yaml,
            ..
        })
    ));
    assert!(matches!(
        parse_job("{\"a\": }"),
        Err(JobError::Syntax {
            format: SourceFormat::Json,
            ..
        })
    ));
}

/// YAML-ish and JSON-ish text built from the pieces jobs are made of.
fn jobish() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "job_name: ",
        "device_type: ",
        "timeouts:",
        "job:",
        "{minutes: 1}",
        "actions:",
        "- ",
        "deploy:",
        "boot:",
        "test:",
        "method: qemu",
        "images:",
        "kernel:",
        "url: x",
        "image_arg: {kernel}",
        "to: tmpfs",
        "definitions:",
        "from: inline",
        "repository:",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "\n",
        "  ",
        "&a ",
        "*a",
        "\"command\": ",
        "\"timeout\": 5",
        "\"actions\": [",
        "null",
        "-1",
        "1e999",
        "\t",
        "---\n",
        "!!str ",
    ]);
    prop::collection::vec(piece, 0..60).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC*") {
        let _ = parse_job(&text);
    }

    #[test]
    fn jobish_text_never_panics(text in jobish()) {
        let _ = parse_job(&text);
        let _ = parse_job(&format!("{{{text}"));
    }

    #[test]
    fn mutated_examples_never_panic(cut in 0usize..2000, insert in "[ -~\n]{0,8}") {
        for path in example_files() {
            let text = std::fs::read_to_string(&path).unwrap();
            let mut at = cut.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let _ = parse_job(&format!("{}{insert}{}", &text[..at], &text[at..]));
        }
    }
}

#[test]
fn the_board_jobs_deploy_over_tftp_and_boot_with_uboot() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/jobs");
    let yaml =
        parse_job(&std::fs::read_to_string(dir.join("uboot-ramdisk.yaml")).unwrap()).unwrap();
    assert_eq!(yaml.device_type.as_deref(), Some("uboot-qemu"));
    let ActionKind::Deploy(deploy) = &yaml.actions[0].kind else {
        panic!("not a deploy")
    };
    assert_eq!(deploy.to, DeployTo::Tftp);
    let names: Vec<&str> = deploy.images.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["kernel", "ramdisk", "dtb"]);
    assert_eq!(
        deploy.image("kernel").unwrap().kernel_type,
        Some(lava_common::job::KernelType::Image)
    );
    let ActionKind::Boot(boot) = &yaml.actions[1].kind else {
        panic!("not a boot")
    };
    assert_eq!(boot.method, BootMethod::UBoot);
    assert_eq!(boot.command_set.as_deref(), Some("ramdisk"));
    assert_eq!(yaml.actions[1].failure_retry, Some(2));
    assert!(matches!(
        &yaml.actions[2].kind,
        ActionKind::Test(t) if matches!(t.definitions[0].source, TestSource::Git { .. })
    ));
    let json = parse_job(&std::fs::read_to_string(dir.join("uboot-kernel.json")).unwrap()).unwrap();
    assert_eq!(json.source, SourceFormat::Json);
    let ActionKind::Deploy(deploy) = &json.actions[0].kind else {
        panic!("not a deploy")
    };
    let names: Vec<&str> = deploy.images.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["kernel", "ramdisk", "dtb"]);
    assert!(matches!(&json.actions[1].kind, ActionKind::Boot(b) if b.method == BootMethod::Device));
}
