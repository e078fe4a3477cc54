//! Headless Chromium for the tests: chromedriver on a free port, a WebDriver session through
//! fantoccini, screenshots, and waits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Form;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::common::Daemon;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver on a free port, and a headless Chromium session with a fresh profile. The
/// flags keep Chromium off the network (this machine has none, and Chromium stalls trying).
pub async fn browser(profile: &Path) -> (Daemon, Client) {
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

pub fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

pub async fn text(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

pub async fn path(c: &Client) -> String {
    let u = c.current_url().await.unwrap();
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

/// Submits `form` after marking the page it leaves, so that `wait_path` can tell the page the
/// server answers with from the old one, even when both have the same path.
pub async fn submit(c: &Client, form: Form) {
    c.execute("document.documentElement.dataset.left = 'yes';", vec![])
        .await
        .unwrap();
    form.submit().await.unwrap();
}

/// Whether the page shown is a new one: not the page `submit` marked. A page still being
/// replaced counts as not new.
async fn fresh(c: &Client) -> bool {
    match c
        .execute(
            "return document.readyState === 'complete' && !document.documentElement.dataset.left;",
            vec![],
        )
        .await
    {
        Ok(v) => v.as_bool() == Some(true),
        Err(_) => false,
    }
}

/// Waits until the browser shows a new page at a path that `ok` accepts.
pub async fn wait_path(c: &Client, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let p = path(c).await;
        if ok(&p) && fresh(c).await {
            return p;
        }
        assert!(Instant::now() < deadline, "waiting for {what}, at {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
