//! `lava-server web --under-apache`, the web app as Apache's piped-log child: it waits for
//! a port its predecessor still holds, stops when Apache closes its standard input, and
//! refuses to run as root. (The install test runs it under a real Apache.)

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// `lava-server web --under-apache --listen ADDR [--user USER]` in a sandbox, as Apache starts
/// it (as root, the site names the service user; here `nobody`).
fn child(root: &std::path::Path, listen: SocketAddr, user: Option<&str>) -> Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lava-server"));
    c.args(["web", "--under-apache", "--listen", &listen.to_string()]);
    if let Some(u) = user {
        c.args(["--user", u]);
    }
    c.env("LAVA_ROOT", root)
        .env(
            "LAVA_DATABASE_URL",
            "postgresql://nobody@%2Fnonexistent/none",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lava-server")
}

fn sandbox() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // The unprivileged child must reach (the absence of) its settings file.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    dir
}

fn wait_exit(c: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < within {
        if let Some(s) = c.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// A child's standard error, read on a thread as it is written, so that a test can wait for
/// the line that says something happened.
struct Stderr {
    lines: mpsc::Receiver<String>,
    text: String,
}

impl Stderr {
    fn of(c: &mut Child) -> Stderr {
        let err = c.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Stderr {
            lines,
            text: String::new(),
        }
    }

    /// Waits up to `within` for a line containing `needle`; whether it came.
    fn wait_for(&mut self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.text.push_str(&line);
                    self.text.push('\n');
                    if found {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
    }

    /// Everything it wrote, once it has closed its standard error (it exited); fails after
    /// `within`.
    fn read_to_end(mut self, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.text.push_str(&line);
                    self.text.push('\n');
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return self.text,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("its standard error stayed open: {}", self.text)
                }
            }
        }
    }

    /// What it wrote so far.
    fn so_far(&mut self) -> &str {
        while let Ok(line) = self.lines.try_recv() {
            self.text.push_str(&line);
            self.text.push('\n');
        }
        &self.text
    }
}

fn stderr_of(c: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = c.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut s);
    }
    s
}

#[test]
fn waits_for_the_port_serves_and_stops_when_apache_closes_the_pipe() {
    let dir = sandbox();
    // The previous instance, as Apache's restart leaves it for a moment: the port is taken.
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap();
    let mut c = child(dir.path(), addr, is_root().then_some("nobody"));
    // Apache writes its log lines to the child: they are read and dropped.
    let mut stdin = c.stdin.take().unwrap();
    stdin
        .write_all(b"127.0.0.1 - - [01/Jan/2025] \"GET / HTTP/1.1\" 200\n")
        .unwrap();
    let mut err = Stderr::of(&mut c);
    let busy = err.wait_for("the address is in use", Duration::from_secs(20));
    assert!(busy, "the child never said it waits: {}", err.so_far());
    assert!(
        c.try_wait().unwrap().is_none(),
        "the child gave up on a busy port: {}",
        err.so_far()
    );
    drop(held);
    let start = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the child never listened on {addr}: {}",
            err.so_far()
        );
        assert!(c.try_wait().unwrap().is_none(), "{}", err.so_far());
        std::thread::sleep(Duration::from_millis(100));
    }
    // Apache stops or restarts: it closes the pipe (and sends SIGTERM; the pipe alone must do).
    drop(stdin);
    let status = wait_exit(&mut c, Duration::from_secs(15));
    let err = err.read_to_end(Duration::from_secs(5));
    assert!(status.is_some_and(|s| s.success()), "{status:?}: {err}");
    assert!(err.contains("Apache closed the log pipe"), "{err}");
    assert!(TcpStream::connect(addr).is_err(), "still listening");
}

/// It refuses to go on as root (without --user, as root) or to become another user (as
/// anyone else), pausing before it exits so that Apache's restarts do not spin.
#[test]
fn it_never_runs_as_root_and_becomes_no_one_else_unless_root() {
    let dir = sandbox();
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (user, want) = if is_root() {
        (None, "runs as root")
    } else {
        (Some("root"), "only root can become another user")
    };
    let mut c = child(dir.path(), addr, user);
    let t = Instant::now();
    let status = wait_exit(&mut c, Duration::from_secs(20)).expect("it did not exit");
    assert!(!status.success());
    assert!(t.elapsed() >= Duration::from_secs(4), "{:?}", t.elapsed());
    let err = stderr_of(&mut c);
    assert!(err.contains(want), "{err}");
    assert!(TcpStream::connect(addr).is_err(), "it listened");
}

#[test]
fn it_becomes_the_named_user_for_good() {
    let dir = sandbox();
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap()
        .name;
    let user = if is_root() { "nobody".to_string() } else { me };
    let mut c = child(dir.path(), addr, Some(&user));
    let start = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{}",
            stderr_of(&mut c)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", c.id())).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let want = nix::unistd::User::from_name(&user).unwrap().unwrap().uid;
    assert!(
        uid.split_whitespace()
            .skip(1)
            .all(|u| u == want.to_string()),
        "{uid}, expected {want} everywhere"
    );
    if is_root() {
        let nnp = status
            .lines()
            .find(|l| l.starts_with("NoNewPrivs:"))
            .unwrap();
        assert!(nnp.ends_with('1'), "{nnp}");
    }
    drop(c.stdin.take());
    assert!(wait_exit(&mut c, Duration::from_secs(15)).is_some_and(|s| s.success()));
}
