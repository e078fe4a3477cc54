//! The HTML pages, the live log and the charts against the real web app and scheduler, with
//! the test playing the worker over HTTP as worker_api.rs does.

mod common;

use std::time::{Duration, Instant};

use common::*;
use lava_common::ids::DeviceTypeName;
use lava_common::worker_api::Ack;

/// A GET with an optional API token; (status, content type, body).
async fn get(s: &Server, path: &str, token: Option<&str>) -> (u16, String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut r = client.get(format!("{}{path}", s.url));
    if let Some(t) = token {
        r = r.header("authorization", format!("Token {t}"));
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ctype, r.text().await.unwrap())
}

/// A page that must render: its body.
async fn page(s: &Server, path: &str, token: Option<&str>) -> String {
    let (status, _, body) = get(s, path, token).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// The response of `path` once it satisfies `ready`: the server looks at its templates
/// directory at most once a second, so an edit shows within that; the deadline is well past
/// it. Fails with the last response.
async fn once(s: &Server, path: &str, ready: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, _, body) = get(s, path, None).await;
        if ready(status, &body) {
            return (status, body);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} did not change within 10 s: {status} {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A user with an API token; the token.
fn user(s: &Server, name: &str) -> String {
    s.manage(&["users", "add", name]);
    s.manage(&["tokens", "add", "--user", name])
        .trim()
        .to_string()
}

/// Submits `job` as `user`; its id.
fn submit_as(s: &Server, user: &str, job: &str) -> i64 {
    let f = s.root.path().join(format!("job-{user}.yaml"));
    std::fs::write(&f, job).unwrap();
    s.manage(&["submit", f.to_str().unwrap(), "--user", user])
        .trim()
        .parse()
        .unwrap()
}

fn named_job(name: &str, visibility: &str) -> String {
    format!(
        "job_name: '{name}'\ndevice_type: kvm\nvisibility: {visibility}\ntimeouts:\n  job: {{minutes: 1}}\nactions: []\n"
    )
}

/// Undoes tera's escaping of a link (`&amp;`, `&#x2F;`).
fn unescape(s: &str) -> String {
    s.replace("&#x2F;", "/").replace("&amp;", "&")
}

/// The job ids linked from a job table, in order.
fn job_ids(html: &str) -> Vec<i64> {
    html.split("<td><a href=\"/scheduler/job/")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The "older" link of a list page, if any.
fn older_link(html: &str) -> Option<String> {
    let at = html.find("<a class=\"older\" href=\"")? + "<a class=\"older\" href=\"".len();
    Some(unescape(&html[at..at + html[at..].find('"').unwrap()]))
}

const RESULTS: &str = "- {\"dt\": \"2026-01-01T00:00:00.000000\", \"lvl\": \"results\", \"msg\": {\"case\": \"uname\", \"definition\": \"0_smoke\", \"result\": \"pass\"}}\n- {\"dt\": \"2026-01-01T00:00:00.000000\", \"lvl\": \"results\", \"msg\": {\"case\": \"ping\", \"definition\": \"0_smoke\", \"result\": \"fail\"}}\n";

#[tokio::test]
async fn every_page_renders_with_its_content() {
    let s = Server::start().await;
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    // A job that runs, files two results and a bundle into the seed's stream.
    let job = r#"{"job_name": "smoke-run", "device_type": "kvm", "timeout": 60, "actions": [{"command": "submit_results", "parameters": {"server": "http://localhost/RPC2/", "stream": "/anonymous/lab-health/"}}]}"#;
    let id = s.submit(job);
    w.take(id).await;
    let (status, _) = w.log(id, 0, RESULTS).await;
    assert_eq!(status, 200);
    // While it runs: the device shows it, the running list and home have it.
    let devices = page(&s, "/scheduler/alldevices", None).await;
    assert!(
        devices.contains("kvm01") && devices.contains(&format!(">{id}</a> smoke-run")),
        "{devices}"
    );
    let home = page(&s, "/", None).await;
    assert!(
        home.contains("Lab summary") && home.contains("smoke-run") && home.contains("w1"),
        "{home}"
    );
    assert!(
        home.contains("0 job(s) queued") && home.contains("1 running"),
        "{home}"
    );
    assert_eq!(
        job_ids(&page(&s, "/scheduler/jobs/running", None).await),
        vec![id]
    );
    assert!(job_ids(&page(&s, "/scheduler/jobs/queued", None).await).is_empty());
    // A long log: the job page follows only its last 1,000 lines unless asked for all.
    let long: String = (2..1005).map(line).collect();
    let (_, ack) = w.log(id, 2, &long).await;
    assert_eq!(ack.lines, 1005);
    let tail = page(&s, &format!("/scheduler/job/{id}"), None).await;
    assert!(
        unescape(&tail).contains(&format!("/scheduler/job/{id}/log/stream?start=5\"")),
        "{tail}"
    );
    assert!(unescape(&tail).contains(&format!("/scheduler/job/{id}?lines=all")));
    let all = page(&s, &format!("/scheduler/job/{id}?lines=all"), None).await;
    assert!(
        unescape(&all).contains(&format!("/scheduler/job/{id}/log/stream?start=0\"")),
        "{all}"
    );
    let (status, _): (u16, Ack) = w.complete(id, 1005).await;
    assert_eq!(status, 200);
    // In maintenance, the device leaves the next job in the queue.
    s.manage(&[
        "devices",
        "set-health",
        "kvm01",
        "maintenance",
        "--reason",
        "page test",
    ]);
    let queued = s.submit(EMPTY_JOB);
    // The device's .conf, where the web app's settings look for it (escaped on the page).
    let conf = s.root.path().join("etc/lava-dispatcher/devices");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("kvm01.conf"),
        "device_type = kvm\nqemu_options = <b>-m 512</b>\n",
    )
    .unwrap();

    let checks: Vec<(String, Vec<String>)> = vec![
        (
            "/scheduler/alldevices?device_type=kvm&health=maintenance&worker=w1".into(),
            vec!["kvm01".into()],
        ),
        (
            "/scheduler/device/kvm01".into(),
            vec![
                "Device kvm01".into(),
                "Health history".into(),
                "page test".into(),
                format!("/scheduler/job/{id}\""),
                "qemu_options = &lt;b&gt;-m 512&lt;/b&gt;".into(),
                "etc/lava-dispatcher/devices/kvm01.conf".into(),
            ],
        ),
        (
            "/scheduler/device_types".into(),
            vec!["/scheduler/device_type/kvm".into()],
        ),
        (
            "/scheduler/device_type/kvm".into(),
            vec!["Device type kvm".into(), "kvm01".into()],
        ),
        (
            "/scheduler/allworkers".into(),
            vec!["/scheduler/worker/w1".into(), "Online".into()],
        ),
        (
            "/scheduler/worker/w1".into(),
            vec!["Worker w1".into(), "kvm01".into()],
        ),
        (
            "/scheduler/alljobs".into(),
            vec!["smoke-run".into(), format!("/scheduler/job/{queued}\"")],
        ),
        (
            "/scheduler/jobs/queued".into(),
            vec![format!("/scheduler/job/{queued}\"")],
        ),
        (
            format!("/scheduler/job/{id}"),
            vec![
                "Job ".to_string() + &id.to_string() + ": smoke-run",
                "Timeline".into(),
                "Running".into(),
                "0_smoke".into(),
                "1 pass, 1 fail".into(),
                "/anonymous/lab-health/".into(),
                "/static/lava.js".into(),
                format!("/scheduler/job/{id}/log/stream?start=5"),
            ],
        ),
        ("/results/".into(), vec![format!("/results/{id}\"")]),
        (
            format!("/results/{id}"),
            vec!["uname".into(), "ping".into(), "0_smoke".into()],
        ),
        (
            "/dashboard/streams/".into(),
            vec!["/dashboard/streams/anonymous/lab-health/".into()],
        ),
        (
            "/dashboard/streams/anonymous/lab-health/".into(),
            vec![format!("/results/{id}\""), "smoke-run".into()],
        ),
        (
            "/results/charts".into(),
            vec![
                "/results/charts/queue.svg".into(),
                "pass-rate.svg?device_type=kvm".into(),
            ],
        ),
    ];
    for (path, wants) in &checks {
        // Tera escapes `/` in data (`&#x2F;`); browsers read it back as `/`.
        let html = unescape(&page(&s, path, None).await);
        for want in wants {
            assert!(html.contains(want.as_str()), "{path} lacks {want}: {html}");
        }
        assert!(
            html.contains("href=\"/accounts/login/\""),
            "{path}: the user menu"
        );
    }
    // The device filters narrow the list.
    for q in ["health=bad", "device_type=nosuch", "worker=nosuch"] {
        let html = page(&s, &format!("/scheduler/alldevices?{q}"), None).await;
        assert!(!html.contains("/scheduler/device/kvm01"), "{q}: {html}");
    }
    let (status, _, _) = get(&s, "/scheduler/alldevices?health=sick", None).await;
    assert_eq!(status, 400);
    // Missing things are 404 pages.
    for path in [
        "/scheduler/device/nosuch",
        "/scheduler/device_type/nosuch",
        "/scheduler/worker/nosuch",
        "/scheduler/job/999999",
        "/results/999999",
        "/dashboard/streams/anonymous/nosuch/",
    ] {
        assert_eq!(get(&s, path, None).await.0, 404, "{path}");
    }
    // The static files are served.
    let (status, ctype, css) = get(&s, "/static/lava.css", None).await;
    assert_eq!((status, ctype.starts_with("text/css")), (200, true));
    assert!(css.contains(".log"));
    let (status, _, js) = get(&s, "/static/lava.js", None).await;
    assert_eq!(status, 200);
    assert!(js.contains("EventSource"));
    // My jobs: anonymous callers go to the login page; a user sees their own jobs only.
    let (status, _, _) = get(&s, "/scheduler/myjobs", None).await;
    assert_eq!(status, 303);
    let alice = user(&s, "alice");
    let mine = submit_as(&s, "alice", &named_job("alices-job", "public"));
    let html = page(&s, "/scheduler/myjobs", Some(&alice)).await;
    assert_eq!(job_ids(&html), vec![mine]);
    assert!(
        html.contains("<span class=\"username\">alice</span>") && html.contains("Log out"),
        "{html}"
    );
}

#[tokio::test]
async fn job_lists_filter_and_page_by_id() {
    let s = Server::start().await;
    {
        let c = s.db.client().await.unwrap();
        lava_db::jobs::insert_many_for_bench(&c, 120, &DeviceTypeName::from("kvm"), None)
            .await
            .unwrap();
    }
    let queued = s.submit(EMPTY_JOB);
    // Newest first, 50 a page, each older page starts below the last id shown.
    let mut seen = Vec::new();
    let mut next = Some("/scheduler/alljobs".to_string());
    let mut pages = 0;
    while let Some(path) = next {
        let html = page(&s, &path, None).await;
        let ids = job_ids(&html);
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "{path}: {ids:?}");
        seen.extend(ids);
        next = older_link(&html);
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 121);
    assert_eq!(seen[0], queued);
    let mut sorted = seen.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(sorted, seen, "no job twice, none skipped");
    // Filters: one state, one health (every 10th bench job is incomplete), and they stay on
    // the older page links.
    assert_eq!(
        job_ids(&page(&s, "/scheduler/alljobs?state=submitted", None).await),
        vec![queued]
    );
    let html = page(&s, "/scheduler/alljobs?health=incomplete", None).await;
    assert_eq!(job_ids(&html).len(), 12, "{html}");
    assert!(!html.contains("class=\"older\""));
    let html = page(&s, "/scheduler/alljobs?health=complete", None).await;
    let link = older_link(&html).unwrap();
    assert!(
        link.contains("health=complete") && link.contains("before="),
        "{link}"
    );
    let older = page(&s, &link, None).await;
    assert_eq!(job_ids(&older).len(), 50);
    assert!(!older.contains(">Incomplete<"));
    let last = page(&s, &older_link(&older).unwrap(), None).await;
    assert_eq!(job_ids(&last).len(), 108 - 100);
    assert!(older_link(&last).is_none());
    let (status, _, _) = get(&s, "/scheduler/alljobs?before=abc", None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_private_job_is_not_found_for_others_and_absent_from_lists() {
    let s = Server::start().await;
    let alice = user(&s, "alice");
    let bob = user(&s, "bob");
    let secret = submit_as(&s, "alice", &named_job("alices-secret", "personal"));
    let open = submit_as(&s, "alice", &named_job("alices-open", "public"));
    let missing = secret + 1000;
    // The secret job takes kvm01 (it is older); the open one stays queued.
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    w.take(secret).await;
    let (status, _) = w.log(secret, 0, RESULTS).await;
    assert_eq!(status, 200);
    let paths = |id: i64| {
        vec![
            format!("/scheduler/job/{id}"),
            format!("/scheduler/job/{id}/log/raw"),
            format!("/scheduler/job/{id}/log/stream"),
            format!("/results/{id}"),
        ]
    };
    for who in [None, Some(bob.as_str())] {
        for (hidden, absent) in paths(secret).iter().zip(paths(missing)) {
            let (status, _, body) = get(&s, hidden, who).await;
            let (absent_status, _, absent_body) = get(&s, &absent, who).await;
            assert_eq!((status, absent_status), (404, 404), "{hidden}");
            assert_eq!(
                body.replace(&format!("no job {secret}"), "no job N"),
                absent_body.replace(&format!("no job {missing}"), "no job N"),
                "a hidden job looks exactly like a missing one"
            );
        }
        for list in [
            "/",
            "/scheduler/alljobs",
            "/scheduler/jobs/queued",
            "/scheduler/jobs/running",
            "/scheduler/alljobs?submitter=alice",
            "/scheduler/alldevices",
            "/scheduler/device/kvm01",
            "/scheduler/device_type/kvm",
            "/scheduler/worker/w1",
            "/results/",
        ] {
            let html = unescape(&page(&s, list, who).await);
            assert!(!html.contains("alices-secret"), "{list}: {html}");
            // Not even in a device's history ("job N scheduled").
            assert!(!html.contains(&format!("job {secret} ")), "{list}: {html}");
            assert!(
                !html.contains(&format!("/scheduler/job/{secret}\"")),
                "{list}: {html}"
            );
        }
        let (_, _, svg) = get(&s, "/results/charts/pass-rate.svg?device_type=kvm", who).await;
        assert!(svg.contains("no data") && !svg.contains("0_smoke"), "{svg}");
        let all = page(&s, "/scheduler/alljobs", who).await;
        assert_eq!(job_ids(&all), vec![open]);
        let home = page(&s, "/", who).await;
        assert!(
            home.contains("1 job(s) queued") && home.contains("0 running"),
            "{home}"
        );
    }
    for path in paths(secret) {
        // Only the status: the stream of an unfinished job does not end.
        let r = reqwest::Client::new()
            .get(format!("{}{path}", s.url))
            .header("authorization", format!("Token {alice}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }
    assert!(
        page(&s, &format!("/scheduler/job/{secret}"), Some(&alice))
            .await
            .contains("alices-secret")
    );
    assert_eq!(
        job_ids(&page(&s, "/scheduler/alljobs", Some(&alice)).await),
        vec![open, secret]
    );
    let home = page(&s, "/", Some(&alice)).await;
    assert!(
        home.contains("1 job(s) queued") && home.contains("1 running"),
        "{home}"
    );
    assert!(
        page(&s, "/results/", Some(&alice))
            .await
            .contains(&format!("/results/{secret}\""))
    );
    let (_, _, svg) = get(
        &s,
        "/results/charts/pass-rate.svg?device_type=kvm",
        Some(&alice),
    )
    .await;
    assert!(svg.contains("0_smoke"), "{svg}");
    let device = page(&s, "/scheduler/device/kvm01", Some(&alice)).await;
    assert!(
        device.contains(&format!("job {secret} scheduled")),
        "{device}"
    );
    let devices = unescape(&page(&s, "/scheduler/alldevices", Some(&alice)).await);
    assert!(
        devices.contains(&format!(
            "/scheduler/job/{secret}\">{secret}</a> alices-secret"
        )),
        "{devices}"
    );
}

#[tokio::test]
async fn job_names_are_escaped_everywhere() {
    let s = Server::start().await;
    let evil = "<script>alert(1)</script>";
    let id = s.submit(&named_job(evil, "public"));
    for path in [
        "/scheduler/alljobs".to_string(),
        "/scheduler/jobs/queued".to_string(),
        format!("/scheduler/job/{id}"),
        format!("/scheduler/alljobs?submitter={}", "%3Cscript%3E"),
    ] {
        let html = page(&s, &path, None).await;
        assert!(!html.contains("<script>alert"), "{path}: {html}");
    }
    let html = page(&s, &format!("/scheduler/job/{id}"), None).await;
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"),
        "{html}"
    );
}

#[tokio::test]
async fn a_template_edit_shows_on_the_next_request_and_errors_name_the_line() {
    let s = Server::start().await;
    let dir = s.root.path().join("usr/share/lava-server/templates");
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    let html = page(&s, "/", None).await;
    assert!(
        html.contains("Lab summary") && html.contains("w1") && html.contains(">unknown<"),
        "{html}"
    );

    // An edit shows within a second, with no restart.
    let home = std::fs::read_to_string(dir.join("home.html")).unwrap();
    std::fs::write(
        dir.join("home.html"),
        home.replace("Lab summary", "Our lab today"),
    )
    .unwrap();
    once(&s, "/", |st, b| st == 200 && b.contains("Our lab today")).await;
    // So does an edit of an included template.
    let menu = std::fs::read_to_string(dir.join("user_menu.html")).unwrap();
    std::fs::write(
        dir.join("user_menu.html"),
        menu.replace("Log in", "Sign in here"),
    )
    .unwrap();
    once(&s, "/scheduler/allworkers", |st, b| {
        st == 200 && b.contains("Sign in here")
    })
    .await;

    // A broken template is a page that names it and the line, not a blank one.
    std::fs::write(
        dir.join("home.html"),
        "{% extends \"base.html\" %}\n{% block content %}\n{% if %}\n{% endblock content %}\n",
    )
    .unwrap();
    let (status, html) = once(&s, "/", |st, _| st != 200).await;
    assert_eq!(status, 500);
    assert!(
        html.contains("Template error") && html.contains("home.html"),
        "{html}"
    );
    assert!(html.contains("3:"), "names the line: {html}");
    // Other pages still work, and the fix shows as soon.
    page(&s, "/scheduler/allworkers", None).await;
    std::fs::write(dir.join("home.html"), home).unwrap();
    once(&s, "/", |st, b| st == 200 && b.contains("Lab summary")).await;
}

/// Server-Sent Events read from a response: (event, id, data).
struct Events {
    body: reqwest::Response,
    buf: String,
}

impl Events {
    async fn open(s: &Server, path: &str) -> Events {
        let r = reqwest::get(format!("{}{path}", s.url)).await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Events {
            body: r,
            buf: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped), waiting at most `secs`.
    async fn next(&mut self, secs: u64) -> Option<(String, String, String)> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::new(), String::new(), String::new());
                for l in block.lines() {
                    if let Some(v) = l.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = l.strip_prefix("id:") {
                        id = v.trim().to_string();
                    } else if let Some(v) = l.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if event.is_empty() && data.is_empty() {
                    continue;
                }
                return Some((event, id, data));
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.body.chunk()).await {
                Ok(Ok(Some(b))) => self.buf.push_str(&String::from_utf8_lossy(&b)),
                _ => return None,
            }
        }
    }

    /// The line texts of a `lines` event.
    fn texts(data: &str) -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(data).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|l| l[3].as_str().unwrap().to_string())
            .collect()
    }
}

#[tokio::test]
async fn the_log_stream_sends_old_lines_then_new_ones_then_the_end() {
    let s = Server::start().await;
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    let id = s.submit(EMPTY_JOB);
    w.take(id).await;
    let batch: String = (0..3).map(line).collect();
    let (_, ack) = w.log(id, 0, &batch).await;
    assert_eq!(ack.lines, 3);

    let mut ev = Events::open(&s, &format!("/scheduler/job/{id}/log/stream")).await;
    let (event, last, data) = ev.next(10).await.expect("the existing lines");
    assert_eq!((event.as_str(), last.as_str()), ("lines", "3"));
    assert_eq!(Events::texts(&data), vec!["line 0", "line 1", "line 2"]);
    // Nothing more until the worker appends.
    assert!(ev.next(1).await.is_none());
    let more: String = (3..5).map(line).collect();
    let (_, ack) = w.log(id, 3, &more).await;
    assert_eq!(ack.lines, 5);
    let (event, last, data) = ev.next(10).await.expect("the new lines");
    assert_eq!((event.as_str(), last.as_str()), ("lines", "5"));
    assert_eq!(Events::texts(&data), vec!["line 3", "line 4"]);
    // Right after an event the follower would sleep a whole second before looking again: a
    // line that arrives well within that second was delivered by the wake-up.
    let started = Instant::now();
    let (_, ack) = w.log(id, 5, &line(5)).await;
    assert_eq!(ack.lines, 6);
    let (_, last, data) = ev.next(10).await.expect("the next line");
    assert_eq!(
        (last.as_str(), Events::texts(&data)),
        ("6", vec!["line 5".to_string()])
    );
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "woken, not polled: {:?}",
        started.elapsed()
    );
    // A second follower from line 4 gets only the rest.
    let mut tail = Events::open(&s, &format!("/scheduler/job/{id}/log/stream?start=4")).await;
    assert_eq!(
        Events::texts(&tail.next(10).await.unwrap().2),
        vec!["line 4", "line 5"]
    );

    let (status, _): (u16, Ack) = w.complete(id, 6).await;
    assert_eq!(status, 200);
    let (event, _, data) = ev.next(10).await.expect("the end");
    assert_eq!(event, "end");
    assert_eq!(data, "{\"lines\":6}");
    assert!(
        ev.next(2).await.is_none(),
        "the stream closes after the end"
    );
    assert_eq!(tail.next(10).await.unwrap().0, "end");
    // A finished job's stream sends everything, then the end at once.
    let mut done = Events::open(&s, &format!("/scheduler/job/{id}/log/stream")).await;
    assert_eq!(Events::texts(&done.next(10).await.unwrap().2).len(), 6);
    assert_eq!(done.next(10).await.unwrap().0, "end");
    // The raw log is the file as written.
    let raw = page(&s, &format!("/scheduler/job/{id}/log/raw"), None).await;
    assert_eq!(raw, (0..6).map(line).collect::<String>());
    let part = reqwest::Client::new()
        .get(format!("{}/scheduler/job/{id}/log/raw", s.url))
        .header("range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status().as_u16(), 206);
    assert_eq!(part.text().await.unwrap(), raw[..10]);
    // Bytes past the recorded end (an append whose commit failed) are not the log.
    let file = s
        .root
        .path()
        .join(format!("var/lib/lava-server/jobs/{id}/output.yaml"));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    std::io::Write::write_all(
        &mut f,
        b"- {\"lvl\": \"target\", \"msg\": \"never committed\"}\n",
    )
    .unwrap();
    drop(f);
    let after = page(&s, &format!("/scheduler/job/{id}/log/raw"), None).await;
    assert_eq!(after, raw, "only the recorded log");
}

#[tokio::test]
async fn charts_are_svg_drawn_from_the_history() {
    let s = Server::start().await;
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    let id = s.submit(EMPTY_JOB);
    w.take(id).await;
    w.log(id, 0, RESULTS).await;
    s.submit(EMPTY_JOB);
    for (path, wants) in [
        (
            "/results/charts/queue.svg?days=1",
            vec!["Queue length", "queued jobs"],
        ),
        (
            "/results/charts/health.svg",
            vec!["Devices by health", "Unknown"],
        ),
        (
            "/results/charts/pass-rate.svg?device_type=kvm",
            vec!["Pass rate on kvm", "0_smoke"],
        ),
    ] {
        let (status, ctype, svg) = get(&s, path, None).await;
        assert_eq!(
            (status, ctype.as_str()),
            (200, "image/svg+xml"),
            "{path}: {svg}"
        );
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        assert!(
            svg.contains("<polyline") && !svg.contains("no data"),
            "{path}: {svg}"
        );
        for want in wants {
            assert!(svg.contains(want), "{path} lacks {want}: {svg}");
        }
    }
    // One pass, one fail today: the pass-rate line sits at 50 %, halfway up the plot.
    let (_, _, svg) = get(&s, "/results/charts/pass-rate.svg?device_type=kvm", None).await;
    let points = svg.split("points=\"").nth(1).unwrap();
    let y: f64 = points[..points.find('"').unwrap()]
        .split(',')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!((y - 140.0).abs() < 0.2, "50 % is at y=140: {svg}");
    let (_, _, empty) = get(&s, "/results/charts/pass-rate.svg?device_type=nosuch", None).await;
    assert!(empty.contains("no data"));
    assert_eq!(get(&s, "/results/charts/nosuch.svg", None).await.0, 404);
    assert_eq!(
        get(&s, "/results/charts/queue.svg?days=0", None).await.0,
        400
    );
}
