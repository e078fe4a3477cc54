//! The CSRF checks of every form in the one table of form posts.

use lava_common::ids::{DeviceName, DeviceTypeName, JobId, WorkerName};
use lava_common::state::{DeviceHealth, JobState};
use reqwest::StatusCode;

use crate::client::{Browser, JOB, lab, logged_in};
use lava_server::web::admin::forms::{FORMS, Who};

/// A value for each `{parameter}` of the form paths, and fields for every form.
fn fill(path: &str, job: i64, token: i64) -> String {
    path.replace("{device}", "kvm01")
        .replace("{device_type}", "kvm")
        .replace("{job}", &job.to_string())
        .replace("{worker}", "w1")
        .replace("{username}", "bob")
        .replace("{token}", &token.to_string())
        .replace("{tag}", "1")
}

const EVERY_FIELD: &[(&str, &str)] = &[
    ("reason", "testing"),
    ("health", "maintenance"),
    ("definition", JOB),
    ("priority", "90"),
    ("description", "d"),
    ("job_limit", "3"),
    ("username", "carol"),
    ("password", "carol-password"),
    ("is_staff", "on"),
    ("name", "g1"),
    ("group", "g1"),
    ("action", "join"),
    ("worker", "w1"),
];

#[tokio::test]
async fn every_form_refuses_a_missing_or_wrong_csrf_token() {
    let s = lab().await;
    s.manage(&["workers", "add", "w1"]);
    s.manage(&["failure-tags", "add", "t1"]);
    let secret = s
        .manage(&["tokens", "add", "--user", "admin"])
        .trim()
        .to_string();
    let job = s.submit(JOB);
    let c = s.db.client().await.unwrap();
    let token = lava_db::tokens::list(&c, Some("admin")).await.unwrap()[0].id;
    let admin = logged_in(&s, "admin", "admin-password").await;
    let bob = logged_in(&s, "bob", "bob-password").await;
    let anonymous = Browser::new(&s);
    let bob_csrf = bob.csrf().await;
    assert!(FORMS.len() >= 15, "the table lists every form: {FORMS:?}");
    for (path, who) in FORMS {
        let url = fill(path, job, token);
        let missing = admin.post(&url, EVERY_FIELD).await;
        assert_eq!(
            missing.status,
            StatusCode::FORBIDDEN,
            "{url} without a token"
        );
        assert!(missing.body.contains("CSRF"), "{url}: {}", missing.body);
        let mut wrong = EVERY_FIELD.to_vec();
        wrong.push(("csrfmiddlewaretoken", "0123456789abcdef0123456789abcdef"));
        assert_eq!(
            admin.post(&url, &wrong).await.status,
            StatusCode::FORBIDDEN,
            "{url} with a wrong token"
        );
        let p = anonymous.post(&url, EVERY_FIELD).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{url} anonymous");
        assert!(p.location.unwrap().starts_with("/accounts/login/"));
        if *who == Who::Staff {
            let mut valid = EVERY_FIELD.to_vec();
            valid.push(("csrfmiddlewaretoken", &bob_csrf));
            assert_eq!(
                bob.post(&url, &valid).await.status,
                StatusCode::FORBIDDEN,
                "{url} by a non-staff user"
            );
        }
    }
    // An API token is no way around the CSRF check: forms are for browser sessions.
    for (path, _) in FORMS {
        let mut fields = EVERY_FIELD.to_vec();
        fields.push(("csrfmiddlewaretoken", ""));
        let r = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(format!("{}{}", s.url, fill(path, job, token)))
            .header("authorization", format!("Token {secret}"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "{path} with an API token"
        );
    }
    // Nothing changed anywhere.
    assert!(
        lava_db::admin_log::list(&c, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let d = lava_db::devices::get(&c, &DeviceName::from("kvm01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.info.health, DeviceHealth::Unknown);
    let j = lava_db::jobs::get(&c, JobId(job)).await.unwrap().unwrap();
    assert_eq!((j.state, j.priority), (JobState::Submitted, 50));
    assert_eq!(lava_db::jobs::list(&c, None, 10, 0).await.unwrap().len(), 1);
    assert!(lava_db::users::get(&c, "carol").await.unwrap().is_none());
    assert_eq!(lava_db::tokens::list(&c, None).await.unwrap().len(), 1);
    let kvm = lava_db::device_types::get(&c, &DeviceTypeName::from("kvm"))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(kvm.info.health_check_job.as_deref(), Some(JOB));
    let w1 = lava_db::workers::get(&c, &WorkerName::from("w1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((w1.job_limit, w1.approved), (0, false));
    assert_eq!(d.info.worker_host, None);
    let tags = lava_db::failure_tags::list(&c).await.unwrap();
    assert_eq!(
        (tags.len(), tags[0].id, tags[0].name.as_str()),
        (1, 1, "t1")
    );
    assert_eq!(
        admin.get("/admin/").await.status,
        StatusCode::OK,
        "not logged out"
    );
}
