//! The web app in a real browser: headless Chromium driven through chromedriver (WebDriver)
//! with fantoccini. A person's path through it: log in, submit a job from the form, see the
//! job, put a device into maintenance, set the kvm health check. Screenshots of the pages go
//! to `target/screenshots/`. Needs Debian's `chromium` and `chromium-driver`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, Server, examples};
use fantoccini::{Client, ClientBuilder, Locator};
use lava_common::state::DeviceHealth;
use serde_json::json;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver on a free port, and a headless Chromium session with a fresh profile. The
/// flags keep Chromium off the network (this machine has none, and Chromium stalls trying).
async fn browser(profile: &Path) -> (Daemon, Client) {
    assert!(
        Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
        "the browser tests need Debian's chromium and chromium-driver packages \
         (apt-get install -y chromium chromium-driver)"
    );
    let port = free_port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Daemon(driver);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        &format!("--user-data-dir={}", profile.display()),
    ];
    let caps = json!({"goog:chromeOptions": {"binary": CHROMIUM, "args": args}});
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps.as_object().unwrap().clone())
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a chromium session");
    (driver, client)
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

async fn text(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn path(c: &Client) -> String {
    let u = c.current_url().await.unwrap();
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

/// Waits until the browser is at a path that `ok` accepts.
async fn wait_path(c: &Client, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let p = path(c).await;
        if ok(&p) {
            return p;
        }
        assert!(Instant::now() < deadline, "waiting for {what}, at {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const JOB: &str = "job_name: from the browser\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {minutes: 1}\nactions: []\n";

#[tokio::test]
async fn a_lab_admin_in_the_browser() {
    let s = Server::start().await;
    s.add_user("admin", "admin-password", &["--staff"]);
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;
    let db = s.db.client().await.unwrap();

    // The admin pages send an anonymous visitor to the login form, which comes back.
    c.goto(&format!("{}/admin/", s.url)).await.unwrap();
    wait_path(&c, "the login page", |p| p.starts_with("/accounts/login/")).await;
    shot(&c, "login").await;
    let form = c.form(Locator::Css("#login-form")).await.unwrap();
    form.set_by_name("username", "admin").await.unwrap();
    form.set_by_name("password", "admin-password")
        .await
        .unwrap();
    form.submit().await.unwrap();
    wait_path(&c, "the admin page", |p| p == "/admin/").await;
    assert!(text(&c, "h1").await.contains("Administration"));

    // A broken job comes back with the line at fault; a good one is stored and shown.
    c.goto(&format!("{}/scheduler/jobsubmit", s.url))
        .await
        .unwrap();
    let form = c.form(Locator::Css("#submit-form")).await.unwrap();
    form.set_by_name("definition", "job_name: x\ndevice_type: kvm\nactions: [\n")
        .await
        .unwrap();
    form.submit().await.unwrap();
    let error = text(&c, "#submit-error").await;
    assert!(error.contains("line"), "{error}");
    shot(&c, "submit-error").await;
    let form = c.form(Locator::Css("#submit-form")).await.unwrap();
    form.set_by_name("definition", JOB).await.unwrap();
    shot(&c, "submit").await;
    form.submit().await.unwrap();
    let at = wait_path(&c, "the job page", |p| p.starts_with("/scheduler/job/")).await;
    let id: i64 = at.rsplit('/').next().unwrap().parse().unwrap();
    let job = lava_db::jobs::get(&db, id).await.unwrap().unwrap();
    assert_eq!(
        (job.description.as_str(), job.submitter.as_deref()),
        ("from the browser", Some("admin"))
    );
    shot(&c, "job").await;

    // Maintenance from the device list, with a reason; the device page shows the transition.
    c.goto(&format!("{}/admin/devices/", s.url)).await.unwrap();
    shot(&c, "admin-devices").await;
    let row = Locator::Css("#device-kvm01 form");
    let form = c.form(row).await.unwrap();
    c.find(Locator::Css("#device-kvm01 select[name=health]"))
        .await
        .unwrap()
        .select_by_value("maintenance")
        .await
        .unwrap();
    c.find(Locator::Css("#device-kvm01 input[name=reason]"))
        .await
        .unwrap()
        .send_keys("serial cable swapped")
        .await
        .unwrap();
    form.submit().await.unwrap();
    wait_path(&c, "the device page", |p| p == "/admin/devices/kvm01/").await;
    assert_eq!(text(&c, "#health").await, "maintenance");
    let transitions = text(&c, "#transitions").await;
    assert!(
        transitions.contains("serial cable swapped") && transitions.contains("admin"),
        "{transitions}"
    );
    shot(&c, "admin-device").await;
    let d = lava_db::devices::get(&db, "kvm01").await.unwrap().unwrap();
    assert_eq!(d.health, DeviceHealth::Maintenance);

    // The seed's kvm health check, pasted into the device type's editor.
    let hc = std::fs::read_to_string(examples().join("health-checks/kvm-health.json")).unwrap();
    c.goto(&format!("{}/admin/device-types/kvm/", s.url))
        .await
        .unwrap();
    let form = c.form(Locator::Css("#health-check-form")).await.unwrap();
    form.set_by_name("definition", &hc).await.unwrap();
    form.set_by_name("reason", "the seed's health check")
        .await
        .unwrap();
    form.submit().await.unwrap();
    wait_path(&c, "the editor again", |p| p == "/admin/device-types/kvm/").await;
    let shown = c
        .find(Locator::Css("#id_definition"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(shown.contains("\"kvm-health\""), "{shown}");
    shot(&c, "admin-health-check").await;
    let t = lava_db::device_types::get(&db, "kvm")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.info.health_check_job.as_deref(), Some(hc.as_str()));

    // The admin home lists both changes with their reasons.
    c.goto(&format!("{}/admin/", s.url)).await.unwrap();
    let log = text(&c, "#admin-log").await;
    assert!(
        log.contains("serial cable swapped") && log.contains("the seed's health check"),
        "{log}"
    );
    shot(&c, "admin").await;
    c.close().await.unwrap();
}
