//! Admin changes to devices, device types and jobs, and the submit form.

use lava_common::ids::{DeviceName, DeviceTypeName, JobId};
use lava_common::state::{DeviceHealth, JobHealth, JobState};
use reqwest::StatusCode;

use crate::client::{Browser, JOB, lab, logged_in};
use crate::common::examples;

#[tokio::test]
async fn maintenance_with_a_reason_is_a_transition_and_a_log_entry() {
    let s = lab().await;
    let admin = logged_in(&s, "admin", "admin-password").await;
    let c = s.db.client().await.unwrap();
    let health = async || {
        lava_db::devices::get(&c, &DeviceName::from("kvm01"))
            .await
            .unwrap()
            .unwrap()
            .info
            .health
    };
    let set_health = async |health: &str, reason: &str| {
        admin
            .submit(
                "/admin/devices/kvm01/health",
                &[("health", health), ("reason", reason)],
            )
            .await
    };
    // No reason: refused, nothing changed.
    let p = set_health("maintenance", " ").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_eq!(health().await, DeviceHealth::Unknown);

    let p = set_health("maintenance", "PDU port <7> is dead").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(health().await, DeviceHealth::Maintenance);
    let t = &lava_db::devices::health_history(&c, &DeviceName::from("kvm01"), 1)
        .await
        .unwrap()[0];
    assert_eq!(t.health, (DeviceHealth::Unknown, DeviceHealth::Maintenance));
    assert_eq!(
        (t.actor.as_deref(), t.reason.as_str()),
        (Some("admin"), "PDU port <7> is dead")
    );
    let log = lava_db::admin_log::list(&c, Some(("device", "kvm01")), 5)
        .await
        .unwrap();
    assert_eq!(
        (log[0].username.as_str(), log[0].reason.as_str()),
        ("admin", "PDU port <7> is dead")
    );
    assert!(log[0].action.contains("maintenance"), "{:?}", log[0]);
    // The device page shows it, escaped.
    let p = admin.get("/admin/devices/kvm01/").await;
    assert!(
        p.body.contains("PDU port &lt;7&gt; is dead") && !p.body.contains("<7>"),
        "{}",
        p.body
    );
    assert!(
        admin
            .get("/admin/")
            .await
            .body
            .contains("PDU port &lt;7&gt; is dead")
    );

    // Retired, then good is not a legal step (a retired device comes back through unknown).
    set_health("retired", "gone").await;
    let p = set_health("good", "back").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    assert_eq!(health().await, DeviceHealth::Retired);
    // Health checks set bad and looping, not admins.
    let p = set_health("bad", "x").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_bad_health_check_shows_the_error_and_changes_nothing() {
    let s = lab().await;
    let admin = logged_in(&s, "admin", "admin-password").await;
    let c = s.db.client().await.unwrap();
    let before = lava_db::device_types::get(&c, &DeviceTypeName::from("kvm"))
        .await
        .unwrap()
        .unwrap()
        .info
        .health_check_job;
    let broken =
        "{\n  \"job_name\": \"kvm-health\",\n  \"device_type\": \"kvm\",\n  \"actions\": [\n}\n";
    let p = admin
        .submit(
            "/admin/device-types/kvm/health-check",
            &[("definition", broken), ("reason", "new check")],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains("line 5"), "names the line: {}", p.body);
    assert!(
        p.body.contains("&quot;kvm-health&quot;"),
        "the text is kept: {}",
        p.body
    );
    let missing = "job_name: hc\ndevice_type: kvm\nactions: []\n";
    let p = admin
        .submit(
            "/admin/device-types/kvm/health-check",
            &[("definition", missing), ("reason", "new check")],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains("timeout"), "names the field: {}", p.body);
    let after = lava_db::device_types::get(&c, &DeviceTypeName::from("kvm"))
        .await
        .unwrap()
        .unwrap()
        .info
        .health_check_job;
    assert_eq!(before, after);
    assert!(
        lava_db::admin_log::list(&c, None, 5)
            .await
            .unwrap()
            .is_empty()
    );

    // The seed's health check is stored as written.
    let good = std::fs::read_to_string(examples().join("health-checks/kvm-health.json")).unwrap();
    let p = admin
        .submit(
            "/admin/device-types/kvm/health-check",
            &[("definition", &good), ("reason", "seed")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let stored = lava_db::device_types::get(&c, &DeviceTypeName::from("kvm"))
        .await
        .unwrap()
        .unwrap()
        .info
        .health_check_job;
    assert_eq!(stored.as_deref(), Some(good.as_str()));
    let log = lava_db::admin_log::list(&c, Some(("device_type", "kvm")), 5)
        .await
        .unwrap();
    assert_eq!(log[0].reason, "seed");
}

#[tokio::test]
async fn priority_cancel_and_resubmit_of_jobs() {
    let s = lab().await;
    let admin = logged_in(&s, "admin", "admin-password").await;
    let c = s.db.client().await.unwrap();
    let a = s.submit(JOB);
    let job = async |id: i64| lava_db::jobs::get(&c, JobId(id)).await.unwrap().unwrap();
    let set_priority = async |priority: &str, reason: &str| {
        admin
            .submit(
                &format!("/admin/jobs/{a}/priority"),
                &[("priority", priority), ("reason", reason)],
            )
            .await
    };
    let p = set_priority("90", "release").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(job(a).await.priority, 90);
    let p = set_priority("101", "x").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains("101"), "{}", p.body);

    let p = admin
        .submit(
            &format!("/admin/jobs/{a}/cancel"),
            &[("reason", "wrong image")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let j = job(a).await;
    assert_eq!(
        (j.state, j.health),
        (JobState::Finished, JobHealth::Canceled)
    );
    let t = lava_db::transitions::job_history(&c, JobId(a))
        .await
        .unwrap();
    let last = t.last().unwrap();
    assert_eq!(
        (last.actor.as_deref(), last.reason.as_str()),
        (Some("admin"), "wrong image")
    );
    let log = lava_db::admin_log::list(&c, Some(("job", &a.to_string())), 5)
        .await
        .unwrap();
    assert_eq!(log[0].reason, "wrong image");
    // A finished job's priority stays as it was.
    let p = set_priority("10", "x").await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert_eq!(job(a).await.priority, 90);

    // Resubmitting makes a new job from the same definition, submitted by the admin.
    let p = admin
        .submit(&format!("/admin/jobs/{a}/resubmit"), &[("reason", "retry")])
        .await;
    let to = p.location.unwrap();
    let b: i64 = to.strip_prefix("/scheduler/job/").unwrap().parse().unwrap();
    let j = job(b).await;
    assert_eq!(
        (j.definition.as_str(), j.submitter.as_deref()),
        (JOB, Some("admin"))
    );
    assert!(
        admin
            .get("/admin/jobs/")
            .await
            .body
            .contains(&format!("/admin/jobs/{b}/cancel"))
    );
}

#[tokio::test]
async fn the_submit_form_validates_and_stores_jobs() {
    let s = lab().await;
    let p = Browser::new(&s).get("/scheduler/jobsubmit").await;
    assert_eq!(
        p.location.as_deref(),
        Some("/accounts/login/?next=/scheduler/jobsubmit")
    );
    let bob = logged_in(&s, "bob", "bob-password").await;
    let c = s.db.client().await.unwrap();
    let bad =
        "job_name: t\ndevice_type: kvm\ntimeouts:\n  job: {minutes: 1}\nactions:\n  - deploy: [\n";
    let p = bob
        .submit("/scheduler/jobsubmit", &[("definition", bad)])
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains("line"), "{}", p.body);
    let p = bob
        .submit(
            "/scheduler/jobsubmit",
            &[(
                "definition",
                "job_name: t\ndevice_type: nosuch\ntimeouts:\n  job: {minutes: 1}\nactions: []\n",
            )],
        )
        .await;
    assert!(p.body.contains("nosuch"), "{}", p.body);
    assert!(
        lava_db::jobs::list(&c, None, 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    let p = bob
        .submit(
            "/scheduler/jobsubmit",
            &[("definition", &JOB.replace('\n', "\r\n"))],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let id: i64 = p
        .location
        .unwrap()
        .strip_prefix("/scheduler/job/")
        .unwrap()
        .parse()
        .unwrap();
    let j = lava_db::jobs::get(&c, JobId(id)).await.unwrap().unwrap();
    assert_eq!(
        (j.definition.as_str(), j.submitter.as_deref()),
        (JOB.trim(), Some("bob"))
    );
}
