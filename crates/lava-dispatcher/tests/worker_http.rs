//! The worker over HTTP: `Api` against a minimal fake server (a `TcpListener` thread that
//! answers the four endpoints with canned JSON and records every request), and the
//! `lava-dispatcher worker` binary driven end to end by it. The real server's end-to-end
//! test lives with the server.

mod common;

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lava_common::ids::JobId;
use lava_common::worker_api::{JobFinished, LogAck, LogBatch, PollRequest};
use lava_dispatcher::worker::{Api, WorkerError};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

/// One request the fake server received.
#[derive(Debug, Clone)]
struct Req {
    path: String,
    headers: HashMap<String, String>,
    body: Value,
}

type Handler = dyn Fn(&Req) -> (u16, Value) + Send + Sync;

struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Req>>>,
}

impl Fake {
    fn serve(handler: impl Fn(&Req) -> (u16, Value) + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let s = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (h, s) = (handler.clone(), s.clone());
                std::thread::spawn(move || answer(stream, &*h, &s));
            }
        });
        Fake { url, seen }
    }

    fn requests(&self, suffix: &str) -> Vec<Req> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|r| r.path.ends_with(suffix))
            .cloned()
            .collect()
    }
}

fn answer(stream: TcpStream, handler: &Handler, seen: &Mutex<Vec<Req>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .map_or(0, |l| l.parse().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    let req = Req {
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    seen.lock().unwrap().push(req.clone());
    let (status, body) = handler(&req);
    let body = body.to_string();
    let mut out = stream;
    let _ = write!(
        out,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

#[tokio::test]
async fn the_client_sends_its_credentials_and_maps_the_statuses() {
    let fake = Fake::serve(|r| match r.path.rsplit('/').next().unwrap() {
        "logs" => (409, json!({"lines": 3})),
        "started" => (401, json!({"message": "bad token"})),
        "poll" => (
            400,
            json!({"message": "unsupported worker protocol version 2"}),
        ),
        _ => (503, json!({"message": "database down"})),
    });
    let api = Api::new(&fake.url, "w1", "sekrit").unwrap();
    let batch = LogBatch {
        offset: 5,
        lines: "x\n".into(),
    };
    assert_eq!(
        api.logs(JobId(4), &batch).await.unwrap(),
        LogAck { lines: 3 }
    );
    let e = api.started(JobId(4)).await.unwrap_err();
    assert!(matches!(e, WorkerError::Unauthorized { .. }));
    assert_eq!(
        e.to_string(),
        format!(
            "the server at {} refused this worker's token (401): check its token file; the token comes from `lava-server manage workers add w1`",
            fake.url
        )
    );
    let poll = PollRequest {
        version: "x".into(),
        devices: vec![],
        running: vec![],
        wait_ms: 0,
    };
    let e = api.poll(&poll).await.unwrap_err();
    assert!(matches!(e, WorkerError::Protocol { .. }), "{e}");
    assert!(
        e.to_string().contains("speaks version 1") && e.to_string().contains("version 2"),
        "{e}"
    );
    let f = JobFinished {
        health: lava_common::worker_api::FinishedHealth::Complete,
        error_type: None,
        error_msg: None,
        log_lines: 0,
    };
    let e = api.finished(JobId(4), &f).await.unwrap_err();
    assert!(
        e.to_string().contains("503") && e.to_string().contains("database down"),
        "{e}"
    );
    let logs = &fake.requests("/api/worker/v1/jobs/4/logs")[0];
    assert_eq!(logs.headers["authorization"], "Token sekrit");
    assert_eq!(logs.headers["lava-worker-protocol"], "1");
    assert_eq!(logs.headers["lava-worker-name"], "w1");
    assert!(logs.headers["user-agent"].starts_with("lava-dispatcher/"));
    assert_eq!(logs.body, json!({"offset": 5, "lines": "x\n"}));
}

/// A sandbox with a kvm device and a device that waits forever, and the worker binary.
struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        let dir = tempfile::tempdir().unwrap();
        let etc = common::dispatcher_etc(&dir.path().join("root"));
        let write = |rel: &str, text: &str| std::fs::write(etc.join(rel), text).unwrap();
        write(
            "device-types/fakeboard.conf",
            "client_type = bootloader\ninterrupt_boot_prompt = Hit any key\nbootloader_prompt = =>\nboot_cmds = boot\n",
        );
        write(
            "devices/slow01.conf",
            "device_type = fakeboard\nhostname = slow01\nconnection_command = sleep 600\n",
        );
        Host { dir }
    }

    fn stderr(&self) -> PathBuf {
        self.dir.path().join("worker.log")
    }

    /// The worker, its token in the default file (`/etc/lava-dispatcher/worker.token` below
    /// `LAVA_ROOT`, mode 0600).
    fn worker(&self, url: &str, token: &str) -> Child {
        self.token_file(token, 0o600);
        self.worker_with(url, &[])
    }

    fn token_file(&self, token: &str, mode: u32) -> PathBuf {
        let file = self
            .dir
            .path()
            .join("root/etc/lava-dispatcher/worker.token");
        std::fs::write(&file, format!("{token}\n")).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        file
    }

    fn worker_with(&self, url: &str, args: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_lava-dispatcher"))
            .args([
                "worker",
                "--url",
                url,
                "--name",
                "w1",
                "--poll-wait-ms",
                "300",
            ])
            .arg("--work-dir")
            .arg(self.dir.path().join("work"))
            .arg("--lava-dispatch")
            .arg(env!("CARGO_BIN_EXE_lava-dispatch"))
            .args(args)
            .env_remove("LAVA_WORKER_TOKEN")
            .env("LAVA_ROOT", self.dir.path().join("root"))
            .env("LAVA_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.stderr()).unwrap())
            .spawn()
            .unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.stderr()).unwrap_or_default()
    }
}

fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn exit_code_after_sigterm(child: &mut Child, secs: u64) -> Option<i32> {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the worker did not exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_bad_token_gets_a_clear_log_line() {
    let host = Host::new();
    let fake = Fake::serve(|_| (401, json!({"message": "invalid token"})));
    let mut worker = host.worker(&fake.url, "wrong");
    wait_until("the 401 line", 20, || host.log().contains("(401)"));
    let log = host.log();
    assert!(
        log.contains("ERROR") && log.contains("refused this worker's token (401): check its token file; the token comes from `lava-server manage workers add w1`"),
        "{log}"
    );
    assert_eq!(exit_code_after_sigterm(&mut worker, 10), Some(0));
    assert_eq!(
        host.log().matches("(401)").count(),
        1,
        "one line per state change"
    );
}

#[test]
fn the_token_comes_from_a_private_file() {
    let host = Host::new();
    let fake = Fake::serve(|_| (401, json!({"message": "invalid token"})));
    // No token anywhere: the default file is named.
    let out = host.worker_with(&fake.url, &[]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        host.log().contains(
            "no token: write the token printed by `lava-server manage workers add NAME` to"
        ) && host
            .log()
            .contains("etc/lava-dispatcher/worker.token (mode 0600)"),
        "{}",
        host.log()
    );
    // A file other users can read is refused, naming it and its mode.
    let file = host.token_file("secret", 0o644);
    let out = host.worker_with(&fake.url, &[]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        host.log().contains(&format!(
            "{}: other users may read or change the token file (mode 0644)",
            file.display()
        )),
        "{}",
        host.log()
    );
    // The default file, private: its token is what the server gets.
    host.token_file("from-the-file", 0o600);
    let mut worker = host.worker_with(&fake.url, &[]);
    wait_until("a poll", 20, || !fake.requests("/poll").is_empty());
    assert_eq!(
        fake.requests("/poll")[0].headers["authorization"],
        "Token from-the-file"
    );
    assert_eq!(exit_code_after_sigterm(&mut worker, 10), Some(0));
    // --token still works, with a warning that says why not to.
    let mut worker = host.worker_with(&fake.url, &["--token", "on-the-command-line"]);
    wait_until("a poll", 20, || {
        fake.requests("/poll")
            .iter()
            .any(|r| r.headers["authorization"] == "Token on-the-command-line")
    });
    assert_eq!(exit_code_after_sigterm(&mut worker, 10), Some(0));
    assert!(
        host.log()
            .contains("is deprecated: every user of this host can read it"),
        "{}",
        host.log()
    );
}

/// A fake server that hands out one job and follows the protocol for logs and finish.
fn job_server(job: Value, cancel_when_draining: bool) -> (Fake, Arc<Mutex<Vec<String>>>) {
    let held = Arc::new(Mutex::new(Vec::<String>::new()));
    let h = held.clone();
    let given = Mutex::new(false);
    let fake = Fake::serve(move |r| {
        let id = job["id"].clone();
        match r.path.rsplit('/').next().unwrap() {
            "poll" => {
                let mut g = given.lock().unwrap();
                if !*g && !r.body["devices"].as_array().unwrap().is_empty() {
                    *g = true;
                    return (
                        200,
                        json!({"start": [job.clone()], "cancel": [], "forget": [], "log_lines": []}),
                    );
                }
                drop(g);
                let draining = r.body["devices"].as_array().unwrap().is_empty();
                if cancel_when_draining
                    && draining
                    && !r.body["running"].as_array().unwrap().is_empty()
                {
                    return (
                        200,
                        json!({"start": [], "cancel": [id], "forget": [], "log_lines": []}),
                    );
                }
                std::thread::sleep(Duration::from_millis(200));
                (
                    200,
                    json!({"start": [], "cancel": [], "forget": [], "log_lines": []}),
                )
            }
            "started" => (200, json!({"ok": true})),
            "logs" => {
                let mut held = h.lock().unwrap();
                if r.body["offset"].as_u64().unwrap() != held.len() as u64 {
                    return (409, json!({"lines": held.len()}));
                }
                // Takes at most two lines a batch, so the worker must continue from its count.
                let lines = r.body["lines"].as_str().unwrap();
                held.extend(lines.split_inclusive('\n').take(2).map(String::from));
                (200, json!({"lines": held.len()}))
            }
            _ => {
                let held = h.lock().unwrap();
                if r.body["log_lines"].as_u64().unwrap() > held.len() as u64 {
                    return (409, json!({"lines": held.len()}));
                }
                (200, json!({"ok": true}))
            }
        }
    });
    (fake, held)
}

#[test]
fn the_worker_runs_a_scheduled_job_and_reports_it() {
    let host = Host::new();
    let definition = "job_name: t\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {minutes: 1}\nactions: []\n";
    let (fake, held) = job_server(
        json!({"id": 7, "device": "kvm01", "definition": definition}),
        false,
    );
    let mut worker = host.worker(&fake.url, "good");
    wait_until("the job's end", 30, || {
        !fake.requests("/jobs/7/finished").is_empty()
    });
    let poll = &fake.requests("/poll")[0];
    assert_eq!(
        poll.body["devices"],
        json!([{"hostname": "kvm01", "device_type": "kvm"}, {"hostname": "slow01", "device_type": "fakeboard"}])
    );
    assert_eq!(poll.headers["authorization"], "Token good");
    let started = fake.requests("/jobs/7/started");
    assert_eq!(started.len(), 1);
    let offsets: Vec<u64> = fake
        .requests("/jobs/7/logs")
        .iter()
        .map(|r| r.body["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(
        offsets,
        (0..offsets.len() as u64).map(|i| i * 2).collect::<Vec<_>>(),
        "contiguous"
    );
    let finished = fake.requests("/jobs/7/finished").pop().unwrap();
    assert_eq!(finished.body["health"], "complete");
    let held = held.lock().unwrap().concat();
    assert_eq!(
        finished.body["log_lines"].as_u64().unwrap() as usize,
        held.lines().count()
    );
    assert!(
        held.ends_with("\"case\": \"job\", \"definition\": \"lava\", \"result\": \"pass\"}}\n"),
        "{held}"
    );
    wait_until("the job dir's removal", 10, || {
        !host.dir.path().join("work/jobs/7").exists()
    });
    assert_eq!(exit_code_after_sigterm(&mut worker, 10), Some(0));
}

#[test]
fn sigterm_drains_and_cancels_still_reach_the_running_job() {
    let host = Host::new();
    let definition = r#"{"device_type": "fakeboard", "timeout": 60, "actions": [{"command": "boot_linaro_image"}]}"#;
    let (fake, held) = job_server(
        json!({"id": 8, "device": "slow01", "definition": definition}),
        true,
    );
    let mut worker = host.worker(&fake.url, "good");
    wait_until("the first log lines", 30, || {
        held.lock().unwrap().len() >= 3
    });
    // Draining: the worker offers no devices, keeps polling, and the server cancels the job.
    let code = exit_code_after_sigterm(&mut worker, 30);
    assert_eq!(code, Some(0), "{}", host.log());
    let finished = fake.requests("/jobs/8/finished").pop().unwrap();
    assert_eq!(finished.body["health"], "canceled", "{}", finished.body);
    assert!(host.log().contains("draining"), "{}", host.log());
    assert!(held.lock().unwrap().concat().contains("start: finalize"));
}
