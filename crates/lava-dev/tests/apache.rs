//! The rendered Apache site in a real Apache (Debian's `apache2`, run privately from a
//! temporary directory on a loopback port) in front of a stand-in web app: the security
//! headers on every kind of answer, the request body limits per route, and Apache running
//! the web app itself (started, restarted and stopped with Apache).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const MODULES: &str = "/usr/lib/apache2/modules";
const HEADERS: [&str; 4] = [
    "x-content-type-options: nosniff",
    "x-frame-options: deny",
    "content-security-policy: frame-ancestors 'none'",
    "referrer-policy: same-origin",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The stand-in web app: reads each request's body and answers `200 read N`.
fn upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || answer(conn));
        }
    });
    port
}

fn answer(mut conn: TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_lowercase();
    let length: u64 = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0);
    let read = std::io::copy(&mut (&mut conn).take(length), &mut std::io::sink()).unwrap_or(0);
    let body = format!("read {read}");
    let _ = write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Apache with the site, until dropped.
struct Apache {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

/// The stand-in for `lava-server web --under-apache`, which Apache starts as the site's
/// piped log: it notes its pid, arguments and user in `DIR/children`, then reads the log
/// pipe until Apache closes it.
const CHILD: &str = "#!/bin/sh
echo \"$$ $(id -un) $*\" >> \"$(dirname \"$0\")/children\"
exec cat >/dev/null
";

impl Drop for Apache {
    /// SIGTERM: Apache's parent stops its children before it exits (SIGKILL would leave them
    /// running).
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

/// The private server configuration around `site`, with mod_headers loaded or not.
fn config(dir: &Path, site: &Path, port: u16, headers: bool) -> PathBuf {
    let mut modules = vec![
        "mpm_event",
        "authz_core",
        "alias",
        "setenvif",
        "mime",
        "proxy",
        "proxy_http",
    ];
    if headers {
        modules.push("headers");
    }
    let mut conf = format!(
        "ServerRoot {dir}\nServerName 127.0.0.1\nPidFile {dir}/httpd.pid\nDefaultRuntimeDir {dir}\n\
         Mutex file:{dir}\nErrorLog {dir}/error.log\nTypesConfig /etc/mime.types\n\
         Listen 127.0.0.1:{port}\nDefine APACHE_LOG_DIR {dir}\n",
        dir = dir.display()
    );
    if is_root() {
        conf.push_str("User nobody\nGroup nogroup\n");
    }
    for m in modules {
        conf.push_str(&format!("LoadModule {m}_module {MODULES}/mod_{m}.so\n"));
    }
    conf.push_str(&format!("Include {}\n", site.display()));
    let path = dir.join("httpd.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

fn apache2() -> Command {
    assert!(
        Path::new("/usr/sbin/apache2").exists(),
        "/usr/sbin/apache2 is missing: install Debian's apache2 package"
    );
    Command::new("/usr/sbin/apache2")
}

/// Renders the site for `upstream` and starts Apache with it.
fn start(upstream: u16) -> Apache {
    let dir = tempfile::tempdir().unwrap();
    // Apache's children run as nobody when we are root: they read the static files here.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let share = dir.path().join("share");
    std::fs::create_dir_all(share.join("static")).unwrap();
    std::fs::write(share.join("static/lava.css"), "body {}\n").unwrap();
    let port = free_port();
    let site = dir.path().join("site.conf");
    let child = dir.path().join("web-app");
    std::fs::write(&child, CHILD).unwrap();
    std::fs::set_permissions(&child, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lava-dev"))
        .current_dir(root())
        .args(["render", "apache-site", "--port", &port.to_string()])
        .args(["--upstream", &format!("127.0.0.1:{upstream}")])
        .args(["--web-user", "nobody", "--web-binary"])
        .arg(&child)
        .arg("--share")
        .arg(&share)
        .arg("-o")
        .arg(&site)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let conf = config(dir.path(), &site, port, true);
    let child = apache2()
        .arg("-f")
        .arg(&conf)
        .arg("-DFOREGROUND")
        .spawn()
        .unwrap();
    let apache = Apache { child, port, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "apache2 did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    apache
}

/// One request; the status, the lowercased header lines and the body.
fn request(port: u16, method: &str, path: &str, body: u64) -> (u16, Vec<String>, String) {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        conn,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {body}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    // Apache may answer (413) and close before the body is sent: that is not an error here.
    let _ = std::io::copy(&mut std::io::repeat(b'a').take(body), &mut conn);
    let mut reply = Vec::new();
    let _ = conn.read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {reply:?}"));
    (status, lines.map(str::to_lowercase).collect(), body.into())
}

fn assert_security_headers(what: &str, headers: &[String]) {
    for h in HEADERS {
        let n = headers.iter().filter(|l| l.as_str() == h).count();
        assert_eq!(n, 1, "{what}: '{h}' {n} times in {headers:#?}");
    }
}

#[test]
fn security_headers_on_every_answer() {
    let apache = start(upstream());
    let (status, headers, body) = request(apache.port, "GET", "/", 0);
    assert_eq!((status, body.as_str()), (200, "read 0"));
    assert_security_headers("a proxied page", &headers);
    let (status, headers, _) = request(apache.port, "GET", "/static/lava.css", 0);
    assert_eq!(status, 200);
    assert_security_headers("a static file", &headers);
    let (status, headers, _) = request(apache.port, "GET", "/static/none.css", 0);
    assert_eq!(status, 404);
    assert_security_headers("Apache's own 404", &headers);
}

#[test]
fn request_bodies_are_limited_per_route_as_in_the_web_app() {
    let apache = start(upstream());
    let limits = [
        ("/RPC2", 1 << 20),
        ("/api/v0.2/jobs/", 1 << 20),
        ("/api/v0.2/jobs", 1 << 20),
        ("/api/v0.2/jobs/validate/", 1 << 20),
        ("/scheduler/jobsubmit", 1 << 20),
        ("/admin/device-types/kvm/health-check", 1 << 20),
        ("/accounts/login/", 64 << 10),
        ("/api/v0.2/jobs/7/resubmit/", 64 << 10),
        ("/admin/users/add", 64 << 10),
        ("/api/worker/v1/poll", 1 << 20),
        ("/api/worker/v1/jobs/7/finished", 1 << 20),
        ("/api/worker/v1/jobs/7/logs", 16 << 20),
    ];
    for (path, limit) in limits {
        let (status, _, body) = request(apache.port, "POST", path, limit);
        assert_eq!(
            (status, body.as_str()),
            (200, format!("read {limit}").as_str()),
            "POST {path} of {limit} bytes reaches the web app"
        );
        let (status, headers, body) = request(apache.port, "POST", path, limit + 1);
        assert_eq!(status, 413, "POST {path} of {} bytes: {body}", limit + 1);
        assert!(body.contains("exceeds the capacity limit"), "{body}");
        assert_security_headers("Apache's 413", &headers);
    }
}

#[test]
fn the_site_refuses_to_load_without_mod_headers() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.conf");
    let out = Command::new(env!("CARGO_BIN_EXE_lava-dev"))
        .current_dir(root())
        .args(["render", "apache-site", "-o"])
        .arg(&site)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let conf = config(dir.path(), &site, free_port(), false);
    let out = apache2().arg("-t").arg("-f").arg(&conf).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("a2enmod headers"), "{stderr}");
}

impl Apache {
    /// The pids of the web app children Apache started so far, oldest first.
    fn children(&self) -> Vec<(i32, String)> {
        std::fs::read_to_string(self.dir.path().join("children"))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let (pid, rest) = l.split_once(' ').unwrap();
                (pid.parse().unwrap(), rest.to_string())
            })
            .collect()
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, sig).unwrap();
    }
}

fn alive(pid: i32) -> bool {
    // A zombie (exited, not yet reaped by Apache) is not running.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The web app Apache runs now: the one child alive, once there is exactly one (at start-up
/// Apache may start a piped log and replace it at once, so the first one noted may be gone).
fn the_running_child(apache: &Apache, what: &str, not: &[i32]) -> (i32, String) {
    let mut found = None;
    wait_until(what, || {
        let running: Vec<_> = apache
            .children()
            .into_iter()
            .filter(|(p, _)| alive(*p) && !not.contains(p))
            .collect();
        let old_gone = not.iter().all(|p| !alive(*p));
        found = (running.len() == 1 && old_gone).then(|| running[0].clone());
        found.is_some()
    });
    found.unwrap()
}

/// The seed's "handled within apache": `apache2ctl restart` (SIGHUP to Apache) and a graceful
/// restart (SIGUSR1) each replace the web app; a stop ends it; one runs however many times
/// the site is loaded.
#[test]
fn apache_runs_the_web_app_and_restarts_it_with_itself() {
    let apache = start(upstream());
    let (first, args) = the_running_child(&apache, "the web app to start", &[]);
    let who = if is_root() { "root" } else { "" };
    assert!(args.ends_with("web --under-apache --user nobody"), "{args}");
    // Apache starts its piped logs as its own user; the web app becomes --user itself.
    assert!(who.is_empty() || args.starts_with(who), "{args}");
    apache.signal(nix::sys::signal::Signal::SIGHUP);
    let (second, _) =
        the_running_child(&apache, "a new web app after apache2ctl restart", &[first]);
    apache.signal(nix::sys::signal::Signal::SIGUSR1);
    let (third, _) = the_running_child(
        &apache,
        "a new web app after a graceful restart",
        &[first, second],
    );
    drop(apache);
    assert!(!alive(third), "the web app outlived Apache");
}
