//! The web app in a real browser: headless Chromium driven through chromedriver (WebDriver)
//! with fantoccini. A person's path through it: log in, submit a job from the form, see the
//! job, put a device into maintenance, set the kvm health check. Screenshots of the pages go
//! to `target/screenshots/`. Needs Debian's `chromium` and `chromium-driver`.

#[path = "../common/mod.rs"]
mod common;
mod driver;

use std::time::Duration;

use common::{Server, Worker, examples, line};
use driver::{browser, shot, submit, text, wait_path};
use fantoccini::Locator;
use lava_common::ids::{DeviceName, DeviceTypeName, JobId};
use lava_common::state::DeviceHealth;
use lava_common::worker_api::{Ack, LogAck};
use serde_json::json;

const JOB: &str = "job_name: from the browser\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {minutes: 1}\nactions: []\n";

/// A result line as the dispatcher writes it.
const RESULT: &str = "- {\"dt\": \"2026-01-01T00:00:00.000000\", \"lvl\": \"results\", \"msg\": {\"case\": \"uname\", \"definition\": \"0_smoke\", \"result\": \"pass\"}}\n";

/// Polls as the worker until the scheduler gives it job `id`, and reports it started.
async fn start(w: &Worker, id: i64) {
    w.poll(&[], 0).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = w.poll(&[], 5_000).await;
        if r.start.iter().any(|j| j.id == JobId(id)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job {id} was not assigned"
        );
    }
    let (status, _): (u16, Ack) = w.post(&format!("jobs/{id}/started"), json!({})).await;
    assert_eq!(status, 200);
}

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
    submit(&c, form).await;
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
    submit(&c, form).await;
    let error = text(&c, "#submit-error").await;
    assert!(error.contains("line"), "{error}");
    shot(&c, "submit-error").await;
    let form = c.form(Locator::Css("#submit-form")).await.unwrap();
    form.set_by_name("definition", JOB).await.unwrap();
    shot(&c, "submit").await;
    submit(&c, form).await;
    let at = wait_path(&c, "the job page", |p| p.starts_with("/scheduler/job/")).await;
    let id: i64 = at.rsplit('/').next().unwrap().parse().unwrap();
    let job = lava_db::jobs::get(&db, JobId(id)).await.unwrap().unwrap();
    assert_eq!(
        (job.description.as_str(), job.submitter.as_deref()),
        ("from the browser", Some("admin"))
    );
    assert!(text(&c, "h1").await.contains("from the browser"));
    shot(&c, "job").await;

    // A worker runs it: lines appended through the worker API appear in the open page.
    let w = s.worker("w1");
    start(&w, id).await;
    c.goto(&format!("{}/scheduler/job/{id}", s.url))
        .await
        .unwrap();
    for n in 0..3 {
        let (status, ack): (u16, LogAck) = w
            .post(
                &format!("jobs/{id}/logs"),
                json!({"offset": n, "lines": line(n)}),
            )
            .await;
        assert_eq!((status, ack.lines), (200, n as u64 + 1));
        let shown = text(&c, &format!("#L{n}")).await;
        assert!(shown.contains(&format!("line {n}")), "line {n}: {shown}");
    }
    c.execute("document.getElementById('log').scrollIntoView();", vec![])
        .await
        .unwrap();
    shot(&c, "job-log").await;
    // A result line becomes a test case, and the page shows its suite once the job ends.
    let (_, ack): (u16, LogAck) = w
        .post(
            &format!("jobs/{id}/logs"),
            json!({"offset": 3, "lines": RESULT}),
        )
        .await;
    assert_eq!(ack.lines, 4);
    let done = json!({"health": "complete", "error_type": null, "error_msg": null, "log_lines": 4});
    let (status, _): (u16, Ack) = w.post(&format!("jobs/{id}/finished"), done).await;
    assert_eq!(status, 200);
    c.goto(&format!("{}/scheduler/job/{id}", s.url))
        .await
        .unwrap();
    let page = text(&c, "main").await;
    assert!(
        page.contains("0_smoke") && page.contains("1 pass, 0 fail"),
        "{page}"
    );
    shot(&c, "job-results").await;

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
    submit(&c, form).await;
    wait_path(&c, "the device page", |p| p == "/admin/devices/kvm01/").await;
    assert_eq!(text(&c, "#health").await, "maintenance");
    let transitions = text(&c, "#transitions").await;
    assert!(
        transitions.contains("serial cable swapped") && transitions.contains("admin"),
        "{transitions}"
    );
    shot(&c, "admin-device").await;
    let d = lava_db::devices::get(&db, &DeviceName::from("kvm01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.info.health, DeviceHealth::Maintenance);

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
    submit(&c, form).await;
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
    let t = lava_db::device_types::get(&db, &DeviceTypeName::from("kvm"))
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

    // The charts page draws its SVG charts (each image loads and has a size).
    c.goto(&format!("{}/results/charts", s.url)).await.unwrap();
    let drawn = c
        .execute(
            "return Array.from(document.querySelectorAll('img.chart'))
                .map(i => i.complete && i.naturalWidth > 0);",
            vec![],
        )
        .await
        .unwrap();
    let drawn: Vec<bool> = serde_json::from_value(drawn).unwrap();
    assert!(drawn.len() >= 3 && drawn.iter().all(|d| *d), "{drawn:?}");
    shot(&c, "charts").await;
    c.close().await.unwrap();
}
