//! The whole lab end to end: PostgreSQL, the web app, two schedulers, and two workers (one
//! with a QEMU device, one with the simulated serial board behind ser2net and pdudaemon),
//! running 20 jobs of mixed priority and tags, then checking the records.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, Lab, bin, file_url_dirs, token_file, workspace};
use lava_testkit::{FakeBoard, test_db, test_image};

const BOARD_TYPE: &str = "client_type = bootloader\ninterrupt_boot_prompt = Hit any key to stop autoboot\ninterrupt_boot_command =\nbootloader_prompt = =>\nboot_cmds = boot\nimage_boot_msg = Starting kernel\nlogin_prompt = login:\nusername = root\n";

fn empty_job(device_type: &str, priority: &str, tags: &str) -> String {
    format!(
        "job_name: e2e-{device_type}-{priority}\ndevice_type: {device_type}\nvisibility: public\npriority: {priority}\n{tags}timeouts:\n  job: {{minutes: 2}}\nactions: []\n"
    )
}

#[test]
fn twenty_jobs_through_two_schedulers_and_two_workers() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(test_db()).unwrap();
    let lab = Lab {
        dir: tempfile::tempdir().unwrap(),
        db_url: db.url().to_string(),
    };
    let img = test_image().unwrap();
    let board = FakeBoard::start().unwrap();
    let ws = workspace();

    // Device types and devices on the server; each worker has its own /etc/lava-dispatcher.
    lab.manage(&["migrate"]);
    let fixture = lab.write(
        "fixture.json",
        r#"[{"model": "lava_scheduler_app.devicetype", "pk": "kvm", "fields": {}},
            {"model": "lava_scheduler_app.devicetype", "pk": "fakeboard", "fields": {}},
            {"model": "lava_scheduler_app.device", "pk": "kvm01", "fields": {"device_type": "kvm", "health": 1}},
            {"model": "lava_scheduler_app.device", "pk": "board01", "fields": {"device_type": "fakeboard", "health": 1, "tags": ["serial"]}}]"#,
    );
    lab.manage(&["loaddata", fixture.to_str().unwrap()]);
    let kvm_check = img.example_job("health-checks/kvm-health.json").unwrap();
    let kvm_check = lab.write("kvm-health.json", &kvm_check);
    lab.manage(&[
        "device-types",
        "set-health-check",
        "kvm",
        kvm_check.to_str().unwrap(),
    ]);
    let board_check = lab.write(
        "board-health.json",
        &format!(
            r#"{{"job_name": "board-health", "device_type": "fakeboard", "timeout": 120, "actions": [
                {{"command": "boot_linaro_image"}},
                {{"command": "lava_test_shell", "parameters": {{"testdef_urls": ["file://{}/share/test-definitions/smoke.yaml"]}}}},
                {{"command": "submit_results", "parameters": {{"server": "http://localhost/RPC2/", "stream": "/anonymous/lab-health/"}}}}]}}"#,
            ws.display()
        ),
    );
    lab.manage(&[
        "device-types",
        "set-health-check",
        "fakeboard",
        board_check.to_str().unwrap(),
    ]);
    let qemu_etc = "qemu-host/etc/lava-dispatcher";
    std::fs::create_dir_all(lab.dir.path().join(qemu_etc).join("device-types")).unwrap();
    std::fs::copy(
        ws.join("examples/device-types/kvm.conf"),
        lab.dir.path().join(qemu_etc).join("device-types/kvm.conf"),
    )
    .unwrap();
    lab.write(
        &format!("{qemu_etc}/devices/kvm01.conf"),
        "device_type = kvm\nhostname = kvm01\n",
    );
    let board_etc = "board-host/etc/lava-dispatcher";
    lab.write(
        &format!("{board_etc}/device-types/fakeboard.conf"),
        BOARD_TYPE,
    );
    lab.write(
        &format!("{board_etc}/devices/board01.conf"),
        &board.device_conf("board01", "fakeboard", &bin("pduclient")),
    );

    // 20 jobs queued before any worker is online, so the order is the scheduler's choice.
    let prios = ["low", "high", "medium", "high", "low"];
    let mut submitted = Vec::new();
    for i in 0..20 {
        let (dt, tags) = if i % 2 == 0 {
            ("kvm", "")
        } else {
            (
                "fakeboard",
                if i % 4 == 1 { "tags: [serial]\n" } else { "" },
            )
        };
        let f = lab.write(
            &format!("jobs/{i}.yaml"),
            &empty_job(dt, prios[i % prios.len()], tags),
        );
        let id: i64 = lab
            .manage(&["submit", f.to_str().unwrap()])
            .trim()
            .parse()
            .unwrap();
        submitted.push(id);
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let quiet = || Stdio::null();
    let _web = Daemon(
        lab.server()
            .args(["web", "--listen", &format!("127.0.0.1:{port}")])
            .stderr(quiet())
            .spawn()
            .unwrap(),
    );
    let _s1 = Daemon(
        lab.server()
            .args(["scheduler", "--interval", "2"])
            .stderr(quiet())
            .spawn()
            .unwrap(),
    );
    let _s2 = Daemon(
        lab.server()
            .args(["scheduler", "--interval", "2"])
            .stderr(quiet())
            .spawn()
            .unwrap(),
    );
    let worker = |name: &str, host: &str| {
        let token = lab.manage(&["workers", "add", name]).trim().to_string();
        token_file(&lab.dir.path().join(host), &token);
        // Its `.conf` files may claim the lab's unassigned devices.
        lab.manage(&["workers", "approve", name]);
        let log = std::fs::File::create(lab.dir.path().join(format!("{name}.log"))).unwrap();
        Daemon(
            Command::new(bin("lava-dispatcher"))
                .args([
                    "worker",
                    "--url",
                    &url,
                    "--name",
                    name,
                    "--poll-wait-ms",
                    "5000",
                ])
                .env("LAVA_ROOT", lab.dir.path().join(host))
                .env("LAVA_FILE_URL_DIRS", file_url_dirs())
                .env("LAVA_QEMU_ACCEL", "tcg")
                .env("LAVA_DISPATCHER_CACHE", lab.dir.path().join("cache"))
                .stdout(quiet())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    };
    let _w1 = worker("qemu-host", "qemu-host");
    let _w2 = worker("board-host", "board-host");

    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let list = lab.manage(&["jobs", "list", "--limit", "100"]);
        let open = list.lines().filter(|l| !l.contains("\tfinished\t")).count();
        if open == 0 && list.lines().count() >= 22 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "jobs still open:\n{list}\nworker logs:\n{}\n{}",
            std::fs::read_to_string(lab.dir.path().join("qemu-host.log")).unwrap_or_default(),
            std::fs::read_to_string(lab.dir.path().join("board-host.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let jobs: Vec<serde_json::Value> =
        serde_json::from_str(&lab.manage(&["jobs", "list", "--limit", "100", "--json"])).unwrap();
    assert_eq!(jobs.len(), 22, "20 jobs and one health check per device");
    let mut per_device: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for j in &jobs {
        assert_eq!(j["health"], "complete", "{j}");
        let shown: serde_json::Value =
            serde_json::from_str(&lab.manage(&["jobs", "show", &j["id"].to_string(), "--json"]))
                .unwrap();
        per_device
            .entry(shown["device"].as_str().unwrap().to_string())
            .or_default()
            .push(shown);
    }
    for (device, mut runs) in per_device {
        runs.sort_by(|a, b| a["start_time"].as_str().cmp(&b["start_time"].as_str()));
        assert_eq!(
            runs[0]["health_check"], true,
            "{device}: the health check ran first"
        );
        for pair in runs.windows(2) {
            assert!(
                pair[0]["end_time"].as_str() <= pair[1]["start_time"].as_str(),
                "{device} ran two jobs at once: {pair:?}"
            );
        }
        let expected_type = if device == "kvm01" {
            "kvm"
        } else {
            "fakeboard"
        };
        let prio: Vec<i64> = runs[1..]
            .iter()
            .map(|r| r["priority"].as_i64().unwrap())
            .collect();
        assert!(
            prio.windows(2).all(|w| w[0] >= w[1]),
            "{device}: higher priority first: {prio:?}"
        );
        for r in &runs[1..] {
            assert_eq!(r["device_type"], expected_type);
        }
        // The health checks ran real test shells; their results are in the database.
        assert!(
            runs[0]["tests"].as_str().unwrap().starts_with("4 pass"),
            "{device}: {}",
            runs[0]
        );
    }
    assert!(
        lab.manage(&["streams", "list"])
            .starts_with("/anonymous/lab-health/\t2\t"),
        "both health checks filed a bundle"
    );
    assert!(board.pdu_log().contains("on port=5"));
    // The simulated board's shell has a root of its own: nothing of the jobs reached the
    // host's.
    for j in &jobs {
        let on_host = format!("/lava-{}", j["id"]);
        assert!(!Path::new(&on_host).exists(), "{on_host} on the host");
    }
    let _ = submitted;
}
