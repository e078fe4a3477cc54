//! The event stream and the queue, measured: how long after a job's state changes Debian's
//! `lavacli events listen` prints it (over `/ws/`), `lavacli events wait job N --state
//! FINISHED` returns (over ZeroMQ) and a ZeroMQ subscriber gets it; and how long the queue
//! depth of a device type takes to answer with 100,000 queued jobs (the query KernelCI's
//! `GET /api/v0.2/jobs/?state=Submitted&requested_device_type=T` makes). Prints p50, p95 and
//! the worst; asserts nothing. `cargo bench -p lava-server --bench events`; needs `lavacli`.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Daemon, EMPTY_JOB, add_bench_type, ms, percentile, run_bench, start_web_with_events};
use lava_common::fixture::DeviceRecord;
use lava_common::state::{DeviceHealth, JobHealth};
use zeromq::{Socket as _, SocketRecv as _};

const LAVACLI: &str = "/usr/bin/lavacli";
const ROUNDS: usize = 20;
const QUEUED: i64 = 100_000;

/// A child killed when dropped.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lavacli(base: &str, args: &[&str]) -> Command {
    assert!(
        std::path::Path::new(LAVACLI).exists(),
        "{LAVACLI} is not installed: apt-get install lavacli"
    );
    let mut c = Command::new(LAVACLI);
    c.arg("--uri")
        .arg(format!("{base}/RPC2"))
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .env("NO_PROXY", "*")
        .stderr(Stdio::null());
    c
}

/// Lines of `child`'s stdout with the moment each arrived.
fn lines(child: &mut Child) -> mpsc::Receiver<(Instant, String)> {
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send((Instant::now(), line)).is_err() {
                return;
            }
        }
    });
    rx
}

/// The first line of `rx` that contains every one of `needles` (within 10 s); when it
/// arrived.
fn arrival(rx: &mpsc::Receiver<(Instant, String)>, needles: &[&str]) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (at, line) = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no line with {needles:?}"));
        if needles.iter().all(|n| line.contains(n)) {
            return at;
        }
    }
}

/// Whether a line containing `needle` arrives on `rx` within `within`.
fn heard_within(rx: &mpsc::Receiver<(Instant, String)>, needle: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((_, line)) if line.contains(needle) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
}

fn report(what: &str, unit: &str, mut lat: Vec<Duration>) {
    lat.sort();
    println!(
        "{what}: p50 {}, p95 {}, max {} ({} {unit})",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.95)),
        ms(*lat.last().expect("samples")),
        lat.len()
    );
}

async fn events(db: &lava_testkit::TestDb) {
    let c = db.client().await.expect("db");
    add_bench_type(&c).await;
    let worker = lava_common::fixture::WorkerRecord {
        hostname: "w1".into(),
        description: String::new(),
        health: lava_common::state::WorkerHealth::Active,
        job_limit: 0,
    };
    lava_db::lifecycle::worker::load(&c, &worker, "bench")
        .await
        .expect("worker");
    let d = DeviceRecord {
        health: DeviceHealth::Good,
        worker_host: Some("w1".into()),
        ..DeviceRecord::new("bench01", "bench")
    };
    lava_db::devices::add(&c, &d).await.expect("device");
    let root = tempfile::tempdir().expect("root");
    let (_web, base, publisher): (Daemon, String, String) =
        start_web_with_events(root.path(), db.url()).await;

    let mut listen = Kill(
        lavacli(&base, &["events", "listen", "--filter", "testjob"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("lavacli"),
    );
    let heard = lines(&mut listen.0);
    arrival(&heard, &["Connecting to"]);
    let mut sub = zeromq::SubSocket::new();
    sub.connect(&publisher).await.expect("zmq connect");
    sub.subscribe("").await.expect("subscribe");
    // Both listeners are subscribed before anything is measured: probe jobs are submitted
    // until the WebSocket listener has printed one and the ZeroMQ subscriber has got one,
    // then canceled, and what they sent is drained.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut ws_heard, mut zmq_heard) = (false, false);
    let mut probes = Vec::new();
    while !(ws_heard && zmq_heard) {
        assert!(
            Instant::now() < deadline,
            "no probe job reached the listeners (WebSocket {ws_heard}, ZeroMQ {zmq_heard})"
        );
        let id = lava_server::submit::submit(&c, EMPTY_JOB, None)
            .await
            .expect("probe");
        probes.push(id);
        if !zmq_heard {
            zmq_heard = tokio::time::timeout(Duration::from_secs(2), sub.recv())
                .await
                .is_ok();
        }
        if !ws_heard {
            ws_heard = heard_within(&heard, &format!("[{id}] <"), Duration::from_secs(2));
        }
    }
    for id in probes {
        lava_db::lifecycle::job::cancel(&c, id, None, "probe")
            .await
            .expect("cancel probe");
    }
    while let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(200), sub.recv()).await {}

    let mut listened: [Vec<Duration>; 4] = Default::default();
    let mut zmq = Vec::new();
    let mut waited = Vec::new();
    for _ in 0..ROUNDS {
        let t0 = Instant::now();
        let id = lava_server::submit::submit(&c, EMPTY_JOB, None)
            .await
            .expect("submit");
        let mut changes = vec![t0];
        let msg = sub.recv().await.expect("zmq");
        zmq.push(t0.elapsed());
        assert!(msg.len() == 5, "five parts");
        let mut wait = Kill(
            lavacli(
                &base,
                &[
                    "events",
                    "wait",
                    "job",
                    &id.to_string(),
                    "--state",
                    "FINISHED",
                ],
            )
            .stdout(Stdio::piped())
            .spawn()
            .expect("lavacli"),
        );
        let wait_lines = lines(&mut wait.0);
        arrival(&wait_lines, &["Listening to"]);
        // Still a sleep: ZeroMQ tells neither side when a subscription is in, and this
        // waiter prints nothing until its event, so there is nothing to wait on here.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t = Instant::now();
        lava_db::lifecycle::assign::assign(&c, id, &"bench01".into(), &"w1".into())
            .await
            .expect("assign");
        changes.push(t);
        let t = Instant::now();
        lava_db::lifecycle::job::start(&c, id, &"w1".into())
            .await
            .expect("running");
        changes.push(t);
        let t = Instant::now();
        let ending = lava_db::lifecycle::finish::Ending {
            health: JobHealth::Complete,
            error_type: None,
            comment: None,
            reason: "bench",
        };
        lava_db::lifecycle::finish::finish(&c, id, &ending)
            .await
            .expect("finish");
        changes.push(t);
        let mut ended = None;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = wait.0.try_wait() {
                assert!(status.success());
                ended = Some(Instant::now());
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        waited.push(
            ended
                .expect("events wait returned")
                .duration_since(changes[3]),
        );
        for (i, state) in ["Submitted", "Scheduled", "Running", "Finished"]
            .iter()
            .enumerate()
        {
            let at = arrival(&heard, &[&format!("[{id}] <"), &format!("state={state} ")]);
            listened[i].push(at.duration_since(changes[i]));
        }
        // The device's own events reach the ZeroMQ subscriber too; drain them.
        while let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(50), sub.recv()).await {}
    }
    for (i, state) in ["Submitted", "Scheduled", "Running", "Finished"]
        .iter()
        .enumerate()
    {
        report(
            &format!("lavacli events listen prints {state} after the change"),
            "changes",
            listened[i].clone(),
        );
    }
    report(
        "ZeroMQ subscriber gets Submitted after the submit call began",
        "changes",
        zmq,
    );
    report(
        "lavacli events wait job N --state FINISHED has exited after the job ends (2 ms polls; \
         includes Python's exit)",
        "jobs",
        waited,
    );
}

async fn queue(db: &lava_testkit::TestDb) {
    let c = db.client().await.expect("db");
    let started = Instant::now();
    lava_db::queue::insert_many_for_bench(&c, QUEUED, "bench")
        .await
        .expect("queue");
    lava_db::job_list::fold_counts(&c).await.expect("fold");
    println!(
        "queued {QUEUED} jobs of one type in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let viewer = lava_db::viewer::Viewer::ANONYMOUS;
    let mut lat = Vec::new();
    let mut depth = 0;
    for _ in 0..200 {
        let t = Instant::now();
        depth = lava_db::queue::depth(&c, &viewer, "bench")
            .await
            .expect("depth");
        lat.push(t.elapsed());
    }
    report(
        &format!("queue depth of one type ({depth} queued), from the counters"),
        "queries",
        lat,
    );
    let f = lava_db::job_list::JobFilter {
        state: Some(lava_common::state::JobState::Submitted),
        device_type: Some("bench".into()),
        ..Default::default()
    };
    let mut lat = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        lava_db::job_list::count_exact(&c, &viewer, &f)
            .await
            .expect("count");
        lat.push(t.elapsed());
    }
    report(
        "the same count by scanning (for comparison)",
        "queries",
        lat,
    );
    let root = tempfile::tempdir().expect("root");
    let (_web, base, _) = start_web_with_events(root.path(), db.url()).await;
    let http = reqwest::Client::new();
    let url = format!("{base}/api/v0.2/jobs/?state=Submitted&requested_device_type=bench&limit=1");
    let mut lat = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let r = http.get(&url).send().await.expect("get");
        assert_eq!(r.status().as_u16(), 200);
        r.bytes().await.expect("body");
        lat.push(t.elapsed());
    }
    report(
        "GET /api/v0.2/jobs/?state=Submitted&requested_device_type=bench&limit=1",
        "requests",
        lat,
    );
}

async fn run() {
    let db = lava_testkit::test_db().await.expect("db");
    events(&db).await;
    queue(&db).await;
}

fn main() {
    run_bench(run());
}
