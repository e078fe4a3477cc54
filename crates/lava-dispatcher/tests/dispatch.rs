//! `lava-dispatch` end to end: real QEMU (TCG) booting the test image, and the simulated
//! serial board behind real ser2net and pdudaemon; then every way a job must fail cleanly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lava_common::log::{Level, Value};
use lava_testkit::{FakeBoard, test_image};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// One job run's sandbox: dispatcher config, job file, output.
struct Run {
    dir: tempfile::TempDir,
    job_id: String,
    /// More environment for `lava-dispatch`.
    env: Vec<(&'static str, &'static str)>,
}

/// The directories the jobs here name in file URLs: the test image's and the workspace's
/// `share/` (the smoke test definition).
fn file_url_dirs() -> String {
    let img = test_image().unwrap();
    format!(
        "{}:{}",
        img.kernel.parent().unwrap().display(),
        workspace().join("share").display()
    )
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Run {
    fn new() -> Run {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["etc/devices", "etc/device-types"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        Run {
            dir,
            job_id: format!("t{}-{n}", std::process::id()),
            env: Vec::new(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Installs the example device type and a device file.
    fn kvm_device(&self) -> PathBuf {
        let ex = workspace().join("examples/device-types/kvm.conf");
        std::fs::copy(ex, self.path("etc/device-types/kvm.conf")).unwrap();
        self.write(
            "etc/devices/kvm01.conf",
            "device_type = kvm\nhostname = kvm01\n",
        )
    }

    fn command(&self, device: &Path, job: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lava-dispatch"));
        cmd.args(["--device", device.to_str().unwrap()])
            .args(["--output-dir", self.path("out").to_str().unwrap()])
            .args(["--job-id", &self.job_id])
            .arg(job)
            .env("LAVA_QEMU_ACCEL", "tcg")
            .env("LAVA_DISPATCHER_CACHE", self.path("cache"))
            .env("LAVA_FILE_URL_DIRS", file_url_dirs())
            .envs(self.env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn dispatch(&self, device: &Path, job: &Path) -> Output {
        let out = self.command(device, job).output().unwrap();
        // The simulated board's shell is the host's: remove what the test shell wrote.
        let _ = std::fs::remove_dir_all(format!("/lava-{}", self.job_id));
        out
    }

    fn log(&self) -> Vec<lava_common::log::LogLine> {
        common::parse_log(&std::fs::read_to_string(self.path("out/output.yaml")).unwrap())
    }

    fn texts(&self, lvl: Level) -> Vec<String> {
        common::texts(self.log(), lvl)
    }

    /// (definition, case, result) of every test result, LAVA's own actions excluded.
    fn cases(&self) -> Vec<(String, String, String)> {
        self.results()
            .into_iter()
            .filter(|m| m["definition"] != Value::from("lava"))
            .map(|m| (s(&m["definition"]), s(&m["case"]), s(&m["result"])))
            .collect()
    }

    fn results(&self) -> Vec<std::collections::BTreeMap<String, Value>> {
        common::results(self.log())
    }

    /// The final `job` result.
    fn job_result(&self) -> std::collections::BTreeMap<String, Value> {
        self.results()
            .into_iter()
            .rfind(|m| m["case"] == Value::from("job"))
            .expect("a job result")
    }

    /// No process mentions this run's directory any more (QEMU, telnet, shells).
    fn assert_no_leftovers(&self) {
        let needle = self.dir.path().to_str().unwrap();
        let out = Command::new("ps")
            .args(["-eo", "stat=,args="])
            .output()
            .unwrap();
        let ps = String::from_utf8_lossy(&out.stdout).into_owned();
        let live: Vec<&str> = ps
            .lines()
            .filter(|l| l.contains(needle) && !l.trim_start().starts_with('Z'))
            .collect();
        assert!(live.is_empty(), "left running: {live:?}");
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::Str(s) | Value::Scalar(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The kvm health check with its image locations set to the built test image, as the seed
/// tells admins to "set a usable location".
fn kvm_health_job(run: &Run) -> PathBuf {
    let job = test_image()
        .unwrap()
        .example_job("health-checks/kvm-health.json")
        .unwrap();
    run.write("kvm-health.json", &job)
}

/// LAVA 2023's qemu job, unchanged but for its image locations.
fn qemu_yaml_job(run: &Run) -> PathBuf {
    let job = test_image()
        .unwrap()
        .example_job("jobs/qemu-smoke.yaml")
        .unwrap();
    run.write("qemu-smoke.yaml", &job)
}

#[test]
fn kvm_health_check_boots_and_runs_the_test_shell() {
    let run = Run::new();
    let device = run.kvm_device();
    let job = kvm_health_job(&run);
    let out = run.dispatch(&device, &job);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(run.job_result()["result"], Value::from("pass"));
    let cases = run.cases();
    let names: Vec<&str> = cases.iter().map(|(_, c, _)| c.as_str()).collect();
    assert_eq!(
        names,
        ["kernel-version", "shell-works", "proc-mounted", "uptime"],
        "{cases:?}"
    );
    assert!(
        cases.iter().all(|(d, _, r)| d == "0_smoke" && r == "pass"),
        "{cases:?}"
    );
    // The log also went to stdout, line for line.
    let file = std::fs::read_to_string(run.path("out/output.yaml")).unwrap();
    assert_eq!(text(&out.stdout), file);
    run.assert_no_leftovers();
}

#[test]
fn lava_2023_qemu_job_runs_unchanged() {
    let run = Run::new();
    std::fs::copy(
        workspace().join("examples/device-types/qemu.conf"),
        run.path("etc/device-types/qemu.conf"),
    )
    .unwrap();
    let device = run.write(
        "etc/devices/qemu01.conf",
        "device_type = qemu\nhostname = qemu01\n",
    );
    let job = qemu_yaml_job(&run);
    let out = run.dispatch(&device, &job);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let cases = run.cases();
    let expected = [
        ("kernel-uname", "pass"),
        ("always-pass", "pass"),
        ("always-fail", "fail"),
        ("boot-time", "pass"),
    ];
    let got: Vec<(&str, &str)> = cases
        .iter()
        .map(|(_, c, r)| (c.as_str(), r.as_str()))
        .collect();
    assert_eq!(
        got, expected,
        "a failed test case does not make the job incomplete"
    );
    let boot_time = run
        .results()
        .into_iter()
        .find(|m| m["case"] == Value::from("boot-time"))
        .unwrap();
    assert_eq!(boot_time["measurement"], Value::Scalar("42.5".into()));
    assert_eq!(boot_time["units"], Value::from("ms"));
    assert_eq!(boot_time["definition"], Value::from("0_smoke-inline"));
    // The context keys a .conf device has no use for are said, not dropped silently.
    let warnings = run.texts(Level::Warning);
    assert!(
        warnings.iter().any(|w| w
            .starts_with("context keys with no effect on this device: arch, guestfs_interface")),
        "{warnings:?}"
    );
    run.assert_no_leftovers();
}

/// The same LAVA 2023 job on a LAVA device dictionary over LAVA's own `qemu.jinja2` (Debian's
/// lava-server 2023.01, fetched at test time and linked into the device-types directory
/// beside the dictionary): the QEMU command line comes from LAVA's template, with the job's
/// context (`arch`, and `no_kvm`, which leaves out `-enable-kvm` as on a LAVA worker without
/// KVM).
#[test]
fn lava_2023_qemu_job_runs_on_lavas_qemu_template() {
    let package = lava_testkit::lava_device_types().unwrap();
    let run = Run::new();
    for t in ["qemu.jinja2", "base.jinja2"] {
        std::os::unix::fs::symlink(
            package.device_types().join(t),
            run.path(&format!("etc/device-types/{t}")),
        )
        .unwrap();
    }
    let device = run.write(
        "etc/devices/qemu01.jinja2",
        "{% extends 'qemu.jinja2' %}\n{% set mac_addr = '52:54:00:12:34:59' %}\n{% set memory = 512 %}\n",
    );
    let job = qemu_yaml_job(&run);
    let text = std::fs::read_to_string(&job).unwrap();
    let with_context = text.replace("  arch: amd64\n", "  arch: amd64\n  no_kvm: true\n");
    assert_ne!(with_context, text);
    std::fs::write(&job, with_context).unwrap();
    let out = run.dispatch(&device, &job);
    assert_eq!(out.status.code(), Some(0), "{}", text_of_log(&run));
    let got: Vec<(String, String)> = run.cases().into_iter().map(|(_, c, r)| (c, r)).collect();
    assert_eq!(
        got,
        [
            ("kernel-uname", "pass"),
            ("always-pass", "pass"),
            ("always-fail", "fail"),
            ("boot-time", "pass"),
        ]
        .map(|(c, r)| (c.to_string(), r.to_string()))
    );
    let log = text_of_log(&run);
    assert!(log.contains("qemu-system-x86_64"), "{log}");
    assert!(log.contains("-m 512"), "the dictionary's memory: {log}");
    assert!(log.contains("macaddr=52:54:00:12:34:59"), "{log}");
    assert!(
        !log.contains("-enable-kvm"),
        "no_kvm from the context: {log}"
    );
    assert!(
        run.texts(Level::Warning)
            .iter()
            .all(|w| !w.contains("context keys")),
        "a dictionary takes every context key"
    );
    run.assert_no_leftovers();
}

fn text_of_log(run: &Run) -> String {
    std::fs::read_to_string(run.path("out/output.yaml")).unwrap_or_default()
}

fn board_type(run: &Run) {
    run.write(
        "etc/device-types/fakeboard.conf",
        "client_type = bootloader\n\
         interrupt_boot_prompt = Hit any key to stop autoboot\n\
         interrupt_boot_command =\n\
         bootloader_prompt = =>\n\
         boot_cmds = version\n    boot\n\
         image_boot_msg = Starting kernel\n\
         login_prompt = login:\n\
         username = root\n",
    );
}

#[test]
fn json_job_on_the_serial_board_through_ser2net_and_pdudaemon() {
    let run = Run::new();
    let board = FakeBoard::start().unwrap();
    board_type(&run);
    let pduclient = Path::new(env!("CARGO_BIN_EXE_pduclient"));
    let device = run.write(
        "etc/devices/board01.conf",
        &board.device_conf("board01", "fakeboard", pduclient),
    );
    let job = run.write(
        "board.json",
        &format!(
            r#"{{"job_name": "board-smoke", "device_type": "fakeboard", "timeout": 120,
                "actions": [
                  {{"command": "dummy_deploy"}},
                  {{"command": "boot_linaro_image"}},
                  {{"command": "lava_test_shell", "parameters": {{"testdef_urls": ["file://{}/share/test-definitions/smoke.yaml"], "timeout": 60}}}},
                  {{"command": "submit_results", "parameters": {{"server": "http://localhost/RPC2/", "stream": "/anonymous/lab-health/"}}}}
                ]}}"#,
            workspace().display()
        ),
    );
    let out = run.dispatch(&device, &job);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let target = run.texts(Level::Target).join("\n");
    assert!(
        target.contains("Hit any key to stop autoboot"),
        "U-Boot interrupt"
    );
    assert!(target.contains("U-Boot 2023.01 (fake-board)"));
    assert!(target.contains("fakeboard login:"));
    let input = run.texts(Level::Input);
    assert!(input.contains(&"version\r".to_string()), "{input:?}");
    assert!(input.contains(&"boot\r".to_string()), "{input:?}");
    assert!(input.contains(&"root\r".to_string()), "{input:?}");
    assert_eq!(run.cases().len(), 4, "{:?}", run.cases());
    let pdu = board.pdu_log();
    assert!(
        pdu.contains(" off port=5") && pdu.contains(" on port=5"),
        "the PDU rebooted the board: {pdu}"
    );
    assert!(
        pdu.trim_end().ends_with("off port=5"),
        "finalize powered it off: {pdu}"
    );
    run.assert_no_leftovers();
}

/// Runs a job expected to end incomplete and returns (error_type, error_msg).
fn incomplete(run: &Run, device: &Path, job: &Path) -> (String, String) {
    let started = Instant::now();
    let out = run.dispatch(device, job);
    assert_eq!(
        out.status.code(),
        Some(1),
        "incomplete: {}",
        text(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(90));
    let r = run.job_result();
    assert_eq!(r["result"], Value::from("fail"));
    run.assert_no_leftovers();
    (s(&r["error_type"]), s(&r["error_msg"]))
}

fn qemu_job(run: &Run, extra_timeouts: &str, deploy: &str, boot: &str, steps: &str) -> PathBuf {
    let img = test_image().unwrap();
    let deploy = if deploy.is_empty() {
        format!(
            "      kernel: {{url: 'file://{}'}}\n      ramdisk: {{url: 'file://{}'}}\n",
            img.kernel.display(),
            img.initramfs.display()
        )
    } else {
        deploy.to_string()
    };
    run.write(
        "job.yaml",
        &format!(
            "job_name: negative\ndevice_type: kvm\nvisibility: public\n\
             timeouts:\n  job: {{minutes: 2}}\n{extra_timeouts}\
             actions:\n\
             - deploy:\n    to: tmpfs\n    images:\n{deploy}\
             - boot:\n    method: qemu\n{boot}\
             - test:\n    definitions:\n    - from: inline\n      name: neg\n      path: inline/neg.yaml\n      repository:\n        metadata: {{format: Lava-Test Test Definition 1.0, name: neg}}\n        run:\n          steps:\n{steps}"
        ),
    )
}

/// How a [`qemu_job`] on the kvm device with `deploy`, `boot` and `steps` ends: the error
/// type and message of the incomplete job.
fn kvm_job_fails(run: &Run, deploy: &str, boot: &str, steps: &str) -> (String, String) {
    let device = run.kvm_device();
    let job = qemu_job(run, "", deploy, boot, steps);
    incomplete(run, &device, &job)
}

const LOGIN: &str = "    timeout: {seconds: 40}\n    auto_login: {login_prompt: 'login:', username: root}\n    prompts: ['root@lava-kvm']\n";

/// How a seed-era boot on a fake board whose `.conf` ends with `settings` ends: the error
/// type and message of the incomplete job.
fn fakeboard_boot(settings: &str) -> (String, String) {
    let run = Run::new();
    board_type(&run);
    let device = run.write(
        "etc/devices/b.conf",
        &format!("device_type = fakeboard\nhostname = b\n{settings}"),
    );
    let job = run.write("j.json", r#"{"device_type": "fakeboard", "timeout": 60, "actions": [{"command": "boot_linaro_image"}]}"#);
    incomplete(&run, &device, &job)
}

#[test]
fn a_connection_command_that_exits_is_an_infrastructure_error() {
    let (kind, msg) = fakeboard_boot(
        "connection_command = sh -c 'echo telnet: Unable to connect to remote host; exit 1'\n",
    );
    assert_eq!(kind, "Infrastructure");
    assert!(
        msg.contains("closed") && msg.contains("Unable to connect"),
        "{msg}"
    );
}

#[test]
fn a_failing_pdu_command_names_the_command() {
    let pduclient = env!("CARGO_BIN_EXE_pduclient");
    let (kind, msg) = fakeboard_boot(&format!(
        "connection_command = sh -c 'sleep 30'\n\
         hard_reset_command = {pduclient} --daemon 127.0.0.1:1 --hostname pdu --command reboot --port 05\n"
    ));
    assert_eq!(kind, "Infrastructure");
    assert!(
        msg.contains("hard_reset_command failed") && msg.contains("--daemon 127.0.0.1:1"),
        "{msg}"
    );
}

#[test]
fn a_wrong_login_prompt_times_out_naming_the_action() {
    let run = Run::new();
    let (kind, msg) = kvm_job_fails(
        &run,
        "",
        "    timeout: {seconds: 15}\n    auto_login: {login_prompt: 'nosuch-login:', username: root}\n    prompts: ['# ']\n",
        "          - 'true'\n",
    );
    assert_eq!(kind, "LAVATimeout");
    assert!(msg.contains("boot-qemu-image"), "{msg}");
}

#[test]
fn a_job_timeout_mid_test_kills_the_device() {
    let run = Run::new();
    let device = run.kvm_device();
    let job = qemu_job(&run, "", "", LOGIN, "          - sleep 600\n").to_path_buf();
    let text_job = std::fs::read_to_string(&job)
        .unwrap()
        .replace("job: {minutes: 2}", "job: {seconds: 20}");
    let job = run.write("job.yaml", &text_job);
    let (kind, msg) = incomplete(&run, &device, &job);
    assert_eq!(kind, "LAVATimeout");
    assert!(
        msg.contains("job timed out") && msg.contains("lava-test-shell"),
        "{msg}"
    );
}

#[test]
fn sigterm_mid_test_cancels_through_finalize() {
    let run = Run::new();
    let device = run.kvm_device();
    let job = qemu_job(&run, "", "", LOGIN, "          - sleep 600\n");
    let mut child = run
        .command(&device, &job)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = std::fs::read_to_string(run.path("out/output.yaml")).unwrap_or_default();
        if log.contains("running test definition") {
            break;
        }
        assert!(Instant::now() < deadline, "the test never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "canceled");
    let r = run.job_result();
    assert_eq!(r["error_type"], Value::from("Canceled"));
    assert!(
        run.texts(Level::Info)
            .contains(&"start: finalize".to_string())
    );
    run.assert_no_leftovers();
}

#[test]
fn a_checksum_mismatch_is_a_job_error() {
    let run = Run::new();
    let img = test_image().unwrap();
    let deploy = format!(
        "      kernel: {{url: 'file://{}', sha256sum: '{}'}}\n",
        img.kernel.display(),
        "0".repeat(64)
    );
    let (kind, msg) = kvm_job_fails(&run, &deploy, LOGIN, "          - 'true'\n");
    assert_eq!(kind, "Job");
    assert!(msg.contains("checksum mismatch"), "{msg}");
}

#[test]
fn an_unreachable_image_url_is_an_infrastructure_error() {
    let mut run = Run::new();
    // A closed port of this host: local targets allowed, so the fetch really fails.
    run.env.push(("LAVA_ALLOW_LOCAL_TARGETS", "true"));
    let (kind, msg) = kvm_job_fails(
        &run,
        "      kernel: {url: 'http://127.0.0.1:1/vmlinuz'}\n",
        LOGIN,
        "          - 'true'\n",
    );
    assert_eq!(kind, "Infrastructure");
    assert!(
        msg.contains("cannot download http://127.0.0.1:1/vmlinuz"),
        "{msg}"
    );
}

#[test]
fn lava_test_raise_ends_the_job_with_a_test_error() {
    let run = Run::new();
    let (kind, msg) = kvm_job_fails(
        &run,
        "",
        LOGIN,
        "          - lava-test-case before --result pass\n          - lava-test-raise disk-full\n          - lava-test-case after --result pass\n",
    );
    assert_eq!(kind, "Test");
    assert!(msg.contains("disk-full"), "{msg}");
    let cases: Vec<String> = run.cases().into_iter().map(|(_, c, _)| c).collect();
    assert_eq!(cases, ["before"]);
}
