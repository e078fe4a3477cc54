//! What a stranger (or a runaway worker) can make `lava-server web` do, bounded: parsers with a
//! depth limit and an alias-expansion budget, a body limit on every route, a byte cap on log
//! lines, a database pool that answers 503 instead of hanging, and private file modes under
//! `/var/lib/lava-server`. Every test runs against a real `lava-server web` process.

mod common;

use std::time::{Duration, Instant};

use common::*;
use lava_common::ids::JobId;
use lava_common::worker_api::{Ack, LogAck, PREFIX, PROTOCOL_HEADER, PROTOCOL_VERSION};
use lava_server::web::xmlrpc::codec::{Value, call, parse_response};
use serde_json::{Value as Json, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The web process's peak resident memory (`VmHWM`) in MiB.
fn web_peak_mib(s: &Server) -> f64 {
    let pid = s._daemons[0].0.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kib / 1024.0
}

/// `GET /` answers 200: the process is alive and serving.
async fn still_serving(s: &Server) {
    let r = client()
        .get(format!("{}/", s.url))
        .send()
        .await
        .expect("the web app still answers");
    assert_eq!(r.status().as_u16(), 200);
}

/// A `methodCall` whose one parameter is `depth` arrays nested in each other.
fn nested_call(depth: usize) -> String {
    format!(
        "<?xml version='1.0'?>\n<methodCall>\n<methodName>system.version</methodName>\n<params>\n<param>\n{}{}</param>\n</params>\n</methodCall>\n",
        "<value><array><data>".repeat(depth),
        "</data></array></value>".repeat(depth),
    )
}

async fn rpc(s: &Server, body: String) -> reqwest::Response {
    client()
        .post(format!("{}/RPC2", s.url))
        .header("content-type", "text/xml")
        .body(body)
        .send()
        .await
        .expect("the web app answers the call")
}

#[tokio::test]
async fn a_deeply_nested_xmlrpc_call_is_a_fault_and_the_server_keeps_serving() {
    let s = Server::start().await;
    let body = nested_call(20_000);
    assert!(body.len() > 850_000, "{}", body.len());
    let r = rpc(&s, body).await;
    assert_eq!(r.status().as_u16(), 200);
    let reply = parse_response(&r.bytes().await.unwrap()).unwrap();
    let (code, message) = reply.unwrap_err();
    assert_eq!(code, 400, "{message}");
    assert!(message.contains("nested deeper than 64"), "{message}");
    still_serving(&s).await;

    // 64 levels are within the limit and decode as ever.
    let r = rpc(&s, nested_call(64)).await;
    let reply = parse_response(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(reply, Ok(Value::str("2023.01")));
    let r = rpc(&s, nested_call(65)).await;
    let reply = parse_response(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(reply.unwrap_err().0, 400);
}

#[tokio::test]
async fn a_yaml_alias_bomb_is_refused_at_once_in_bounded_memory() {
    let s = Server::start().await;
    // A 100 KB anchor and 50,000 aliases of it: 250 KB of text, 5 GB once expanded.
    let mut text = format!(
        "{EMPTY_JOB}metadata:\n  a: &a \"{}\"\n  b: [",
        "A".repeat(100_000)
    );
    text.push_str(&["*a"; 50_000].join(","));
    text.push_str("]\n");
    assert!((240_000..260_000).contains(&text.len()), "{}", text.len());
    let started = Instant::now();
    let r = client()
        .post(format!("{}/api/v0.2/jobs/validate/", s.url))
        .json(&json!({ "definition": text }))
        .send()
        .await
        .expect("the web app answers");
    let took = started.elapsed();
    let peak = web_peak_mib(&s);
    let status = r.status().as_u16();
    let body: Json = r.json().await.unwrap();
    assert!(
        took < Duration::from_secs(1) && peak < 200.0,
        "answered after {took:?}, the web process peaked at {peak:.0} MiB: {body}"
    );
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("Problem with submitted job data: ") && message.contains("alias"),
        "{message}"
    );
    still_serving(&s).await;

    // The same document with its aliases written out small is still a valid job.
    let fine = format!("{EMPTY_JOB}metadata:\n  a: &a x\n  b: *a\n");
    let r = client()
        .post(format!("{}/api/v0.2/jobs/validate/", s.url))
        .json(&json!({ "definition": fine }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

/// A valid job padded with a YAML comment to `size` bytes.
fn padded_job(size: usize) -> String {
    let mut text = format!("{EMPTY_JOB}# ");
    text.push_str(&"x".repeat(size - text.len() - 1));
    text.push('\n');
    text
}

#[tokio::test]
async fn every_route_has_a_body_limit_answered_in_its_surface_shape() {
    let s = Server::start_with_settings("[limits]\nlog_batch_bytes = 2162688\n").await;
    let token = s.user("alice", false);
    let http = client();
    let over = padded_job((1 << 20) + 1);
    let under = padded_job(900_000);

    // REST job submissions: 413 with DRF's {"detail"} body, naming the limit.
    let as_alice = s.rest(Some(&token));
    for path in ["/api/v0.2/jobs/", "/api/v0.2/jobs/validate/"] {
        let (status, body) = as_alice.post(path, json!({ "definition": over })).await;
        assert_eq!(status, 413, "{path}");
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains("1048576") && detail.contains("limits.job_bytes"),
            "{detail}"
        );
    }
    let (status, body) = as_alice
        .post("/api/v0.2/jobs/", json!({ "definition": under }))
        .await;
    assert_eq!(status, 201, "a 900 KB job is within the limit: {body}");

    // The same without a Content-Length (chunked): refused while it is read.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        serde_json::to_vec(&json!({ "definition": over }))
            .unwrap()
            .chunks(64 * 1024)
            .map(|c| Ok(c.to_vec()))
            .collect();
    let r = http
        .post(format!("{}/api/v0.2/jobs/", s.url))
        .header("authorization", format!("Token {token}"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let body: Json = r.json().await.unwrap();
    assert!(body["detail"].is_string(), "{body}");

    // XML-RPC: a fault, as every XML-RPC error is.
    let submit = async |job: &str| {
        let r = http
            .post(format!("{}/RPC2", s.url))
            .basic_auth("alice", Some(&token))
            .body(call("scheduler.jobs.submit", &[Value::str(job)]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        parse_response(&r.bytes().await.unwrap()).unwrap()
    };
    let (code, message) = submit(&over).await.unwrap_err();
    assert_eq!(code, 413, "{message}");
    assert!(message.contains("limits.job_bytes"), "{message}");
    let reply = submit(&under).await;
    assert!(matches!(reply, Ok(Value::Int(_))), "{reply:?}");

    // The web form: an HTML page.
    let r = http
        .post(format!("{}/scheduler/jobsubmit", s.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("definition", over.as_str())]).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    // Everything else is small: 64 KiB.
    let big_form = format!("username=a&password={}", "p".repeat(100_000));
    let r = http
        .post(format!("{}/accounts/login/", s.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big_form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let (status, body) = as_alice
        .json(
            "PUT",
            "/api/v0.2/devices/kvm01/",
            Some(json!({ "description": "d".repeat(100_000) })),
        )
        .await;
    assert_eq!(status, 413);
    assert!(body["detail"].is_string(), "{body}");

    // The worker API: log batches have their own limit (2 MiB here), other messages 1 MiB.
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    // The 900 KB job submitted above is the first to run.
    let id = w.poll(&[], 10_000).await.start[0].id;
    let _: (u16, Ack) = w.post(&format!("jobs/{id}/started"), json!({})).await;
    let line = |n: usize| {
        format!(
            "- {{\"dt\": \"2026-01-01T00:00:00.000000\", \"lvl\": \"target\", \"msg\": \"{n:>8} {}\"}}\n",
            "y".repeat(1000)
        )
    };
    let batch = |from: usize, n: usize| (from..from + n).map(line).collect::<String>();
    let (status, ack) = w.log(id.0, 0, &batch(0, 1500)).await;
    assert_eq!((status, ack.lines), (200, 1500), "a 1.5 MB batch");
    let r = w
        .http
        .post(format!("{}{PREFIX}/jobs/{id}/logs", w.base))
        .header("authorization", format!("Token {}", w.token))
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .json(&json!({"offset": 1500, "lines": batch(1500, 3000)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let body: Json = r.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("limits.log_batch_bytes"), "{message}");
    let devices: Vec<Json> = (0..20_000)
        .map(|i| json!({"hostname": format!("device-with-a-long-name-{i}"), "device_type": "kvm"}))
        .collect();
    let r = w
        .http
        .post(format!("{}{PREFIX}/poll", w.base))
        .header("authorization", format!("Token {}", w.token))
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .json(&json!({"version": "t", "devices": devices, "running": [], "wait_ms": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let (status, _): (u16, Ack) = w.complete(id.0, 1500).await;
    assert_eq!(status, 200, "every line the worker sent is held");
    still_serving(&s).await;
}

#[tokio::test]
async fn an_over_long_log_line_is_cut_and_marked_and_keeps_its_place() {
    let s = Server::start_with_settings("[limits]\nlog_line_bytes = 65536\n").await;
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    let id = s.submit(EMPTY_JOB);
    w.take(id).await;
    let long = format!(
        "- {{\"dt\": \"2026-01-01T00:00:01.000000\", \"lvl\": \"target\", \"msg\": \"{}\"}}\n",
        "z".repeat(200_000)
    );
    let lines = format!("{}{long}{}", line(0), line(2));
    let (status, ack): (u16, LogAck) = w.log(id, 0, &lines).await;
    assert_eq!((status, ack.lines), (200, 3));
    let (status, _): (u16, Ack) = w.complete(id, 3).await;
    assert_eq!(status, 200, "the line count is whole");

    let log = client()
        .get(format!("{}/api/v0.2/jobs/{id}/logs/", s.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let got: Vec<&str> = log.split_inclusive('\n').collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0], line(0));
    assert_eq!(got[2], line(2));
    assert!(got[1].len() <= 65536, "{}", got[1].len());
    let cut = lava_common::log::parse_line(got[1]).expect("the cut line is a log line");
    assert_eq!(cut.dt, "2026-01-01T00:00:01.000000");
    assert_eq!(cut.lvl, lava_common::log::Level::Target);
    let lava_common::log::Message::Text(text) = cut.msg else {
        panic!("{}", got[1])
    };
    assert!(
        text.starts_with("<line way too long: 200000 bytes of message, cut to ")
            && text.contains("limits.log_line_bytes")
            && text.ends_with("zzzz"),
        "{}",
        &text[..200]
    );
}

/// The JSON body of `path`, with its status and `Retry-After`.
async fn get_status(s: &Server, path: &str) -> (u16, Option<String>, String) {
    let r = client()
        .get(format!("{}{path}", s.url))
        .send()
        .await
        .unwrap();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (r.status().as_u16(), retry, r.text().await.unwrap())
}

#[tokio::test]
async fn a_request_that_gets_no_database_connection_is_a_503_not_a_hang() {
    let s = Server::start_with_settings("[database]\npool_size = 2\npool_wait_timeout = 1\n").await;
    // Two requests take both connections and wait on a table lock the test holds.
    let mut locker = s.db.client().await.unwrap();
    let tx = locker.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE devices IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let held: Vec<_> = (0..2)
        .map(|_| {
            let url = format!("{}/api/v0.2/devices/", s.url);
            tokio::spawn(async move { client().get(url).send().await.map(|r| r.status()) })
        })
        .collect();
    // Both are in: two sessions wait on the lock with the device list's query
    // (lava_db::devices::list; the scheduler's pass may wait on it too, with another query).
    // Asked on a connection of its own: a transaction sees one snapshot of pg_stat_activity.
    let watcher = s.db.client().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock' \
                 AND query LIKE 'SELECT d.hostname, %worker_reported%ORDER BY d.hostname'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} of the 2 requests wait on the lock"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let started = Instant::now();
    let (status, retry, body) = get_status(&s, "/api/v0.2/devices/").await;
    assert_eq!(status, 503, "{body}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(retry.is_some(), "Retry-After");
    let body: Json = serde_json::from_str(&body).unwrap();
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("no database connection became free within 1 s")
            && detail.contains("database.pool_size"),
        "{detail}"
    );
    let (status, _, page) = get_status(&s, "/scheduler/alldevices").await;
    assert_eq!(status, 503);
    assert!(page.contains("no database connection"), "{page}");
    let r = client()
        .post(format!("{}/RPC2", s.url))
        .body(call("scheduler.devices.list", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);

    tx.rollback().await.unwrap();
    for h in held {
        assert_eq!(h.await.unwrap().unwrap().as_u16(), 200);
    }
    let (status, _, _) = get_status(&s, "/api/v0.2/devices/").await;
    assert_eq!(status, 200, "connections come back");
}

#[tokio::test]
async fn a_database_that_never_answers_is_a_503_after_the_create_timeout() {
    // A server that accepts connections and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let accepted = std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in silent.incoming().take(4) {
            held.push(c);
        }
        // The silence under test: the connections stay open and unanswered for longer than
        // the test takes, then close.
        std::thread::sleep(Duration::from_secs(10));
    });
    let root = tempfile::tempdir().unwrap();
    let etc = root.path().join("etc/lava-server");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(
        etc.join("settings.toml"),
        "[database]\npool_create_timeout = 1\n",
    )
    .unwrap();
    let web_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _web = Daemon(
        std::process::Command::new(env!("CARGO_BIN_EXE_lava-server"))
            .args(["web", "--listen", &format!("127.0.0.1:{web_port}")])
            .env("LAVA_ROOT", root.path())
            .env(
                "LAVA_DATABASE_URL",
                format!("postgresql://lava@127.0.0.1:{port}/lava"),
            )
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // A deadline, not a wait: a loaded 2-core machine can take well over 10 s to start it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", web_port)).is_err() {
        assert!(Instant::now() < deadline, "the web app did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    let r = client()
        .get(format!("http://127.0.0.1:{web_port}/api/v0.2/devices/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    let body: Json = r.json().await.unwrap();
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("cannot connect to the database within 1 s"),
        "{detail}"
    );
    drop(accepted);
}

/// The permission bits of `path`.
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[tokio::test]
async fn files_under_var_lib_are_0750_and_0640_whatever_the_umask() {
    for umask in ["000", "077"] {
        let s = Server::start_with(&Start {
            umask: Some(umask),
            ..Start::default()
        })
        .await;
        let w = s.worker("w1");
        w.poll(&[], 0).await;
        let id = s.submit(EMPTY_JOB);
        w.take(id).await;
        let (status, _) = w.log(id, 0, &format!("{}{}", line(0), line(1))).await;
        assert_eq!(status, 200);
        let jobs = s.root.path().join("var/lib/lava-server/jobs");
        assert_eq!(mode(&jobs), 0o750, "umask {umask}: {}", jobs.display());
        let dir = jobs.join(id.to_string());
        assert_eq!(mode(&dir), 0o750, "umask {umask}: {}", dir.display());
        let log = dir.join("output.yaml");
        assert_eq!(mode(&log), 0o640, "umask {umask}: {}", log.display());
        // Every file and directory the server made there.
        for e in walk(&s.root.path().join("var/lib/lava-server")) {
            let want = if e.is_dir() { 0o750 } else { 0o640 };
            assert_eq!(mode(&e), want, "umask {umask}: {}", e.display());
        }
    }
}

/// Every path below `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[tokio::test]
async fn a_callback_gets_at_most_callback_log_bytes_of_a_log_in_whole_lines() {
    let s = Server::start().await;
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    let id = s.submit(EMPTY_JOB);
    w.take(id).await;
    let lines: String = (0..2000).map(line).collect();
    let (status, _) = w.log(id, 0, &lines).await;
    assert_eq!(status, 200);
    let limits = lava_common::limits::Limits {
        callback_log_bytes: 8192,
        ..Default::default()
    };
    let store = lava_server::logstore::LogStore::with_limits(
        s.root.path().join("var/lib/lava-server/jobs"),
        limits,
    );
    let c = s.db.client().await.unwrap();
    let sent = store.for_callback(&c, JobId(id)).await.unwrap().unwrap();
    let sent = String::from_utf8(sent).unwrap();
    let got: Vec<&str> = sent.split_inclusive('\n').collect();
    let kept = got.len() - 1;
    assert!(kept > 100, "{kept}");
    assert_eq!(
        got[..kept].concat(),
        (0..kept).map(line).collect::<String>()
    );
    assert!(got[..kept].concat().len() <= 8192);
    let note = lava_common::log::parse_line(got[kept]).expect("the note is a log line");
    let lava_common::log::Message::Text(text) = note.msg else {
        panic!("{}", got[kept])
    };
    assert!(
        text.starts_with("log cut at ") && text.contains("limits.callback_log_bytes"),
        "{text}"
    );
    // A log within the limit goes whole, without a note.
    let whole =
        lava_server::logstore::LogStore::new(s.root.path().join("var/lib/lava-server/jobs"))
            .for_callback(&c, JobId(id))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(whole, lines.as_bytes());
}
