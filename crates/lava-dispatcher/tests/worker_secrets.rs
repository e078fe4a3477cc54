//! What a job run by the worker can see of the worker: not its token (neither on a child's
//! command line nor in a child's environment, even when the worker's own environment holds
//! it), and nothing of other users' jobs (job directories 0750, files 0640, even under a
//! worker started with umask 000). And where a job's own `secrets` go: to its test shell
//! only, never onto a command line, into an environment or into the log. Real daemons, a
//! real QEMU device, a private PostgreSQL.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Daemon, bin, kvm01_lab, token_file, wait_for};
use lava_testkit::test_image;

const JOB: &str = "job_name: secrets\ndevice_type: kvm\nvisibility: public\nsecrets:\n  API_KEY: \"VALUE\"\ntimeouts:\n  job: {minutes: 3}\nactions:\n- deploy:\n    to: tmpfs\n    images:\n      kernel: {url: 'file://KERNEL'}\n      ramdisk: {url: 'file://RAMDISK'}\n- boot:\n    method: qemu\n    auto_login: {login_prompt: 'login:', username: root}\n    prompts: ['root@lava-kvm']\n- test:\n    definitions:\n    - from: inline\n      name: wait\n      path: inline/wait.yaml\n      repository:\n        metadata: {format: Lava-Test Test Definition 1.0, name: wait}\n        run:\n          steps:\n          - . /lava-*/secrets\n          - 'case \"$API_KEY\" in PFX-*-SFX) lava-test-case secret-read --result pass;; *) lava-test-case secret-read --result fail;; esac'\n          - echo \"leak:$API_KEY:${#API_KEY}\"\n          - sleep 8\n          - lava-test-case waited --result pass\n";

/// The processes whose command line names `needle`: (pid, command line, environment).
fn processes_naming(needle: &str) -> Vec<(u32, String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if !cmdline.contains(needle) {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        out.push((pid, cmdline, environ));
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every directory under `dir` (itself included) is 0750 and every file 0640.
fn assert_private(dir: &Path) {
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o7777;
        let want = if entry.file_type().is_dir() {
            0o750
        } else if entry.file_type().is_file() {
            0o640
        } else {
            continue;
        };
        assert_eq!(
            mode,
            want,
            "{} is {mode:04o}, not {want:04o}",
            entry.path().display()
        );
    }
}

#[test]
fn neither_the_token_nor_a_secret_leaks_from_a_job_and_job_files_are_private() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pgdir = tempfile::tempdir().unwrap();
    let (_pg, lab) = kvm01_lab(&rt, pgdir.path());
    let img = test_image().unwrap();
    let host = lab.dir.path().join("host");
    let token = lab.manage(&["workers", "add", "w"]).trim().to_string();
    lab.manage(&["devices", "set-worker", "kvm01", "w"]);
    let token_file = token_file(&host, &token);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = |name: &str| std::fs::File::create(lab.dir.path().join(name)).unwrap();
    let _web = Daemon(
        lab.server()
            .args(["web", "--listen", &format!("127.0.0.1:{port}")])
            .stderr(log("web.log"))
            .spawn()
            .unwrap(),
    );
    let _scheduler = Daemon(
        lab.server()
            .args(["scheduler", "--interval", "1"])
            .stderr(log("scheduler.log"))
            .spawn()
            .unwrap(),
    );
    // The token also sits in the worker's own environment, as an old EnvironmentFile would
    // put it there, and the worker starts with umask 000.
    let worker = Daemon(
        Command::new("sh")
            .args(["-c", r#"umask 000; exec "$0" "$@""#])
            .arg(bin("lava-dispatcher"))
            .args(["worker", "--url", &format!("http://127.0.0.1:{port}")])
            .args(["--name", "w", "--poll-wait-ms", "3000", "--token-file"])
            .arg(&token_file)
            .env("LAVA_WORKER_TOKEN", &token)
            .env("LAVA_ROOT", &host)
            .env("LAVA_QEMU_ACCEL", "tcg")
            .env(
                "LAVA_FILE_URL_DIRS",
                img.kernel.parent().unwrap().as_os_str(),
            )
            .stdout(Stdio::null())
            .stderr(log("worker.log"))
            .spawn()
            .unwrap(),
    );

    // Only the secrets block holds the whole value; the test step checks its two ends.
    let value = format!("PFX-{}-SFX", std::process::id() as u64 * 7919 + 104_729);
    let job = JOB
        .replace("KERNEL", &img.kernel.display().to_string())
        .replace("RAMDISK", &img.initramfs.display().to_string())
        .replace("VALUE", &value);
    let f = lab.write("job.yaml", &job);
    let id = lab
        .manage(&["submit", f.to_str().unwrap()])
        .trim()
        .to_string();
    let job_dir = host.join(format!("var/lib/lava-dispatcher/worker/jobs/{id}"));
    wait_for("the job's test to run", 120, || {
        let log = std::fs::read_to_string(job_dir.join("output.yaml")).unwrap_or_default();
        log.contains("running test definition").then_some(())
    });

    let found = processes_naming(&job_dir.display().to_string());
    let dispatch: Vec<_> = found
        .iter()
        .filter(|(_, cmd, _)| cmd.contains("lava-dispatch "))
        .collect();
    let qemu: Vec<_> = found
        .iter()
        .filter(|(_, cmd, _)| cmd.starts_with("qemu-system"))
        .collect();
    assert!(!dispatch.is_empty() && !qemu.is_empty(), "{found:#?}");
    assert!(
        dispatch
            .iter()
            .any(|(_, cmd, _)| cmd.contains("--secrets ")),
        "{dispatch:#?}"
    );
    for (pid, cmdline, environ) in dispatch.iter().chain(&qemu) {
        assert!(
            !cmdline.contains(&value) && !contains(environ, &value),
            "{pid} {cmdline}: the job's secret on the command line or in the environment"
        );
        assert!(
            !cmdline.contains(&token),
            "{pid} {cmdline}: token on the command line"
        );
        assert!(
            !contains(environ, &token),
            "{pid} {cmdline}: token in the environment"
        );
        assert!(
            !contains(environ, "LAVA_WORKER_TOKEN="),
            "{pid} {cmdline}: LAVA_WORKER_TOKEN in the environment"
        );
    }
    let own = std::fs::read(format!("/proc/{}/environ", worker.0.id())).unwrap();
    assert!(
        contains(&own, &token),
        "the worker's own environment holds the token, so the check above means something"
    );
    assert_private(&job_dir);

    let secrets_file = job_dir.join("secrets.json");
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&secrets_file).unwrap()).unwrap();
    assert_eq!(
        kept["API_KEY"],
        value.as_str(),
        "{}",
        secrets_file.display()
    );

    let shown = wait_for("the job to finish", 120, || {
        let v: serde_json::Value =
            serde_json::from_str(&lab.manage(&["jobs", "show", &id, "--json"])).unwrap();
        (v["state"] == "finished").then_some(v)
    });
    assert_eq!(shown["health"], "complete", "{shown}");
    let server_log = std::fs::read_to_string(shown["log"].as_str().unwrap()).unwrap();
    assert!(
        !server_log.contains(&value),
        "the secret is in the log: {server_log}"
    );
    let leak = format!("leak:[MASKED]:{}", value.len());
    assert!(server_log.contains(&leak), "no {leak} in {server_log}");
    assert!(
        server_log
            .lines()
            .any(|l| l.contains("\"secret-read\"") && l.contains("\"result\": \"pass\"")),
        "the test shell did not read the secret: {server_log}"
    );
    drop(worker);
}
