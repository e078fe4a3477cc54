//! `make bench` for the server: scheduling passes over a big queue, submit-to-running
//! latency and per-job overhead through real web and scheduler processes, log ingest through
//! the worker API, and the daemons' idle memory. Prints figures; asserts nothing.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, EMPTY_JOB, Worker, add_bench_type, free_port, ms, percentile, run_bench};
use lava_common::fixture::DeviceRecord;
use lava_common::ids::{DeviceName, WorkerName};
use lava_common::state::{DeviceHealth, JobVisibility};
use lava_common::worker_api::PollResponse;
use serde_json::json;

async fn populate(db: &lava_testkit::TestDb, devices: usize, workers: usize) -> Vec<String> {
    populate_with(db, devices, workers, |_| Vec::new(), |_| 0).await
}

/// `devices` good, idle devices of the `bench` type on `workers` workers, with the tags
/// `tags(device)`; worker `w` has job limit `limit(w)`. Returns the workers' tokens.
async fn populate_with(
    db: &lava_testkit::TestDb,
    devices: usize,
    workers: usize,
    tags: impl Fn(usize) -> Vec<String>,
    limit: impl Fn(usize) -> i32,
) -> Vec<String> {
    let c = db.client().await.expect("db");
    add_bench_type(&c).await;
    let mut tokens = Vec::new();
    for w in 0..workers {
        let token = lava_common::token::generate();
        let name = WorkerName::from(format!("w{w}"));
        lava_db::workers::add(&c, &name, "", &lava_common::token::hash(&token))
            .await
            .expect("worker");
        lava_db::lifecycle::worker::heartbeat(&c, &name, "bench")
            .await
            .expect("ping");
        if limit(w) > 0 {
            lava_db::lifecycle::worker::load(
                &c,
                &lava_common::fixture::WorkerRecord {
                    hostname: name.clone(),
                    description: String::new(),
                    health: lava_common::state::WorkerHealth::Active,
                    job_limit: limit(w),
                },
                "bench",
            )
            .await
            .expect("limit");
        }
        tokens.push(token);
    }
    for d in 0..devices {
        let rec = DeviceRecord {
            tags: tags(d),
            health: DeviceHealth::Good,
            worker_host: Some(format!("w{}", d % workers).into()),
            ..DeviceRecord::new(format!("d{d:04}"), "bench")
        };
        lava_db::devices::add(&c, &rec).await.expect("device");
    }
    // Each worker's first poll: it has its devices' `.conf` files.
    for w in 0..workers {
        let names: Vec<DeviceName> = (0..devices)
            .filter(|d| d % workers == w)
            .map(|d| format!("d{d:04}").into())
            .collect();
        lava_db::workers::report_devices(&c, &format!("w{w}").into(), &names)
            .await
            .expect("report");
    }
    tokens
}

/// `n` queued jobs; job `i` has the tags and requested device `shape(i)`.
async fn queue_with(
    db: &lava_testkit::TestDb,
    n: usize,
    shape: impl Fn(usize) -> (Vec<String>, Option<String>),
) {
    let mut c = db.client().await.expect("db");
    let tx = c.transaction().await.expect("tx");
    let plan = lava_common::job::parse_job(EMPTY_JOB).expect("job");
    for i in 0..n {
        let mut job = lava_server::submit::new_job(EMPTY_JOB, &plan, None, false);
        job.priority = (i % 101) as i32;
        job.visibility = JobVisibility::Public;
        let (tags, device) = shape(i);
        job.tags = tags;
        job.device = device.map(Into::into);
        lava_db::jobs::insert(&tx, &job).await.expect("insert");
    }
    tx.commit().await.expect("commit");
}

/// The shape: JOBS queued jobs (default 50,000; `LAVA_BENCH_QUEUE`), a third of them
/// with tags, one in a hundred asking for a device by name, and DEVICES idle devices
/// (default 2,000; `LAVA_BENCH_DEVICES`) on 20 workers, half the devices tagged, two workers
/// with a job limit. Prints the first (full) pass and the steady pass with every device busy.
async fn scheduling_pass() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (jobs, devices) = (
        env("LAVA_BENCH_QUEUE", 50_000),
        env("LAVA_BENCH_DEVICES", 2_000),
    );
    let db = lava_testkit::test_db().await.expect("db");
    let tag = |names: &[&str]| names.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    populate_with(
        &db,
        devices,
        20,
        |d| match d % 4 {
            0 => tag(&["usb", "fast"]),
            1 => tag(&["usb"]),
            _ => Vec::new(),
        },
        |w| if w < 2 { 25 } else { 0 },
    )
    .await;
    queue_with(&db, jobs, |i| {
        let tags = match i % 6 {
            0 => tag(&["usb"]),
            3 => tag(&["usb", "fast"]),
            _ => Vec::new(),
        };
        let device = (i % 100 == 7).then(|| format!("d{:04}", (i / 100) % devices));
        (tags, device)
    })
    .await;
    let opts = lava_server::scheduler::Options {
        worker_timeout: Duration::from_secs(3600),
        queue_timeout: None,
        backoff: Default::default(),
    };
    let mut c = db.client().await.expect("db");
    let started = Instant::now();
    let report = lava_server::scheduler::pass::run(&mut c, &opts)
        .await
        .expect("pass");
    let full = started.elapsed();
    let mut steady = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        lava_server::scheduler::pass::run(&mut c, &opts)
            .await
            .expect("pass");
        steady.push(started.elapsed());
    }
    steady.sort();
    println!(
        "bench: scheduling pass, {jobs} queued jobs (a third with tags, 1% naming a device) and {devices} idle devices, assigned {}: {}",
        report.assigned.len(),
        ms(full)
    );
    println!(
        "bench: steady scheduling pass, every device busy, {} still queued: {}",
        jobs - report.assigned.len(),
        ms(steady[2])
    );
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// A fake worker: polls for its devices, starts and finishes each job at once, and records
/// when each job reached `started`; stops when all workers together have run `jobs`.
async fn fake_worker(
    base: String,
    token: String,
    devices: Vec<String>,
    jobs: usize,
    started: std::sync::Arc<std::sync::Mutex<Vec<(i64, Instant)>>>,
) {
    let w = Worker {
        http: reqwest::Client::new(),
        base,
        token,
    };
    let post = |path: String, body: serde_json::Value| w.request(&path).json(&body).send();
    let devices: Vec<_> = devices
        .iter()
        .map(|d| json!({"hostname": d, "device_type": "bench"}))
        .collect();
    while started.lock().expect("lock").len() < jobs {
        let r: PollResponse = post(
            "poll".into(),
            json!({"version": "bench", "devices": devices, "running": [], "wait_ms": 5000}),
        )
        .await
        .expect("poll")
        .json()
        .await
        .expect("poll body");
        for job in r.start {
            post(format!("jobs/{}/started", job.id), json!({}))
                .await
                .expect("started");
            started
                .lock()
                .expect("lock")
                .push((job.id.0, Instant::now()));
            post(
                format!("jobs/{}/finished", job.id),
                json!({"health": "complete", "error_type": null, "error_msg": null, "log_lines": 0}),
            )
            .await
            .expect("finished");
        }
    }
}

async fn through_the_daemons() {
    let db = lava_testkit::test_db().await.expect("db");
    let root = tempfile::tempdir().expect("root");
    let tokens = populate(&db, 21, 2).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let spawn = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lava-server"))
            .args(args)
            .env("LAVA_ROOT", root.path())
            .env("LAVA_DATABASE_URL", db.url())
            .env("LAVA_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn")
    };
    let web = Daemon(spawn(&["web", "--listen", &format!("127.0.0.1:{port}")]));
    let sched = Daemon(spawn(&["scheduler", "--interval", "5"]));
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // "Idle" is part of the figure: the daemons have been up half a second and serve nothing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!(
        "idle RSS: lava-server web {:.1} MiB, lava-server scheduler {:.1} MiB",
        rss_mib(web.0.id()),
        rss_mib(sched.0.id())
    );

    // 200 jobs on 20 devices (two workers of ten), submitted one at a time.
    let started = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let polling_since = chrono::Utc::now();
    let mut workers = Vec::new();
    for (w, token) in tokens.iter().enumerate() {
        let devices: Vec<String> = (0..20)
            .filter(|d| d % 2 == w)
            .map(|d| format!("d{d:04}"))
            .collect();
        workers.push(tokio::spawn(fake_worker(
            base.clone(),
            token.clone(),
            devices,
            200,
            started.clone(),
        )));
    }
    let c = db.client().await.expect("db");
    // Both long polls are in before the first submit: a poll records its heartbeat after it
    // has subscribed to wake-ups and before it waits.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let polled = lava_db::workers::list(&c)
            .await
            .expect("workers")
            .iter()
            .filter(|w| w.last_ping.is_some_and(|t| t > polling_since))
            .count();
        if polled == tokens.len() {
            break;
        }
        assert!(Instant::now() < deadline, "the fake workers never polled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut submitted = Vec::new();
    for _ in 0..200 {
        let id = lava_server::submit::submit(&c, EMPTY_JOB, None)
            .await
            .expect("submit");
        submitted.push((id, Instant::now()));
        // The arrival rate under test: one job every 10 ms, not all at once.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for w in workers {
        w.await.expect("worker");
    }
    let starts = started.lock().expect("lock").clone();
    let mut lat: Vec<Duration> = submitted
        .iter()
        .filter_map(|(id, at)| {
            starts
                .iter()
                .find(|(j, _)| *j == id.0)
                .map(|(_, s)| s.saturating_duration_since(*at))
        })
        .collect();
    lat.sort();
    println!(
        "submit-to-running over {} jobs on 20 devices: p50 {}, p95 {}",
        lat.len(),
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.95))
    );

    // Back to back on one device (d0020 on w0): the time between one job's end and the next start.
    queue_on(&db, 30).await;
    let started = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let t0 = Instant::now();
    fake_worker(
        base.clone(),
        tokens[0].clone(),
        vec!["d0020".into()],
        30,
        started.clone(),
    )
    .await;
    let per_job = t0.elapsed() / 30;
    println!(
        "back-to-back jobs on one device: {} per job (finish, schedule, poll, start)",
        ms(per_job)
    );

    // Log ingest: 500,000 lines in batches of 5,000 through the worker API.
    queue_on(&db, 1).await;
    let mut r: PollResponse = PollResponse::default();
    let w = Worker {
        http: reqwest::Client::new(),
        base: base.clone(),
        token: tokens[0].clone(),
    };
    while r.start.is_empty() {
        r = w
            .request("poll")
            .json(&json!({"version": "bench", "devices": [{"hostname": "d0020", "device_type": "bench"}], "running": [], "wait_ms": 5000}))
            .send()
            .await
            .expect("poll")
            .json()
            .await
            .expect("body");
    }
    let id = r.start[0].id;
    let line = "- {\"dt\": \"2026-01-01T00:00:00.000000\", \"lvl\": \"target\", \"msg\": \"[    1.234567] a console line of about a hundred bytes, as kernels print them....\"}\n";
    let batch: String = line.repeat(5000);
    let t0 = Instant::now();
    for b in 0..100u64 {
        let resp = w
            .request(&format!("jobs/{id}/logs"))
            .json(&json!({"offset": b * 5000, "lines": batch}))
            .send()
            .await
            .expect("logs");
        assert!(resp.status().is_success(), "{}", resp.status());
    }
    let took = t0.elapsed();
    println!(
        "log ingest through the worker API: {:.0} lines/s (500,000 lines of {} bytes in {:.2} s)",
        500_000.0 / took.as_secs_f64(),
        line.len(),
        took.as_secs_f64()
    );
    drop(web);
    drop(sched);
}

async fn queue_on(db: &lava_testkit::TestDb, n: usize) {
    let c = db.client().await.expect("db");
    let text = EMPTY_JOB.replace("device_type: bench", "device_type: bench\ntarget: d0020");
    for _ in 0..n {
        let plan = lava_common::job::parse_job(EMPTY_JOB).expect("job");
        let mut job = lava_server::submit::new_job(&text, &plan, None, false);
        job.device = Some("d0020".into());
        job.device_type = None;
        lava_db::jobs::insert(&c, &job).await.expect("insert");
    }
}

fn main() {
    run_bench(async {
        scheduling_pass().await;
        // LAVA_BENCH_ONLY=scheduling: the scheduling passes alone.
        if std::env::var("LAVA_BENCH_ONLY").as_deref() != Ok("scheduling") {
            through_the_daemons().await;
        }
    });
}
