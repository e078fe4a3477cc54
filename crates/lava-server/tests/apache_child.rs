//! `lava-server web --under-apache`, the web app as Apache's piped-log child: it waits for
//! a port its predecessor still holds, stops when Apache closes its standard input, and
//! refuses to run as root. (The install test runs it under a real Apache.)

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
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
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        c.try_wait().unwrap().is_none(),
        "the child gave up on a busy port: {}",
        stderr_of(&mut c)
    );
    drop(held);
    let start = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the child never listened on {addr}: {}",
            stderr_of(&mut c)
        );
        assert!(c.try_wait().unwrap().is_none(), "{}", stderr_of(&mut c));
        std::thread::sleep(Duration::from_millis(100));
    }
    // Apache stops or restarts: it closes the pipe (and sends SIGTERM; the pipe alone must do).
    drop(stdin);
    let status = wait_exit(&mut c, Duration::from_secs(15));
    let err = stderr_of(&mut c);
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
