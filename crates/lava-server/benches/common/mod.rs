//! What the benches share: latency percentiles and their printing, a daemon that dies with
//! the bench, the `bench` device type with its empty job, a job scheduled on `d0`, and the
//! tests' worker-API client. Each bench uses a part of it.
#![allow(dead_code)]

#[path = "../../tests/common/worker_http.rs"]
mod worker_http;

// Each bench target compiles this module; not all of them play a worker.
#[allow(unused_imports)]
pub use worker_http::Worker;

use std::process::Child;
use std::time::Duration;

use lava_common::fixture::{DeviceRecord, DeviceTypeRecord, HealthDenominator};
use lava_common::ids::{DeviceName, WorkerName};
use lava_common::state::DeviceHealth;

/// A public job with no actions for the `bench` device type.
pub const EMPTY_JOB: &str = "job_name: b\ndevice_type: bench\nvisibility: public\ntimeouts:\n  job: {minutes: 1}\nactions: []\n";

/// A child process killed and reaped when the bench drops it.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on just now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

/// `lava-server web` on a free port of 127.0.0.1 with `root` as `LAVA_ROOT` and the database
/// at `db_url`, once it accepts connections; the daemon and its base URL.
pub async fn start_web(root: &std::path::Path, db_url: &str) -> (Daemon, String) {
    let (web, base, _) = start_web_with_events(root, db_url).await;
    (web, base)
}

/// [`start_web`], with the event publisher on a free port of 127.0.0.1: the daemon, its base
/// URL and the publisher's address.
pub async fn start_web_with_events(
    root: &std::path::Path,
    db_url: &str,
) -> (Daemon, String, String) {
    let events = format!("tcp://127.0.0.1:{}", free_port());
    let port = free_port();
    let web = Daemon(
        std::process::Command::new(env!("CARGO_BIN_EXE_lava-server"))
            .args(["web", "--listen", &format!("127.0.0.1:{port}")])
            .env("LAVA_ROOT", root)
            .env("LAVA_DATABASE_URL", db_url)
            .env("LAVA_LOG", "warn")
            .env("LAVA_EVENT_SOCKET", &events)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("web"),
    );
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (web, format!("http://127.0.0.1:{port}"), events)
}

/// The `p` quantile (0 to 1) of latencies sorted in ascending order.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// `d` in milliseconds, two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Runs `bench` on two runtime threads when cargo runs the benches (`--bench`); `cargo test`
/// passes no such flag, and then nothing runs.
pub fn run_bench(bench: impl std::future::Future<Output = ()>) {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench);
}

/// Adds the `bench` device type, health checks off.
pub async fn add_bench_type(c: &lava_db::Client) {
    let t = DeviceTypeRecord {
        name: "bench".into(),
        description: String::new(),
        health_check_job: None,
        health_frequency: 24,
        health_denominator: HealthDenominator::Hours,
        disable_health_check: true,
        display: true,
    };
    lava_db::device_types::upsert(c, &t).await.expect("type");
}

/// The `bench` type, worker `w0` (heartbeat sent) and its good, idle device `d0`; the
/// worker's token.
pub async fn add_w0_d0(c: &lava_db::Client) -> String {
    add_bench_type(c).await;
    let token = lava_common::token::generate();
    let w0 = WorkerName::from("w0");
    lava_db::workers::add(c, &w0, "", &lava_common::token::hash(&token))
        .await
        .expect("worker");
    lava_db::lifecycle::worker::heartbeat(c, &w0, "bench")
        .await
        .expect("ping");
    let d = DeviceRecord {
        health: DeviceHealth::Good,
        worker_host: Some(w0.clone()),
        ..DeviceRecord::new("d0", "bench")
    };
    lava_db::devices::add(c, &d).await.expect("device");
    // The worker's first poll: it has the device's `.conf` (a device its worker has not
    // reported is not scheduled).
    lava_db::workers::report_devices(c, &w0, &[DeviceName::from("d0".to_string())])
        .await
        .expect("report");
    token
}

/// Queues a public job for device `d0` with [`EMPTY_JOB`]'s plan and `definition` as its
/// stored text (EMPTY_JOB or a variant of it), and runs one scheduler pass, which gives it to
/// `d0`.
pub async fn schedule_on_d0(c: &mut lava_db::Client, definition: &str) {
    let plan = lava_common::job::parse_job(EMPTY_JOB).expect("job");
    let mut job = lava_server::submit::new_job(definition, &plan, None, false);
    job.device = Some("d0".into());
    job.device_type = None;
    job.visibility = lava_common::state::JobVisibility::Public;
    lava_db::jobs::insert(c, &job).await.expect("insert");
    let opts = lava_server::scheduler::Options {
        worker_timeout: Duration::from_secs(3600),
        queue_timeout: None,
        backoff: Default::default(),
    };
    lava_server::scheduler::pass::run(c, &opts)
        .await
        .expect("pass");
}

/// A `LAVA_ROOT` whose `usr/share/lava-server` links to the repository's templates and
/// static files, so that `lava-server web` serves the pages.
pub fn web_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("root");
    let share = root.path().join("usr/share/lava-server");
    std::fs::create_dir_all(&share).expect("share");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for dir in ["templates", "static"] {
        let from = repo.join(dir).canonicalize().expect("repo dir");
        std::os::unix::fs::symlink(from, share.join(dir)).expect("symlink");
    }
    root
}
