//! What the integration tests share: a server on a test database in a sandbox, and the test
//! playing a worker. Each test binary uses a part of it.
#![allow(dead_code)]

pub mod printed;
pub mod rest;
pub mod sockets;
mod worker_http;

pub use worker_http::Worker;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lava_common::worker_api::*;
use lava_testkit::{TestDb, test_db};
use serde_json::json;

/// A child process killed when dropped.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A test database, a `LAVA_ROOT` sandbox, and `lava-server web` and `scheduler` on it.
pub struct Server {
    /// The sandbox (`LAVA_ROOT`).
    pub root: tempfile::TempDir,
    /// The database.
    pub db: TestDb,
    /// The web app's base URL.
    pub url: String,
    /// Where the web app's ZeroMQ event publisher listens (`tcp://127.0.0.1:PORT`).
    pub events: String,
    /// The daemons, killed on drop.
    pub _daemons: Vec<Daemon>,
}

/// The repository's `examples/`.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

impl Server {
    /// A `lava-server` command in the sandbox.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lava-server"));
        c.args(args)
            .env("LAVA_ROOT", self.root.path())
            .env("LAVA_DATABASE_URL", self.db.url())
            .env("LAVA_EVENT_SOCKET", &self.events);
        c
    }

    /// Runs `lava-server manage ARGS`, which must succeed; its output.
    pub fn manage(&self, args: &[&str]) -> String {
        let mut all = vec!["manage"];
        all.extend_from_slice(args);
        let out = self.cmd(&all).output().unwrap();
        assert!(
            out.status.success(),
            "manage {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Copies the repository's `templates/` and `static/` to where the sandbox's settings
    /// look (copies, so a test may edit them).
    pub fn install_pages(&self) {
        let share = self.root.path().join("usr/share/lava-server");
        for dir in ["templates", "static"] {
            copy_dir(&examples().join("..").join(dir), &share.join(dir));
        }
    }

    /// Starts the daemons on a migrated test database with the kvm fixture.
    pub async fn start() -> Server {
        Server::start_with(&Start::default()).await
    }

    /// Starts the daemons like [`Server::start`], with `settings` (TOML) as the sandbox's
    /// settings file.
    pub async fn start_with_settings(settings: &str) -> Server {
        Server::start_with(&Start {
            settings: Some(settings),
            ..Start::default()
        })
        .await
    }

    /// Starts the daemons as [`Server::start`] does, with a settings file and a umask.
    pub async fn start_with(opts: &Start<'_>) -> Server {
        let db = test_db().await.unwrap();
        let root = tempfile::tempdir().unwrap();
        let (mut port, events_port) = free_port_pair();
        let mut s = Server {
            root,
            db,
            url: format!("http://127.0.0.1:{port}"),
            events: format!("tcp://127.0.0.1:{events_port}"),
            _daemons: vec![],
        };
        s.install_pages();
        if let Some(text) = opts.settings {
            let etc = s.root.path().join("etc/lava-server");
            std::fs::create_dir_all(&etc).unwrap();
            std::fs::write(etc.join("settings.toml"), text).unwrap();
        }
        s.manage(&["migrate"]);
        s.manage(&[
            "loaddata",
            examples().join("models/kvm.json").to_str().unwrap(),
        ]);
        // A port picked free can be taken by a parallel test's daemon before ours binds it:
        // the web app then exits, and it is started again on other ports.
        for attempt in 1..=3 {
            if attempt > 1 {
                let events_port;
                (port, events_port) = free_port_pair();
                s.url = format!("http://127.0.0.1:{port}");
                s.events = format!("tcp://127.0.0.1:{events_port}");
            }
            match s.start_daemons(port, opts.umask) {
                Ok(()) => return s,
                Err(why) if attempt < 3 => eprintln!("the web app exited, starting again: {why}"),
                Err(why) => panic!("the web app did not start: {why}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// Starts the web app on `port` and the scheduler; waits until the web app listens.
    /// `Err` when the web app exited first, with what it printed.
    fn start_daemons(&mut self, port: u16, umask: Option<&str>) -> Result<(), String> {
        let listen = format!("127.0.0.1:{port}");
        let stderr_path = self.root.path().join("web.stderr");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut web = match umask {
            // The shell only sets the umask and execs the server in its place.
            Some(umask) => {
                let mut c = self.cmd(&["web", "--listen", &listen]);
                let bin = c.get_program().to_owned();
                c = Command::new("sh");
                c.arg("-c")
                    .arg(format!(
                        "umask {umask} && exec \"$0\" web --listen {listen}"
                    ))
                    .arg(bin)
                    .env("LAVA_ROOT", self.root.path())
                    .env("LAVA_DATABASE_URL", self.db.url())
                    .env("LAVA_EVENT_SOCKET", &self.events);
                c
            }
            None => self.cmd(&["web", "--listen", &listen]),
        };
        let mut web = Daemon(web.stderr(stderr).spawn().unwrap());
        // A deadline, not a wait: a loaded 2-core machine can take well over 10 s to start it.
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = web.0.try_wait().unwrap() {
                let printed = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                return Err(format!("{status}: {}", printed.trim()));
            }
            assert!(
                Instant::now() < deadline,
                "the web app did not start in 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let sched = self
            .cmd(&["scheduler", "--interval", "1", "--worker-timeout", "5"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self._daemons = vec![web, Daemon(sched)];
        Ok(())
    }
}

/// Two distinct loopback ports that were free a moment ago.
fn free_port_pair() -> (u16, u16) {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

impl Server {
    /// Registers a worker, assigns it kvm01 (the device its polls report), as an admin
    /// does, and plays it.
    pub fn worker(&self, name: &str) -> Worker {
        let token = self.manage(&["workers", "add", name]).trim().to_string();
        self.manage(&["devices", "set-worker", "kvm01", name]);
        Worker {
            http: reqwest::Client::new(),
            base: self.url.clone(),
            token,
        }
    }

    /// Submits a job from text; its id.
    pub fn submit(&self, job: &str) -> i64 {
        let f = self.root.path().join("job.yaml");
        std::fs::write(&f, job).unwrap();
        self.manage(&["submit", f.to_str().unwrap()])
            .trim()
            .parse()
            .unwrap()
    }
}

/// How [`Server::start_with`] starts the daemons.
#[derive(Default)]
pub struct Start<'a> {
    /// The text of `etc/lava-server/settings.toml` in the sandbox.
    pub settings: Option<&'a str>,
    /// The umask of `lava-server web` (octal, as the shell's `umask` takes it).
    pub umask: Option<&'a str>,
}

/// Polls `f` every 100 ms until it gives `Some`, failing with `what` after `secs`.
pub async fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Worker {
    /// One poll reporting `running` jobs (id, lines).
    pub async fn poll(&self, running: &[(i64, u64)], wait_ms: u64) -> PollResponse {
        let running: Vec<_> = running
            .iter()
            .map(|(id, n)| json!({"id": id, "log_lines": n}))
            .collect();
        let body = json!({"version": "test", "devices": [{"hostname": "kvm01", "device_type": "kvm"}],
                          "running": running, "wait_ms": wait_ms});
        let (status, r) = self.post("poll", body).await;
        assert_eq!(status, 200);
        r
    }
}

/// A public kvm job with no actions.
pub const EMPTY_JOB: &str = "job_name: t\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {minutes: 1}\nactions: []\n";

/// Log line number `n`.
pub fn line(n: usize) -> String {
    format!(
        "- {{\"dt\": \"2026-01-01T00:00:00.000000\", \"lvl\": \"info\", \"msg\": \"line {n}\"}}\n"
    )
}

/// Starts job `id` and finishes it with `health` through the worker API.
pub async fn finish(w: &Worker, id: i64, health: &str) {
    let _: (u16, Ack) = w.post(&format!("jobs/{id}/started"), json!({})).await;
    let error_type = if health == "incomplete" {
        json!("Job")
    } else {
        json!(null)
    };
    let (status, _): (u16, Ack) = w
        .post(
            &format!("jobs/{id}/finished"),
            json!({"health": health, "error_type": error_type, "error_msg": null, "log_lines": 0}),
        )
        .await;
    assert_eq!(status, 200);
}

impl Server {
    /// Adds a user (superuser or not) and returns an API token of theirs.
    pub fn user(&self, name: &str, superuser: bool) -> String {
        self.user_with_token(name, if superuser { &["--superuser"] } else { &[] })
    }

    /// Adds a staff user (not a superuser) and returns its API token.
    pub fn staff(&self, name: &str) -> String {
        self.user_with_token(name, &["--staff"])
    }

    fn user_with_token(&self, name: &str, flags: &[&str]) -> String {
        let mut args = vec!["users", "add", name];
        args.extend_from_slice(flags);
        self.manage(&args);
        self.manage(&["tokens", "add", "--user", name, "--description", "test"])
            .trim()
            .to_string()
    }
}

impl Worker {
    /// Starts job `id`, uploads `lines` and finishes it with `health`.
    pub async fn run(&self, id: i64, lines: &str, health: &str) {
        let (status, _): (u16, Ack) = self.post(&format!("jobs/{id}/started"), json!({})).await;
        assert_eq!(status, 200);
        let n = lines.lines().count();
        if n > 0 {
            let (status, _) = self.log(id, 0, lines).await;
            assert_eq!(status, 200);
        }
        let (status, _): (u16, Ack) = self
            .post(
                &format!("jobs/{id}/finished"),
                json!({"health": health, "error_type": null, "error_msg": null, "log_lines": n}),
            )
            .await;
        assert_eq!(status, 200);
    }
}

impl Worker {
    /// Takes job `id`, which must be the one the next poll starts, and reports it started.
    pub async fn take(&self, id: i64) {
        let r = self.poll(&[], 10_000).await;
        assert_eq!(r.start.first().map(|j| j.id.0), Some(id));
        let _: (u16, Ack) = self.post(&format!("jobs/{id}/started"), json!({})).await;
    }

    /// Uploads `lines` as job `id`'s log from line `offset`; the status and the server's answer.
    pub async fn log(&self, id: i64, offset: usize, lines: &str) -> (u16, LogAck) {
        self.post(
            &format!("jobs/{id}/logs"),
            json!({"offset": offset, "lines": lines}),
        )
        .await
    }

    /// Reports job `id` complete with `log_lines` lines; the status and the server's answer
    /// (an `Ack`, or a `LogAck` when the server lacks lines).
    pub async fn complete<T: serde::de::DeserializeOwned>(
        &self,
        id: i64,
        log_lines: usize,
    ) -> (u16, T) {
        self.post(
            &format!("jobs/{id}/finished"),
            json!({"health": "complete", "error_type": null, "error_msg": null, "log_lines": log_lines}),
        )
        .await
    }
}

impl Server {
    /// Makes a copy of `EMPTY_JOB` named `kvm-health` the kvm type's health check.
    pub fn set_kvm_health_check(&self) {
        let hc = self.root.path().join("hc.yaml");
        std::fs::write(
            &hc,
            EMPTY_JOB.replace("job_name: t", "job_name: kvm-health"),
        )
        .unwrap();
        self.manage(&[
            "device-types",
            "set-health-check",
            "kvm",
            hc.to_str().unwrap(),
        ]);
    }
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

impl Server {
    /// Runs `lava-server manage ARGS` with `input` on standard input, which must succeed.
    pub fn manage_stdin(&self, args: &[&str], input: &str) -> String {
        use std::io::Write as _;
        let mut all = vec!["manage"];
        all.extend_from_slice(args);
        let mut child = self
            .cmd(&all)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "manage {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Adds a user with a password (and `--staff` or other flags).
    pub fn add_user(&self, name: &str, password: &str, flags: &[&str]) {
        let mut args = vec!["users", "add", name, "--password-stdin"];
        args.extend_from_slice(flags);
        self.manage_stdin(&args, &format!("{password}\n"));
    }
}
