//! Faults a lab must survive without losing a job or a log line: a worker restarted mid-job
//! (it re-attaches), the web app and scheduler restarted mid-job, PostgreSQL restarted
//! mid-job, and a worker killed for good (its job ends incomplete and the device waits for a
//! health check). Real daemons, a real QEMU device, a private PostgreSQL cluster.

mod common;

use std::process::{Command, Stdio};

use common::{Daemon, Lab, bin, file_url_dirs, kvm01_lab, token_file, wait_for};
use lava_testkit::{PgCluster, test_image};

const LONG_JOB: &str = "job_name: long\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {minutes: 3}\nactions:\n- deploy:\n    to: tmpfs\n    images:\n      kernel: {url: 'file://KERNEL'}\n      ramdisk: {url: 'file://RAMDISK'}\n- boot:\n    method: qemu\n    auto_login: {login_prompt: 'login:', username: root}\n    prompts: ['root@lava-kvm']\n- test:\n    definitions:\n    - from: inline\n      name: slow\n      path: inline/slow.yaml\n      repository:\n        metadata: {format: Lava-Test Test Definition 1.0, name: slow}\n        run:\n          steps:\n          - sleep 6\n          - lava-test-case after-the-fault --result pass\n";

struct Running {
    lab: Lab,
    url: String,
    port: u16,
    web: Option<Daemon>,
    scheduler: Option<Daemon>,
    worker: Option<Daemon>,
    job: String,
}

impl Running {
    fn web(&self) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.lab.dir.path().join("web.log"))
            .unwrap();
        Daemon(
            self.lab
                .server()
                .args(["web", "--listen", &format!("127.0.0.1:{}", self.port)])
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }

    fn scheduler(&self) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.lab.dir.path().join("scheduler.log"))
            .unwrap();
        Daemon(
            self.lab
                .server()
                .args(["scheduler", "--interval", "1", "--worker-timeout", "8"])
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }

    fn worker(&self) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.lab.dir.path().join("worker.log"))
            .unwrap();
        Daemon(
            Command::new(bin("lava-dispatcher"))
                .args([
                    "worker",
                    "--url",
                    &self.url,
                    "--name",
                    "w",
                    "--poll-wait-ms",
                    "3000",
                ])
                .env("LAVA_ROOT", self.lab.dir.path().join("host"))
                .env("LAVA_FILE_URL_DIRS", file_url_dirs())
                .env("LAVA_QEMU_ACCEL", "tcg")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }

    fn submit(&self) -> String {
        let f = self.lab.write("long.yaml", &self.job);
        self.lab
            .manage(&["submit", f.to_str().unwrap()])
            .trim()
            .to_string()
    }

    fn field(&self, id: &str, key: &str) -> String {
        let v: serde_json::Value =
            serde_json::from_str(&self.lab.manage(&["jobs", "show", id, "--json"])).unwrap();
        match &v[key] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// Waits until the job's test shell is running on the device.
    fn wait_mid_test(&self, id: &str) {
        wait_for("the job to reach its test", 90, || {
            let log = std::fs::read_to_string(
                self.lab
                    .dir
                    .path()
                    .join(format!("server/var/lib/lava-server/jobs/{id}/output.yaml")),
            )
            .unwrap_or_default();
            log.contains("running test definition").then_some(())
        });
    }

    fn wait_finished(&self, id: &str) -> String {
        wait_for("the job to finish", 120, || {
            (self.field(id, "state") == "finished").then(|| self.field(id, "health"))
        })
    }

    fn assert_whole_log(&self, id: &str) {
        let log = std::fs::read_to_string(
            self.lab
                .dir
                .path()
                .join(format!("server/var/lib/lava-server/jobs/{id}/output.yaml")),
        )
        .unwrap();
        let lines: Vec<&str> = log.lines().collect();
        for l in &lines {
            lava_common::log::parse_line(l).unwrap_or_else(|e| panic!("{l}: {e}"));
        }
        assert!(
            lines.first().unwrap().contains("lava-dispatch"),
            "the log starts at its first line"
        );
        assert!(
            lines.last().unwrap().contains(r#""case": "job""#),
            "the log ends with the job result"
        );
        let once = lines
            .iter()
            .filter(|l| l.contains("start: 0 validate"))
            .count();
        assert_eq!(once, 1, "no line twice");
        assert_eq!(self.field(id, "tests"), "1 pass, 0 fail, 0 skip, 0 unknown");
    }
}

#[test]
fn restarts_lose_nothing_and_a_dead_worker_ends_its_job() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pgdir = tempfile::tempdir().unwrap();
    let (mut pg, lab) = kvm01_lab(&rt, pgdir.path());
    let img = test_image().unwrap();
    let token = lab.manage(&["workers", "add", "w"]).trim().to_string();
    token_file(&lab.dir.path().join("host"), &token);
    lab.manage(&["workers", "approve", "w"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let job = LONG_JOB
        .replace("KERNEL", &img.kernel.display().to_string())
        .replace("RAMDISK", &img.initramfs.display().to_string());
    let mut r = Running {
        lab,
        url: format!("http://127.0.0.1:{port}"),
        port,
        web: None,
        scheduler: None,
        worker: None,
        job,
    };
    r.web = Some(r.web());
    r.scheduler = Some(r.scheduler());
    r.worker = Some(r.worker());

    // 1. The worker is killed mid-test and comes back: it re-attaches to the running job.
    let id = r.submit();
    r.wait_mid_test(&id);
    r.worker.as_mut().unwrap().crash();
    r.worker = Some(r.worker());
    assert_eq!(r.wait_finished(&id), "complete");
    r.assert_whole_log(&id);

    // 2. The web app and the scheduler are killed mid-test and restarted.
    let id = r.submit();
    r.wait_mid_test(&id);
    r.web.as_mut().unwrap().crash();
    r.scheduler.as_mut().unwrap().crash();
    std::thread::sleep(std::time::Duration::from_secs(2));
    r.web = Some(r.web());
    r.scheduler = Some(r.scheduler());
    assert_eq!(r.wait_finished(&id), "complete");
    r.assert_whole_log(&id);

    // 3. PostgreSQL restarts mid-test: every daemon reconnects.
    let id = r.submit();
    r.wait_mid_test(&id);
    pg.stop().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let pg2 = PgCluster::start(pgdir.path()).unwrap();
    assert_eq!(r.wait_finished(&id), "complete");
    r.assert_whole_log(&id);

    // 4. The worker dies for good mid-job: after the heartbeat timeout the job ends
    // incomplete with the reason, the device goes unknown, and with a health check set the
    // next job waits for it.
    let hc = r.lab.write("hc.yaml", "job_name: hc\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {minutes: 1}\nactions: []\n");
    r.lab.manage(&[
        "device-types",
        "set-health-check",
        "kvm",
        hc.to_str().unwrap(),
    ]);
    let id = r.submit();
    r.wait_mid_test(&id);
    r.worker.as_mut().unwrap().crash();
    assert_eq!(r.wait_finished(&id), "incomplete");
    assert_eq!(r.field(&id, "error_type"), "Infrastructure");
    assert!(
        r.field(&id, "failure_comment")
            .contains("sent no heartbeat")
    );
    assert!(
        r.lab
            .manage(&["devices", "show", "kvm01"])
            .contains("health: unknown")
    );
    let next = r.submit();
    r.worker = Some(r.worker());
    assert_eq!(r.wait_finished(&next), "complete");
    let jobs: Vec<serde_json::Value> =
        serde_json::from_str(&r.lab.manage(&["jobs", "list", "--json"])).unwrap();
    let check = jobs
        .iter()
        .find(|j| j["health_check"] == true)
        .expect("a health check ran");
    assert!(
        check["id"].as_i64().unwrap() < next.parse::<i64>().unwrap()
            || r.field(&check["id"].to_string(), "start_time") < r.field(&next, "start_time")
    );
    assert_eq!(check["health"], "complete");
    drop(r);
    drop(pg2);
}
