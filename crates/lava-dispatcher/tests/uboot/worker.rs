//! Both example board jobs (LAVA YAML and seed-era JSON) submitted to the server, run by a
//! worker whose device is the U-Boot QEMU board, and ending complete with their results in
//! the database; tftpd-hpa's log shows it served each job's kernel.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lava_testkit::test_db;

use super::harness::{BoardRun, git_repo, smoke};
use crate::common::{Daemon, bin, token_file};

#[test]
fn both_board_jobs_run_through_the_server_and_a_worker() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(test_db()).unwrap();
    let run = BoardRun::start(0);
    let dir = run.dir();
    let server_root = dir.join("server");
    let worker_root = dir.join("worker");
    let manage = |args: &[&str]| -> String {
        let out = Command::new(bin("lava-server"))
            .arg("manage")
            .args(args)
            .env("LAVA_ROOT", &server_root)
            .env("LAVA_DATABASE_URL", db.url())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "manage {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    manage(&["migrate"]);
    let hostname = run.board.hostname().to_string();
    let fixture = dir.join("fixture.json");
    std::fs::write(
        &fixture,
        format!(
            r#"[{{"model": "lava_scheduler_app.devicetype", "pk": "uboot-qemu", "fields": {{}}}},
                {{"model": "lava_scheduler_app.device", "pk": "{hostname}", "fields": {{"device_type": "uboot-qemu", "health": 1}}}}]"#
        ),
    )
    .unwrap();
    manage(&["loaddata", fixture.to_str().unwrap()]);
    // The worker's /etc/lava-dispatcher: the board's device file and its type.
    let etc = worker_root.join("etc/lava-dispatcher");
    std::fs::create_dir_all(etc.join("devices")).unwrap();
    std::fs::create_dir_all(etc.join("device-types")).unwrap();
    let conf = run.board.device_conf_path();
    std::fs::copy(&conf, etc.join("devices").join(conf.file_name().unwrap())).unwrap();
    let type_conf = conf
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("device-types/uboot-qemu.conf");
    std::fs::copy(&type_conf, etc.join("device-types/uboot-qemu.conf")).unwrap();
    let token = manage(&["workers", "add", "board-host"]).trim().to_string();
    // Only the devices an admin assigned to a worker are its to run.
    manage(&["devices", "set-worker", &hostname, "board-host"]);
    token_file(&worker_root, &token);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let server = |args: &[&str]| {
        Daemon(
            Command::new(bin("lava-server"))
                .args(args)
                .env("LAVA_ROOT", &server_root)
                .env("LAVA_DATABASE_URL", db.url())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let _web = server(&["web", "--listen", &listen]);
    let _scheduler = server(&["scheduler", "--interval", "2"]);
    let repo = git_repo(dir, "tests.git", &[("smoke.yaml", smoke())]);
    let ids: Vec<String> = ["jobs/uboot-ramdisk.yaml", "jobs/uboot-kernel.json"]
        .iter()
        .map(|rel| {
            let job = run.example(rel, &repo);
            manage(&["submit", job.to_str().unwrap()])
                .trim()
                .to_string()
        })
        .collect();
    let worker_log = std::fs::File::create(dir.join("worker.log")).unwrap();
    let _worker = Daemon(
        Command::new(bin("lava-dispatcher"))
            .args([
                "worker",
                "--url",
                &format!("http://{listen}"),
                "--name",
                "board-host",
            ])
            .args(["--poll-wait-ms", "2000"])
            .env("LAVA_ROOT", &worker_root)
            .env(
                "LAVA_FILE_URL_DIRS",
                format!(
                    "{}:{}",
                    run.image.kernel.parent().unwrap().display(),
                    dir.display()
                ),
            )
            .env("LAVA_DISPATCHER_CACHE", dir.join("cache"))
            .stdout(Stdio::null())
            .stderr(worker_log)
            .spawn()
            .unwrap(),
    );
    let show = |id: &str| -> serde_json::Value {
        serde_json::from_str(&manage(&["jobs", "show", id, "--json"])).unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(900);
    for id in &ids {
        loop {
            let job = show(id);
            if job["state"] == "finished" {
                assert_eq!(
                    job["health"],
                    "complete",
                    "job {id}: {job}\nworker: {}",
                    std::fs::read_to_string(dir.join("worker.log")).unwrap_or_default()
                );
                assert!(
                    job["tests"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("4 pass"),
                    "job {id}: {job}"
                );
                break;
            }
            assert!(Instant::now() < deadline, "job {id} did not finish: {job}");
            std::thread::sleep(Duration::from_millis(500));
        }
        assert!(
            run.board
                .tftpd_log()
                .contains(&format!("{id}/kernel/Image")),
            "tftpd-hpa served job {id}'s kernel: {}",
            run.board.tftpd_log()
        );
        assert!(
            !run.board.tftp_root().join(id).exists(),
            "job {id}'s TFTP files are gone"
        );
    }
    assert!(
        run.board
            .pdu_log()
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .contains(" off ")
    );
}
