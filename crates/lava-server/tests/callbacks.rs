//! Notify callbacks against a real PostgreSQL and a real HTTP listener: what is sent, in what
//! format, when the criteria match, and how failures are retried and recorded.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use lava_common::fixture::DeviceRecord;
use lava_common::ids::{DeviceTypeName, JobId, WorkerName};
use lava_common::state::{CallbackState, DeviceHealth, JobHealth, JobState, TestResult};
use lava_db::results::NewCase;
use lava_server::callbacks::{Options, http_client, run_once};
use lava_server::logstore::LogStore;
use lava_testkit::{TestDb, test_db};

/// One request the listener got.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Clone, Default)]
struct Listener {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Statuses to answer with, first to last; 200 when empty.
    answers: Arc<Mutex<Vec<StatusCode>>>,
}

async fn record(
    State(l): State<Listener>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    l.seen.lock().unwrap().push(Seen {
        method,
        path: uri.path().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let mut answers = l.answers.lock().unwrap();
    if answers.is_empty() {
        StatusCode::OK
    } else {
        answers.remove(0)
    }
}

async fn listen() -> (Listener, String) {
    let l = Listener::default();
    let app = axum::Router::new().fallback(record).with_state(l.clone());
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    (l, url)
}

/// A private database with device type qemu and its good device qemu01 on worker w1.
async fn lab() -> (TestDb, lava_db::Client) {
    let db = test_db().await.unwrap();
    let c = db.client().await.unwrap();
    lava_db::device_types::add(&c, &DeviceTypeName::from("qemu"), "")
        .await
        .unwrap();
    lava_db::workers::add(&c, &WorkerName::from("w1"), "", "hash")
        .await
        .unwrap();
    let device = DeviceRecord {
        health: DeviceHealth::Good,
        worker_host: Some("w1".into()),
        ..DeviceRecord::new("qemu01", "qemu")
    };
    lava_db::devices::add(&c, &device).await.unwrap();
    (db, c)
}

/// Submits `definition` and cancels it while queued (which queues its callbacks for
/// `status: canceled`); returns its id.
async fn submit_canceled(c: &lava_db::Client, definition: &str) -> JobId {
    let id = lava_server::submit::submit(c, definition, None)
        .await
        .unwrap();
    lava_db::lifecycle::job::cancel(c, id, None, "test")
        .await
        .unwrap();
    id
}

/// A log store in a directory that lives as long as the returned guard.
fn log_store() -> (tempfile::TempDir, LogStore) {
    let dir = tempfile::tempdir().unwrap();
    let logs = LogStore::new(dir.path().to_path_buf());
    (dir, logs)
}

/// A URL on a loopback port nothing listens on.
fn dead_url() -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", closed.local_addr().unwrap())
}

/// The job's first (or only) callback row.
async fn first_callback(c: &lava_db::Client, id: JobId) -> lava_db::callbacks::Record {
    lava_db::callbacks::of_job(c, id).await.unwrap().remove(0)
}

fn job(notify: &str) -> String {
    format!(
        "job_name: cb\ndevice_type: qemu\ntimeouts: {{job: {{minutes: 1}}}}\nvisibility: public\n\
         priority: high\nactions: []\n{notify}"
    )
}

/// Submits `definition`, runs it on qemu01 with one test `case`, and ends it with `health`
/// (and `comment`); returns its id.
async fn run_job(
    c: &lava_db::Client,
    definition: &str,
    case: &NewCase,
    health: JobHealth,
    comment: Option<&str>,
) -> JobId {
    let id = lava_server::submit::submit(c, definition, None)
        .await
        .unwrap();
    assert!(
        lava_db::lifecycle::assign::assign(c, id, &"qemu01".into(), &"w1".into())
            .await
            .unwrap()
    );
    lava_db::lifecycle::job::start(c, id, &"w1".into())
        .await
        .unwrap();
    lava_db::results::add(c, id, case).await.unwrap();
    let ending = lava_db::lifecycle::finish::Ending {
        health,
        error_type: None,
        comment,
        reason: "test",
    };
    assert!(
        lava_db::lifecycle::finish::finish(c, id, &ending)
            .await
            .unwrap()
    );
    id
}

fn fast() -> Options {
    Options {
        retry_window: Duration::from_secs(3600),
        first_retry: Duration::ZERO,
        max_retry: Duration::ZERO,
        timeout: Duration::from_secs(2),
        poll: Duration::from_millis(10),
        allow_local_targets: true,
        email: Default::default(),
    }
}

#[tokio::test]
async fn a_finished_job_calls_back_with_lava_formats() {
    let (_db, c) = lab().await;
    let (l, base) = listen().await;
    let definition = job(&format!(
        "notify:\n  criteria: {{status: finished}}\n  callbacks:\n\
         \x20 - {{url: '{base}/cb-json/{{ID}}/{{STATUS}}/{{STATUS_STRING}}', method: POST, dataset: all, token: sekrit, content-type: json}}\n\
         \x20 - {{url: '{base}/cb-form/{{ID}}', method: POST, token: sekrit, header: X-Lava-Token}}\n\
         \x20 - {{url: '{base}/cb-get/{{ID}}/{{STATUS_STRING}}'}}\n"
    ));
    let case = NewCase {
        measurement: Some("42.5".into()),
        units: "ms".into(),
        metadata: serde_json::json!({"level": "3.1"}),
        start_line: Some(5),
        end_line: Some(9),
        ..NewCase::new("0_smoke", "boot-time", TestResult::Pass)
    };
    let id = run_job(&c, &definition, &case, JobHealth::Complete, None).await;

    let (_logs_dir, logs) = log_store();
    assert_eq!(
        run_once(&c, &logs, &http_client(true), &fast())
            .await
            .unwrap(),
        2
    );
    let rows = lava_db::callbacks::of_job(&c, id).await.unwrap();
    let states: Vec<_> = rows.iter().map(|r| (r.trigger, r.state)).collect();
    assert_eq!(
        states,
        [
            (JobState::Running, CallbackState::Skipped),
            (JobState::Finished, CallbackState::Sent)
        ]
    );

    let seen = l.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:#?}");
    let json = &seen[0];
    assert_eq!(json.method, Method::POST);
    assert_eq!(json.path, format!("/cb-json/{id}/2/complete"));
    assert_eq!(json.headers["authorization"], "sekrit");
    assert_eq!(json.headers["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "status",
            "status_string",
            "state",
            "state_string",
            "health",
            "health_string",
            "submit_time",
            "start_time",
            "end_time",
            "submitter_username",
            "failure_comment",
            "priority",
            "description",
            "actual_device_id",
            "definition",
            "metadata",
            "token",
            "log",
            "results"
        ]
    );
    assert_eq!(body["status"], 2);
    assert_eq!(body["state"], 5);
    assert_eq!(body["state_string"], "Finished");
    assert_eq!(body["health_string"], "Complete");
    assert_eq!(body["priority"], 100);
    assert_eq!(body["actual_device_id"], "qemu01");
    // The definition as stored: its tokens masked (the token itself comes apart).
    assert_eq!(
        body["definition"],
        definition.replace("token: sekrit", "token: \"********\"")
    );
    assert_eq!(body["token"], "sekrit");
    let t = body["end_time"].as_str().unwrap();
    assert!(
        t.len() >= 25 && t.ends_with("+00:00") && &t[10..11] == " ",
        "{t}"
    );
    let suite = body["results"]["0_smoke"].as_str().unwrap();
    assert!(suite.contains("  name: \"boot-time\"\n"), "{suite}");
    assert!(suite.contains("  measurement: \"42.5"), "{suite}");
    assert!(suite.contains("  level: \"3.1\"\n"), "{suite}");
    assert!(suite.contains("  log_start_line: \"5\"\n"), "{suite}");

    let form = &seen[1];
    assert_eq!(form.path, format!("/cb-form/{id}"));
    assert_eq!(form.headers["x-lava-token"], "sekrit");
    assert!(form.headers.get("authorization").is_none());
    assert_eq!(
        form.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert!(
        form.body
            .starts_with(&format!("id={id}&status=2&status_string=complete&state=5&")),
        "{}",
        form.body
    );
    assert!(!form.body.contains("failure_comment") && !form.body.contains("metadata="));
    assert!(!form.body.contains("log=") && !form.body.contains("results="));

    let get = &seen[2];
    assert_eq!(
        (get.method.clone(), get.path.as_str()),
        (Method::GET, format!("/cb-get/{id}/complete").as_str())
    );
    assert!(get.body.is_empty());

    // Nothing is sent twice.
    assert_eq!(
        run_once(&c, &logs, &http_client(true), &fast())
            .await
            .unwrap(),
        0
    );
    assert_eq!(l.seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn failures_are_retried_then_given_up_and_recorded() {
    let (_db, c) = lab().await;
    let (l, base) = listen().await;
    l.answers
        .lock()
        .unwrap()
        .push(StatusCode::INTERNAL_SERVER_ERROR);
    // A closed port for the second callback: it never succeeds.
    let dead = dead_url();
    let definition = job(&format!(
        "notify:\n  criteria: {{status: canceled}}\n  callbacks:\n\
         \x20 - {{url: '{base}/flaky/{{ID}}', method: POST}}\n\
         \x20 - {{url: '{dead}/never'}}\n"
    ));
    let id = submit_canceled(&c, &definition).await;
    // Without a notify block nothing is queued.
    let plain = submit_canceled(&c, &job("")).await;
    assert!(
        lava_db::callbacks::of_job(&c, plain)
            .await
            .unwrap()
            .is_empty()
    );

    let (_logs_dir, logs) = log_store();
    let http = http_client(true);
    assert_eq!(run_once(&c, &logs, &http, &fast()).await.unwrap(), 1);
    let r = first_callback(&c, id).await;
    assert_eq!((r.state, r.attempts), (CallbackState::Pending, 1));
    assert!(
        r.last_error.as_deref().unwrap().contains("HTTP 500"),
        "{r:?}"
    );

    // The window is over: this attempt is the last.
    let over = Options {
        retry_window: Duration::ZERO,
        ..fast()
    };
    assert_eq!(run_once(&c, &logs, &http, &over).await.unwrap(), 1);
    let r = first_callback(&c, id).await;
    assert_eq!((r.state, r.attempts), (CallbackState::Failed, 2));
    assert!(
        r.last_error.as_deref().unwrap().contains("callbacks[1]"),
        "{r:?}"
    );
    assert!(r.done.is_some());
    // The flaky URL answered 500 once, then 200, and was not called a third time.
    let seen = l.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.path == format!("/flaky/{id}")));
    assert!(
        seen[1].body.contains("status_string=canceled"),
        "{}",
        seen[1].body
    );
}

#[tokio::test]
async fn a_bad_notify_block_is_refused_at_submit() {
    let (_db, c) = lab().await;
    let definition = job(
        "notify:\n  criteria: {status: finished}\n  callbacks:\n  - {url: 'http://x/', dataset: everything}\n",
    );
    let err = lava_server::submit::submit(&c, &definition, None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("callbacks[0].dataset: 'everything' is not one of"),
        "{err}"
    );
}

#[tokio::test]
async fn the_active_scheduler_sends_them() {
    let (db, c) = lab().await;
    let (l, base) = listen().await;
    let root = tempfile::tempdir().unwrap();
    // The listener is on loopback, which callbacks refuse unless the settings allow it.
    std::fs::create_dir_all(root.path().join("etc/lava-server")).unwrap();
    std::fs::write(
        root.path().join(lava_common::settings::SETTINGS_FILE),
        "[callbacks]\nallow_local_targets = true\n",
    )
    .unwrap();
    let mut scheduler = std::process::Command::new(env!("CARGO_BIN_EXE_lava-server"))
        .args(["scheduler", "--interval", "1"])
        .env("LAVA_ROOT", root.path())
        .env("LAVA_DATABASE_URL", db.url())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let definition = job(&format!(
        "notify:\n  criteria: {{status: all}}\n  callback: {{url: '{base}/cb/{{ID}}/{{STATUS_STRING}}'}}\n"
    ));
    let id = submit_canceled(&c, &definition).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while l.seen.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = scheduler.kill();
    let _ = scheduler.wait();
    let seen = l.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].path, format!("/cb/{id}/canceled"));
}

#[tokio::test]
async fn local_targets_are_refused_unless_allowed() {
    let (_db, c) = lab().await;
    let (l, base) = listen().await;
    let port = base.rsplit(':').next().unwrap();
    // The same local service by address, by name, and by an IPv4-mapped IPv6 address.
    let definition = job(&format!(
        "notify:\n  criteria: {{status: canceled}}\n  callbacks:\n\
         \x20 - {{url: '{base}/by-address'}}\n\
         \x20 - {{url: 'http://localhost:{port}/by-name'}}\n\
         \x20 - {{url: 'http://[::ffff:127.0.0.1]:{port}/mapped'}}\n"
    ));
    let id = submit_canceled(&c, &definition).await;
    let (_logs_dir, logs) = log_store();
    let strict = Options {
        allow_local_targets: false,
        ..fast()
    };
    run_once(&c, &logs, &http_client(false), &strict)
        .await
        .unwrap();
    assert!(
        l.seen.lock().unwrap().is_empty(),
        "nothing reached the local listener"
    );
    let r = first_callback(&c, id).await;
    let error = r.last_error.as_deref().unwrap();
    for (i, what) in [(0, "127.0.0.1"), (1, "'localhost'"), (2, "127.0.0.1")] {
        let part = error
            .split("; ")
            .find(|p| p.starts_with(&format!("callbacks[{i}]")))
            .unwrap_or_else(|| panic!("no error for callbacks[{i}]: {error}"));
        assert!(
            part.contains(what) && part.contains("allow_local_targets"),
            "{part}"
        );
    }
    // With the setting on (as in the other tests), the same callbacks go out.
    run_once(&c, &logs, &http_client(true), &fast())
        .await
        .unwrap();
    let paths: Vec<String> = l
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.path.clone())
        .collect();
    assert!(paths.contains(&"/by-address".to_string()), "{paths:?}");
}

#[tokio::test]
async fn redirects_are_followed_only_a_few_times() {
    let (_db, c) = lab().await;
    // A listener that redirects every request to itself.
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    let hits = Arc::new(Mutex::new(0usize));
    let counter = hits.clone();
    let to = format!("{base}/again");
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        let to = to.clone();
        async move {
            *counter.lock().unwrap() += 1;
            (StatusCode::FOUND, [(axum::http::header::LOCATION, to)])
        }
    });
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    let definition = job(&format!(
        "notify:\n  criteria: {{status: canceled}}\n  callback: {{url: '{base}/start'}}\n"
    ));
    let id = submit_canceled(&c, &definition).await;
    let (_logs_dir, logs) = log_store();
    run_once(&c, &logs, &http_client(true), &fast())
        .await
        .unwrap();
    let r = first_callback(&c, id).await;
    assert!(
        r.last_error.as_deref().unwrap().contains("redirects"),
        "{r:?}"
    );
    assert_eq!(
        *hits.lock().unwrap(),
        1 + lava_server::callbacks::target::MAX_REDIRECTS
    );
}

/// A failing callback is retried for as long as its window lasts, not a fixed number of
/// times (it used to give up after 5 attempts), each delay longer than the last; once its
/// window is over the next failure is the last, and every attempt is counted.
#[tokio::test]
async fn failures_are_retried_over_the_window_with_growing_delays() {
    let (_db, c) = lab().await;
    let dead = dead_url();
    let definition = job(&format!(
        "notify:\n  criteria: {{status: canceled}}\n  callback: {{url: '{dead}/down'}}\n"
    ));
    let id = submit_canceled(&c, &definition).await;
    let (_logs_dir, logs) = log_store();
    let http = http_client(true);
    // No delay: eight attempts in a row, all within the window, so still pending.
    for attempt in 1..=8 {
        assert_eq!(run_once(&c, &logs, &http, &fast()).await.unwrap(), 1);
        let r = first_callback(&c, id).await;
        assert_eq!((r.state, r.attempts), (CallbackState::Pending, attempt));
    }
    // The settings' default window (24 h) with a real first delay: the next attempt waits.
    let real = Options {
        allow_local_targets: true,
        ..Options::default()
    };
    assert_eq!(real.retry_window, Duration::from_secs(24 * 3600));
    assert_eq!(run_once(&c, &logs, &http, &real).await.unwrap(), 1);
    assert_eq!(run_once(&c, &logs, &http, &real).await.unwrap(), 0);
    let r = first_callback(&c, id).await;
    assert_eq!((r.state, r.attempts), (CallbackState::Pending, 9));

    // A day later (the row made 25 hours ago, its retry due now), the window is over.
    c.execute(
        "UPDATE job_callbacks SET created = now() - interval '25 hours', next_attempt = now()
         WHERE job_id = $1",
        &[&id],
    )
    .await
    .unwrap();
    assert_eq!(run_once(&c, &logs, &http, &real).await.unwrap(), 1);
    let r = first_callback(&c, id).await;
    assert_eq!((r.state, r.attempts), (CallbackState::Failed, 10));
    assert!(r.done.is_some());
}

/// The delays: doubling from the first, capped, jittered into their upper half, cut to end
/// with the window, and none once it is over.
#[test]
fn retry_delays_double_with_jitter_within_the_window() {
    use lava_server::callbacks::retry_delay;
    let opts = Options {
        retry_window: Duration::from_secs(24 * 3600),
        first_retry: Duration::from_secs(10),
        max_retry: Duration::from_secs(3600),
        ..Options::default()
    };
    let young = Duration::from_secs(60);
    let delay = |attempts, jitter| retry_delay(&opts, attempts, young, jitter).unwrap();
    assert_eq!(delay(0, 1.0), Duration::from_secs(10));
    assert_eq!(delay(0, 0.0), Duration::from_secs(5));
    assert_eq!(delay(3, 1.0), Duration::from_secs(80));
    assert_eq!(delay(3, 0.5), Duration::from_secs(60));
    assert_eq!(delay(20, 1.0), Duration::from_secs(3600));
    assert_eq!(delay(i32::MAX, 1.0), Duration::from_secs(3600));
    for a in 0..12 {
        assert!(delay(a + 1, 1.0) >= delay(a, 1.0));
        let d = delay(a, 0.37);
        assert!(d >= delay(a, 1.0) / 2 && d <= delay(a, 1.0), "{a}: {d:?}");
    }
    let late = opts.retry_window - Duration::from_secs(30);
    assert_eq!(
        retry_delay(&opts, 12, late, 1.0),
        Some(Duration::from_secs(30))
    );
    assert_eq!(retry_delay(&opts, 12, opts.retry_window, 1.0), None);
    assert_eq!(retry_delay(&opts, 0, opts.retry_window + young, 1.0), None);
}

/// A local SMTP server (Debian's `python3-aiosmtpd`) writing what it gets to a maildir.
struct Smtp {
    child: std::process::Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl Smtp {
    fn start() -> Smtp {
        let maildir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("m"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3-aiosmtpd (apt-get install python3-aiosmtpd)");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not listen on {port} (is python3-aiosmtpd installed?)"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Smtp {
            child,
            port,
            maildir,
        }
    }

    /// The mails received, in no particular order.
    fn mails(&self) -> Vec<String> {
        let new = self.maildir.path().join("m/new");
        std::fs::read_dir(new)
            .map(|d| {
                d.flatten()
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn with_mail(port: u16) -> Options {
    Options {
        email: lava_common::email_settings::EmailSettings {
            smtp: Some(("127.0.0.1".into(), port)),
            from: Some("lava@lab.example".into()),
            url: Some("http://lab.example".into()),
        },
        ..fast()
    }
}

#[tokio::test]
async fn recipients_get_mail_through_the_relay_once() {
    let (_db, c) = lab().await;
    lava_db::users::add(
        &c,
        &lava_common::fixture::UserRecord {
            username: "bob".into(),
            email: "bob@lab.example".into(),
            first_name: String::new(),
            last_name: String::new(),
            password: String::new(),
            is_staff: false,
            is_superuser: false,
            is_active: true,
        },
    )
    .await
    .unwrap();
    let smtp = Smtp::start();
    let definition = job(
        "notify:\n  criteria: {status: incomplete}\n  verbosity: verbose\n  recipients:\n\
         \x20 - to: {method: email, email: ann@lab.example}\n\
         \x20 - to: {method: email, user: bob}\n",
    );
    let case = NewCase::new("0_smoke", "ping", TestResult::Fail);
    let id = run_job(
        &c,
        &definition,
        &case,
        JobHealth::Incomplete,
        Some("the board did not answer"),
    )
    .await;

    let (_logs_dir, logs) = log_store();
    let http = http_client(true);
    // Without a relay, the mail cannot go: the row says why and stays pending.
    run_once(&c, &logs, &http, &fast()).await.unwrap();
    let r = lava_db::callbacks::of_job(&c, id)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(r.state, CallbackState::Pending, "{r:?}");
    assert!(
        r.last_error
            .as_deref()
            .unwrap()
            .contains("recipients[0] no SMTP relay is configured ([email] smtp in the settings)"),
        "{r:?}"
    );

    run_once(&c, &logs, &http, &with_mail(smtp.port))
        .await
        .unwrap();
    let r = lava_db::callbacks::of_job(&c, id)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(r.state, CallbackState::Sent, "{r:?}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    for to in ["ann@lab.example", "bob@lab.example"] {
        let mail = mails
            .iter()
            .find(|m| m.contains(&format!("X-RcptTo: {to}")))
            .unwrap_or_else(|| panic!("no mail to {to}: {mails:#?}"));
        assert!(mail.contains("From: lava@lab.example"), "{mail}");
        assert!(
            mail.contains(&format!("Subject: LAVA notification for Test Job {id} cb")),
            "{mail}"
        );
        assert!(
            mail.contains(&format!("Job {id} \"cb\" finished: incomplete.")),
            "{mail}"
        );
        assert!(
            mail.contains(&format!("http://lab.example/scheduler/job/{id}")),
            "{mail}"
        );
        assert!(mail.contains("the board did not answer"), "{mail}");
        assert!(
            mail.contains("Failed test cases:\n  0_smoke/ping"),
            "{mail}"
        );
    }
    // Nothing is sent twice.
    assert_eq!(
        run_once(&c, &logs, &http, &with_mail(smtp.port))
            .await
            .unwrap(),
        0
    );
    assert_eq!(smtp.mails().len(), 2);
}
