//! A 1 GiB job log through a real `lava-server web`: uploaded through the worker API in the
//! worker's batches, then served whole over REST, XML-RPC (`scheduler.jobs.logs`) and the
//! live log stream, and the job page's first byte. Prints each rate and the web process's
//! peak memory during each; asserts nothing (the goals: upload at 100 MB/s or more, the web
//! process under 100 MB while it serves the log, the job page's first byte under 200 ms).
//! `tests/biglog.rs` holds the memory bound at a smaller size in `make test`.

mod common;

use std::time::{Duration, Instant};

use common::{
    EMPTY_JOB, Worker, add_w0_d0, ms, percentile, run_bench, schedule_on_d0, start_web, web_root,
};
use lava_common::worker_api::PollResponse;
use serde_json::{Value, json};

/// The log's size.
const TOTAL: usize = 1 << 30;
/// The worker's batches: at most this many lines and bytes (`worker/tail.rs`).
const BATCH_LINES: usize = 5000;
const BATCH_BYTES: usize = 1 << 20;

/// Log line `n`: a console line of 100 to 355 bytes.
fn line(n: usize) -> String {
    let head = "- {\"dt\": \"2026-01-01T00:00:00.000000\", \"lvl\": \"target\", \"msg\": \"";
    let mut msg = format!("[{n:>9}] ");
    let len = 30 + (n * 7919) % 256;
    while msg.len() < len {
        msg.push_str("console output ");
    }
    msg.truncate(len);
    format!("{head}{msg}\"}}\n")
}

/// One worker `w0` with device `d0` and one job queued on it, scheduled; the worker's token.
async fn populate(db: &lava_testkit::TestDb) -> String {
    let mut c = db.client().await.expect("db");
    let token = add_w0_d0(&c).await;
    schedule_on_d0(&mut c, EMPTY_JOB).await;
    token
}

/// The web process's peak memory (`VmHWM`) in MiB, and a reset of that peak to now.
struct Memory(u32);

impl Memory {
    fn peak_mib(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.0)).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    }

    /// `5` to `clear_refs` resets `VmHWM` to the current RSS.
    fn reset(&self) -> &'static str {
        if std::fs::write(format!("/proc/{}/clear_refs", self.0), "5").is_ok() {
            "peak"
        } else {
            "peak since start"
        }
    }
}

/// Reads a reply to its end: bytes, and the time to the first and the last byte.
async fn drain(mut r: reqwest::Response, started: Instant) -> (u64, Duration, Duration) {
    assert!(r.status().is_success(), "{}", r.status());
    let (mut bytes, mut first) = (0u64, None);
    while let Some(chunk) = r.chunk().await.expect("chunk") {
        first.get_or_insert_with(|| started.elapsed());
        bytes += chunk.len() as u64;
    }
    (bytes, first.unwrap_or_default(), started.elapsed())
}

fn rate(bytes: u64, d: Duration) -> String {
    format!("{:.0} MB/s", bytes as f64 / 1e6 / d.as_secs_f64())
}

async fn bench() {
    let db = lava_testkit::test_db().await.expect("db");
    let token = populate(&db).await;
    let root = web_root();
    let (web, base) = start_web(root.path(), db.url()).await;
    let mem = Memory(web.0.id());
    let http = reqwest::Client::new();
    let poll = json!({"version": "bench", "devices": [{"hostname": "d0", "device_type": "bench"}],
                      "running": [], "wait_ms": 0});
    let w = Worker {
        http: http.clone(),
        base: base.clone(),
        token,
    };
    let r: PollResponse = w.post_ok("poll", poll).await;
    let id = r.start.first().expect("a job to start").id;
    let _: Value = w.post_ok(&format!("jobs/{id}/started"), json!({})).await;

    // Upload, batches made ahead of the clock so the figure is the server's.
    let (mut batches, mut total, mut n) = (Vec::new(), 0usize, 0usize);
    while total < TOTAL {
        let (from, mut batch) = (n, String::with_capacity(BATCH_BYTES));
        while n - from < BATCH_LINES {
            let l = line(n);
            if batch.len() + l.len() > BATCH_BYTES {
                break;
            }
            batch.push_str(&l);
            n += 1;
        }
        total += batch.len();
        batches.push((
            from,
            serde_json::to_vec(&json!({"offset": from, "lines": batch})).expect("json"),
        ));
    }
    let lines = n;
    let peak = mem.reset();
    let started = Instant::now();
    for (from, body) in batches.drain(..) {
        let r = w
            .request(&format!("jobs/{id}/logs"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("logs");
        assert!(r.status().is_success(), "batch at {from}: {}", r.status());
    }
    let took = started.elapsed();
    println!(
        "1 GiB log: uploaded {lines} lines ({:.0} MB) through the worker API in {:.1} s: {}; web process {peak} {:.0} MiB",
        total as f64 / 1e6,
        took.as_secs_f64(),
        rate(total as u64, took),
        mem.peak_mib(),
    );
    let _: Value = w
        .post_ok(
            &format!("jobs/{id}/finished"),
            json!({"health": "complete", "error_type": null, "error_msg": null, "log_lines": lines}),
        )
        .await;

    let peak = mem.reset();
    let started = Instant::now();
    let r = http
        .get(format!("{base}/api/v0.2/jobs/{id}/logs/"))
        .send()
        .await
        .expect("rest");
    let (bytes, first, all) = drain(r, started).await;
    assert_eq!(bytes as usize, total);
    println!(
        "1 GiB log: REST logs/ whole: {:.1} s, {}, first byte after {}; web process {peak} {:.0} MiB",
        all.as_secs_f64(),
        rate(bytes, all),
        ms(first),
        mem.peak_mib(),
    );

    let peak = mem.reset();
    let call = lava_server::web::xmlrpc::codec::call(
        "scheduler.jobs.logs",
        &[
            lava_server::web::xmlrpc::codec::Value::str(id.to_string()),
            lava_server::web::xmlrpc::codec::Value::Int(0),
            lava_server::web::xmlrpc::codec::Value::Nil,
        ],
    );
    let started = Instant::now();
    let r = http
        .post(format!("{base}/RPC2"))
        .body(call)
        .send()
        .await
        .expect("xmlrpc");
    let (bytes, first, all) = drain(r, started).await;
    assert!(bytes as usize > total * 4 / 3, "{bytes}");
    println!(
        "1 GiB log: XML-RPC scheduler.jobs.logs whole: {:.1} s, {} of reply ({:.0} MB of base64), first byte after {}; web process {peak} {:.0} MiB",
        all.as_secs_f64(),
        rate(bytes, all),
        bytes as f64 / 1e6,
        ms(first),
        mem.peak_mib(),
    );

    let peak = mem.reset();
    let started = Instant::now();
    let mut r = http
        .get(format!("{base}/scheduler/job/{id}/log/stream?start=0"))
        .send()
        .await
        .expect("stream");
    let (mut buf, mut scanned, mut events, mut biggest, mut bytes) = (Vec::new(), 0, 0, 0, 0u64);
    let mut last_id = 0u64;
    'read: while let Some(chunk) = r.chunk().await.expect("chunk") {
        bytes += chunk.len() as u64;
        buf.extend_from_slice(&chunk);
        while let Some(at) = buf[scanned..].windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buf.drain(..scanned + at + 2).collect();
            scanned = 0;
            let text = String::from_utf8_lossy(&event);
            let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name));
            biggest = biggest.max(field("data: ").map_or(0, str::len));
            match field("event: ") {
                Some("lines") => {
                    events += 1;
                    last_id = field("id: ")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(last_id);
                }
                Some("end") => break 'read,
                _ => {}
            }
        }
        scanned = buf.len().saturating_sub(1);
    }
    let all = started.elapsed();
    assert_eq!(last_id as usize, lines);
    println!(
        "1 GiB log: live log stream whole (?start=0 to `end`): {:.1} s, {} of log, {events} events of at most {:.2} MiB, {:.0} MB of events; web process {peak} {:.0} MiB",
        all.as_secs_f64(),
        rate(total as u64, all),
        biggest as f64 / (1 << 20) as f64,
        bytes as f64 / 1e6,
        mem.peak_mib(),
    );

    let mut firsts = Vec::new();
    for _ in 0..25 {
        let started = Instant::now();
        let r = http
            .get(format!("{base}/scheduler/job/{id}"))
            .send()
            .await
            .expect("page");
        let (_, first, _) = drain(r, started).await;
        firsts.push(first);
    }
    firsts.sort();
    println!(
        "1 GiB log: job page (its tail): first byte after p50 {}, p95 {} over 25 requests",
        ms(percentile(&firsts, 0.5)),
        ms(percentile(&firsts, 0.95)),
    );
    drop(web);
}

fn main() {
    run_bench(bench());
}
