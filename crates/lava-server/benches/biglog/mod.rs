//! A job with a 50 MB log (400,000 lines of 128 bytes) through a real `lava-server web`:
//! the upload through the worker API, the job page in its default tail mode, and the live log
//! stream read whole from `?start=0` to its `end` event and from the last 1,000 lines, with the
//! web process's peak memory while it streams. Prints figures; asserts nothing.

use std::time::{Duration, Instant};

use lava_common::worker_api::PollResponse;
use serde_json::{Value, json};

use crate::common::{
    EMPTY_JOB, Worker, add_w0_d0, ms, percentile, schedule_on_d0, start_web, web_root,
};

const LINES: usize = 400_000;
const BATCH: usize = 10_000;
const PAGE_REQUESTS: usize = 50;

/// Log line `n`: a LAVA log line of exactly 128 bytes with its newline.
fn line(n: usize) -> String {
    let head = "- {\"dt\": \"2026-01-01T00:00:00.000000\", \"lvl\": \"target\", \"msg\": \"";
    let mut msg = format!("[{n:>8}] a console line of the big bench log, padded ");
    msg.truncate(128 - head.len() - 3);
    while msg.len() < 128 - head.len() - 3 {
        msg.push('.');
    }
    format!("{head}{msg}\"}}\n")
}

/// One worker `w0` with device `d0`, and one job queued on it, scheduled by one pass; the
/// worker's token.
async fn populate(db: &lava_testkit::TestDb) -> String {
    let mut c = db.client().await.expect("db");
    let token = add_w0_d0(&c).await;
    let text = EMPTY_JOB.replace("device_type: bench", "device_type: bench\ntarget: d0");
    schedule_on_d0(&mut c, &text).await;
    token
}

/// The web process's `VmHWM` (peak) and `VmRSS` in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// What a client got from the log stream.
struct Streamed {
    first: Duration,
    total: Duration,
    events: usize,
    lines: usize,
    bytes: usize,
}

/// Reads the log stream of the job at `page` from line `start` as a browser would until its `end` event (or, with
/// `until_first`, until the first `lines` event); `lines` counts the lines sent, from the
/// last event id.
async fn read_stream(
    http: &reqwest::Client,
    page: &str,
    start: usize,
    until_first: bool,
) -> Streamed {
    let url = format!("{page}/log/stream?start={start}");
    let started = Instant::now();
    let mut r = http.get(&url).send().await.expect("stream");
    assert_eq!(r.status().as_u16(), 200, "{url}");
    let mut out = Streamed {
        first: Duration::ZERO,
        total: Duration::ZERO,
        events: 0,
        lines: 0,
        bytes: 0,
    };
    let (mut buf, mut scanned) = (Vec::<u8>::new(), 0);
    let mut last_id = None;
    'read: while let Some(chunk) = r.chunk().await.expect("chunk") {
        out.bytes += chunk.len();
        buf.extend_from_slice(&chunk);
        while let Some(at) = buf[scanned..].windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buf.drain(..scanned + at + 2).collect();
            scanned = 0;
            let text = String::from_utf8_lossy(&event);
            let field = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::trim)
            };
            match field("event:") {
                Some("lines") => {
                    if out.events == 0 {
                        out.first = started.elapsed();
                    }
                    out.events += 1;
                    last_id = field("id:").and_then(|v| v.parse::<usize>().ok());
                    if until_first {
                        break 'read;
                    }
                }
                Some("end") => {
                    out.events += 1;
                    break 'read;
                }
                _ => {}
            }
        }
        scanned = buf.len().saturating_sub(1);
    }
    out.lines = last_id.unwrap_or(start) - start;
    out.total = started.elapsed();
    out
}

pub async fn run() {
    let db = lava_testkit::test_db().await.expect("db");
    let token = populate(&db).await;
    let root = web_root();
    let (web, base) = start_web(root.path(), db.url()).await;
    let pid = web.0.id();
    let http = reqwest::Client::new();
    let w = Worker {
        http: http.clone(),
        base: base.clone(),
        token,
    };
    let poll = json!({"version": "bench", "devices": [{"hostname": "d0", "device_type": "bench"}],
                      "running": [], "wait_ms": 0});
    let r: PollResponse = w.post_ok("poll", poll).await;
    let id = r.start.first().expect("a job to start").id;
    let _: Value = w.post_ok(&format!("jobs/{id}/started"), json!({})).await;

    let started = Instant::now();
    for b in 0..LINES / BATCH {
        let batch: String = (b * BATCH..(b + 1) * BATCH).map(line).collect();
        let _: Value = w
            .post_ok(
                &format!("jobs/{id}/logs"),
                json!({"offset": b * BATCH, "lines": batch}),
            )
            .await;
    }
    let took = started.elapsed();
    let (hwm, rss) = memory_mib(pid);
    println!(
        "50 MB log: uploaded {LINES} lines of {} bytes in batches of {BATCH} through the worker API in {:.2} s ({:.1} MB/s); web process peak {hwm:.1} MiB, now {rss:.1} MiB",
        line(0).len(),
        took.as_secs_f64(),
        (LINES * line(0).len()) as f64 / 1e6 / took.as_secs_f64(),
    );

    let page = format!("{base}/scheduler/job/{id}");
    let mut body = String::new();
    let mut lat = Vec::with_capacity(PAGE_REQUESTS);
    for i in 0..PAGE_REQUESTS + 5 {
        let t = Instant::now();
        let r = http.get(&page).send().await.expect("page");
        assert_eq!(r.status().as_u16(), 200, "{page}");
        body = r.text().await.expect("body");
        if i >= 5 {
            lat.push(t.elapsed());
        }
    }
    lat.sort();
    println!(
        "50 MB log: job page (/scheduler/job/<id>, last 1,000 lines): p50 {}, p95 {} over {PAGE_REQUESTS} requests; {} bytes",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.95)),
        body.len(),
    );
    // Where the page's script starts the stream: the last 1,000 lines.
    let tail: usize = body
        .split("/log/stream?start=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .expect("the page's stream start");

    let t = Instant::now();
    let _: Value = w.post_ok(
        &format!("jobs/{id}/finished"),
        json!({"health": "complete", "error_type": null, "error_msg": null, "log_lines": LINES}),
    )
    .await;
    println!("50 MB log: job finished in {}", ms(t.elapsed()));

    // Peak memory of the stream alone: `5` to clear_refs resets VmHWM to the current RSS.
    let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    let s = read_stream(&http, &page, 0, false).await;
    let (hwm, rss) = memory_mib(pid);
    println!(
        "50 MB log: whole log through the stream (?start=0 to `end`): {:.2} s, {} events, {} lines, {:.1} MB of events; first event after {}; web process peak {hwm:.1} MiB{}, now {rss:.1} MiB",
        s.total.as_secs_f64(),
        s.events,
        s.lines,
        s.bytes as f64 / 1e6,
        ms(s.first),
        if reset {
            " during the stream"
        } else {
            " (since start)"
        },
    );
    let (mut firsts, mut got) = (Vec::new(), 0);
    for _ in 0..20 {
        let s = read_stream(&http, &page, tail, true).await;
        firsts.push(s.first);
        got = s.lines;
    }
    firsts.sort();
    println!(
        "50 MB log: stream from the page's start (?start={tail}): first `lines` event ({got} lines) after p50 {}, p95 {} over 20 connections",
        ms(percentile(&firsts, 0.5)),
        ms(percentile(&firsts, 0.95)),
    );
    drop(web);
}
