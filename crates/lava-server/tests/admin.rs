//! Accounts, the admin interface and the web submit form over HTTP, against the real web app
//! on a test database: logins, the CSRF checks of every form in the one table of form posts,
//! and that each admin change lands in the database with who and why.

mod common;

use common::{Server, examples};
use lava_common::state::{DeviceHealth, JobHealth, JobState, WorkerHealth};
use lava_server::web::admin::forms::{FORMS, Who};
use reqwest::StatusCode;

const JOB: &str = "job_name: t\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {minutes: 1}\nactions: []\n";

/// A browser: cookies kept, redirects not followed (so the tests see them).
struct Browser {
    http: reqwest::Client,
    base: String,
}

/// A response's status, `Location` and body.
struct Page {
    status: StatusCode,
    location: Option<String>,
    cookies: Vec<String>,
    body: String,
}

async fn page(r: reqwest::Response) -> Page {
    let header = |n: &str| -> Vec<String> {
        r.headers()
            .get_all(n)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    };
    let location = header("location").into_iter().next();
    let cookies = header("set-cookie");
    Page {
        status: r.status(),
        location,
        cookies,
        body: r.text().await.unwrap(),
    }
}

/// The value of the first input named `name` in `html`.
fn field(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\" value=\""))? + name.len() + 15;
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

impl Browser {
    fn new(s: &Server) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: s.url.clone(),
        }
    }

    async fn get(&self, path: &str) -> Page {
        page(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let r = self.http.post(format!("{}{path}", self.base)).form(form);
        page(r.send().await.unwrap()).await
    }

    /// Logs in through the form, going on to `next`.
    async fn login(&self, user: &str, password: &str, next: &str) -> Page {
        let form = self.get(&format!("/accounts/login/?next={next}")).await;
        let token = field(&form.body, "csrfmiddlewaretoken").expect("login token");
        let fields = [
            ("username", user),
            ("password", password),
            ("csrfmiddlewaretoken", &token),
            ("next", next),
        ];
        self.post("/accounts/login/", &fields).await
    }

    /// The session's CSRF token, from a page's forms.
    async fn csrf(&self) -> String {
        let p = self.get("/scheduler/jobsubmit").await;
        field(&p.body, "csrfmiddlewaretoken").expect("a form with a csrf token")
    }

    /// Posts `form` with the session's CSRF token.
    async fn submit(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        let mut all = form.to_vec();
        all.push(("csrfmiddlewaretoken", &token));
        self.post(path, &all).await
    }
}

/// The server with the repository's templates, a staff user `admin` and a plain user `bob`.
async fn lab() -> Server {
    let s = Server::start().await;
    s.use_repo_templates();
    s.add_user("admin", "admin-password", &["--staff"]);
    s.add_user("bob", "bob-password", &[]);
    s
}

async fn logged_in(s: &Server, user: &str, password: &str) -> Browser {
    let b = Browser::new(s);
    let p = b.login(user, password, "/").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    b
}

#[tokio::test]
async fn login_logout_and_who_may_see_the_admin_pages() {
    let s = lab().await;
    let b = Browser::new(&s);
    // Anonymous: to the login page, which comes back here.
    let p = b.get("/admin/devices/").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(
        p.location.as_deref(),
        Some("/accounts/login/?next=/admin/devices/")
    );

    // A login post without the login form's cookie, or with another token, is refused.
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let fields = [
        ("username", "admin"),
        ("password", "admin-password"),
        ("csrfmiddlewaretoken", "x"),
    ];
    let r = bare
        .post(format!("{}/accounts/login/", s.url))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    b.get("/accounts/login/").await;
    let p = b.post("/accounts/login/", &fields).await;
    assert_eq!(
        p.status,
        StatusCode::FORBIDDEN,
        "a token that differs from the cookie"
    );
    assert!(b.get("/admin/").await.location.is_some(), "still anonymous");

    // A wrong password shows the form again, and no session.
    let p = b.login("admin", "wrong", "/admin/").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body.contains("correct username and password"),
        "{}",
        p.body
    );
    assert!(!p.cookies.iter().any(|c| c.starts_with("lavasession=")));

    // The right one: a session cookie (HttpOnly, SameSite=Lax) and back to `next`.
    let p = b.login("admin", "admin-password", "/admin/devices/").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location.as_deref(), Some("/admin/devices/"));
    let session = p
        .cookies
        .iter()
        .find(|c| c.starts_with("lavasession="))
        .unwrap()
        .clone();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    let p = b.get("/admin/devices/").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("kvm01"), "{}", p.body);

    // `next` never leaves the site.
    let other = Browser::new(&s);
    let p = other
        .login("admin", "admin-password", "//evil.example/")
        .await;
    assert_eq!(p.location.as_deref(), Some("/"));

    // Logout needs the CSRF token, ends the session on the server, and clears the cookie.
    assert_eq!(
        b.post("/accounts/logout/", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        b.get("/admin/").await.status,
        StatusCode::OK,
        "still logged in"
    );
    let p = b.submit("/accounts/logout/", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(
        p.cookies.iter().any(|c| c.starts_with("lavasession=;")),
        "{:?}",
        p.cookies
    );
    assert_eq!(b.get("/admin/").await.status, StatusCode::SEE_OTHER);
    let key = session.split(';').next().unwrap();
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/admin/", s.url))
        .header("cookie", key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the old cookie no longer works"
    );

    // A user who is not staff: 403 on the admin pages, but the submit form is theirs.
    let bob = logged_in(&s, "bob", "bob-password").await;
    let p = bob.get("/admin/").await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("staff"), "{}", p.body);
    assert_eq!(bob.get("/scheduler/jobsubmit").await.status, StatusCode::OK);
}

/// A value for each `{parameter}` of the form paths, and fields for every form.
fn fill(path: &str, job: i64, token: i64) -> String {
    path.replace("{device}", "kvm01")
        .replace("{device_type}", "kvm")
        .replace("{job}", &job.to_string())
        .replace("{worker}", "w1")
        .replace("{username}", "bob")
        .replace("{token}", &token.to_string())
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
];

#[tokio::test]
async fn every_form_refuses_a_missing_or_wrong_csrf_token() {
    let s = lab().await;
    s.manage(&["workers", "add", "w1"]);
    s.manage(&["tokens", "add", "--user", "bob"]);
    let job = s.submit(JOB);
    let c = s.db.client().await.unwrap();
    let token = lava_db::tokens::list(&c, Some("bob")).await.unwrap()[0].id;
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
    // Nothing changed anywhere.
    assert!(
        lava_db::admin_log::list(&c, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let d = lava_db::devices::get(&c, "kvm01").await.unwrap().unwrap();
    assert_eq!(d.health, DeviceHealth::Unknown);
    let j = lava_db::jobs::get(&c, job).await.unwrap().unwrap();
    assert_eq!((j.state, j.priority), (JobState::Submitted, 50));
    assert_eq!(lava_db::jobs::list(&c, None, 10, 0).await.unwrap().len(), 1);
    assert!(lava_db::users::get(&c, "carol").await.unwrap().is_none());
    assert_eq!(lava_db::tokens::list(&c, None).await.unwrap().len(), 1);
    let kvm = lava_db::device_types::get(&c, "kvm")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(kvm.info.health_check_job.as_deref(), Some(JOB));
    assert_eq!(
        lava_db::workers::get(&c, "w1")
            .await
            .unwrap()
            .unwrap()
            .job_limit,
        0
    );
    assert_eq!(
        admin.get("/admin/").await.status,
        StatusCode::OK,
        "not logged out"
    );
}

#[tokio::test]
async fn maintenance_with_a_reason_is_a_transition_and_a_log_entry() {
    let s = lab().await;
    let admin = logged_in(&s, "admin", "admin-password").await;
    let c = s.db.client().await.unwrap();
    // No reason: refused, nothing changed.
    let p = admin
        .submit(
            "/admin/devices/kvm01/health",
            &[("health", "maintenance"), ("reason", " ")],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        lava_db::devices::get(&c, "kvm01")
            .await
            .unwrap()
            .unwrap()
            .health,
        DeviceHealth::Unknown
    );

    let form = [
        ("health", "maintenance"),
        ("reason", "PDU port <7> is dead"),
    ];
    let p = admin.submit("/admin/devices/kvm01/health", &form).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(
        lava_db::devices::get(&c, "kvm01")
            .await
            .unwrap()
            .unwrap()
            .health,
        DeviceHealth::Maintenance
    );
    let t = &lava_db::devices::health_history(&c, "kvm01", 1)
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
    admin
        .submit(
            "/admin/devices/kvm01/health",
            &[("health", "retired"), ("reason", "gone")],
        )
        .await;
    let p = admin
        .submit(
            "/admin/devices/kvm01/health",
            &[("health", "good"), ("reason", "back")],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    assert_eq!(
        lava_db::devices::get(&c, "kvm01")
            .await
            .unwrap()
            .unwrap()
            .health,
        DeviceHealth::Retired
    );
    // Health checks set bad and looping, not admins.
    let p = admin
        .submit(
            "/admin/devices/kvm01/health",
            &[("health", "bad"), ("reason", "x")],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_bad_health_check_shows_the_error_and_changes_nothing() {
    let s = lab().await;
    let admin = logged_in(&s, "admin", "admin-password").await;
    let c = s.db.client().await.unwrap();
    let before = lava_db::device_types::get(&c, "kvm")
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
    let after = lava_db::device_types::get(&c, "kvm")
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
    let stored = lava_db::device_types::get(&c, "kvm")
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
async fn a_token_is_shown_once_and_stored_hashed() {
    let s = lab().await;
    let bob = logged_in(&s, "bob", "bob-password").await;
    let c = s.db.client().await.unwrap();
    let p = bob
        .submit("/api/tokens/", &[("description", "ci runner")])
        .await;
    assert_eq!(p.status, StatusCode::OK);
    let start = p
        .body
        .find("<pre id=\"secret\">")
        .expect("the secret is shown")
        + 17;
    let secret = &p.body[start..start + lava_common::token::TOKEN_LEN];
    assert!(
        !bob.get("/api/tokens/").await.body.contains(secret),
        "shown only once"
    );
    // The database has its hash, never the secret itself.
    let bob_id = lava_db::users::id_of(&c, "bob").await.unwrap();
    assert_eq!(
        lava_db::tokens::user_of(&c, &lava_common::token::hash(secret))
            .await
            .unwrap(),
        bob_id
    );
    assert_eq!(lava_db::tokens::user_of(&c, secret).await.unwrap(), None);
    for e in lava_db::admin_log::list(&c, None, 10).await.unwrap() {
        assert!(!format!("{e:?}").contains(secret));
    }
    // It works for the REST API, until it is deleted.
    let rest = |t: String| {
        let url = format!("{}/api/v0.2/jobs/", s.url);
        async move {
            reqwest::Client::new()
                .post(url)
                .header("authorization", format!("Token {t}"))
                .json(&serde_json::json!({"definition": JOB}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(rest(secret.to_string()).await, StatusCode::CREATED);
    let id = lava_db::tokens::list(&c, Some("bob")).await.unwrap()[0].id;
    // Someone else's token is not bob's to delete.
    s.manage(&["tokens", "add", "--user", "admin"]);
    let other = lava_db::tokens::list(&c, Some("admin")).await.unwrap()[0].id;
    let p = bob
        .submit(&format!("/api/tokens/{other}/delete"), &[])
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let p = bob.submit(&format!("/api/tokens/{id}/delete"), &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(rest(secret.to_string()).await, StatusCode::FORBIDDEN);
    assert_eq!(lava_db::tokens::list(&c, None).await.unwrap().len(), 1);

    // Staff make tokens for others, also shown once.
    let admin = logged_in(&s, "admin", "admin-password").await;
    let p = admin
        .submit(
            "/admin/tokens/add",
            &[
                ("username", "bob"),
                ("description", "lab"),
                ("reason", "for bob's CI"),
            ],
        )
        .await;
    assert!(p.body.contains("<pre id=\"secret\">"), "{}", p.body);
    assert_eq!(
        lava_db::tokens::list(&c, Some("bob")).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn priority_cancel_and_resubmit_of_jobs() {
    let s = lab().await;
    let admin = logged_in(&s, "admin", "admin-password").await;
    let c = s.db.client().await.unwrap();
    let a = s.submit(JOB);
    let p = admin
        .submit(
            &format!("/admin/jobs/{a}/priority"),
            &[("priority", "90"), ("reason", "release")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(
        lava_db::jobs::get(&c, a).await.unwrap().unwrap().priority,
        90
    );
    let p = admin
        .submit(
            &format!("/admin/jobs/{a}/priority"),
            &[("priority", "101"), ("reason", "x")],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains("101"), "{}", p.body);

    let p = admin
        .submit(
            &format!("/admin/jobs/{a}/cancel"),
            &[("reason", "wrong image")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let j = lava_db::jobs::get(&c, a).await.unwrap().unwrap();
    assert_eq!(
        (j.state, j.health),
        (JobState::Finished, JobHealth::Canceled)
    );
    let t = lava_db::job_admin::transitions(&c, a).await.unwrap();
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
    let p = admin
        .submit(
            &format!("/admin/jobs/{a}/priority"),
            &[("priority", "10"), ("reason", "x")],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert_eq!(
        lava_db::jobs::get(&c, a).await.unwrap().unwrap().priority,
        90
    );

    // Resubmitting makes a new job from the same definition, submitted by the admin.
    let p = admin
        .submit(&format!("/admin/jobs/{a}/resubmit"), &[("reason", "retry")])
        .await;
    let to = p.location.unwrap();
    let b: i64 = to.strip_prefix("/scheduler/job/").unwrap().parse().unwrap();
    let j = lava_db::jobs::get(&c, b).await.unwrap().unwrap();
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
    let j = lava_db::jobs::get(&c, id).await.unwrap().unwrap();
    assert_eq!(
        (j.definition.as_str(), j.submitter.as_deref()),
        (JOB.trim(), Some("bob"))
    );
}

#[tokio::test]
async fn workers_users_and_groups() {
    let s = lab().await;
    s.manage(&["workers", "add", "w1"]);
    let admin = logged_in(&s, "admin", "admin-password").await;
    let c = s.db.client().await.unwrap();
    let form = [
        ("health", "maintenance"),
        ("description", "rack 3"),
        ("job_limit", "2"),
        ("reason", "new disks"),
    ];
    let p = admin.submit("/admin/workers/w1", &form).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let w = lava_db::workers::get(&c, "w1").await.unwrap().unwrap();
    assert_eq!(
        (w.health, w.description.as_str(), w.job_limit),
        (WorkerHealth::Maintenance, "rack 3", 2)
    );
    let h = lava_db::worker_admin::health_history(&c, "w1", 1)
        .await
        .unwrap();
    assert_eq!(
        h[0],
        (
            WorkerHealth::Active,
            WorkerHealth::Maintenance,
            Some("admin".into()),
            "new disks".into()
        )
    );
    let bad = [
        ("health", "active"),
        ("description", ""),
        ("job_limit", "-1"),
        ("reason", "x"),
    ];
    assert_eq!(
        admin.submit("/admin/workers/w1", &bad).await.status,
        StatusCode::BAD_REQUEST
    );

    // A new user can log in; made inactive, they cannot.
    let add = [
        ("username", "carol"),
        ("password", "carol-password"),
        ("reason", "new hire"),
    ];
    assert_eq!(
        admin.submit("/admin/users/add", &add).await.status,
        StatusCode::SEE_OTHER
    );
    logged_in(&s, "carol", "carol-password").await;
    let off = [("is_staff", "on"), ("reason", "left")];
    assert_eq!(
        admin.submit("/admin/users/carol", &off).await.status,
        StatusCode::SEE_OTHER
    );
    let u = lava_db::users::get(&c, "carol").await.unwrap().unwrap();
    assert!(u.info.is_staff && !u.info.is_active);
    let p = Browser::new(&s).login("carol", "carol-password", "/").await;
    assert_eq!(p.status, StatusCode::OK, "an inactive user cannot log in");
    // Staff cannot make superusers; only superusers can.
    let up = [("is_active", "on"), ("is_superuser", "on"), ("reason", "x")];
    assert_eq!(
        admin.submit("/admin/users/carol", &up).await.status,
        StatusCode::FORBIDDEN
    );

    // A password reset ends the user's sessions and the new password works.
    let bob = logged_in(&s, "bob", "bob-password").await;
    let reset = [("password", "new-bob-password"), ("reason", "forgotten")];
    assert_eq!(
        admin
            .submit("/admin/users/bob/password", &reset)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        bob.get("/scheduler/jobsubmit").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        Browser::new(&s)
            .login("bob", "bob-password", "/")
            .await
            .status,
        StatusCode::OK
    );
    logged_in(&s, "bob", "new-bob-password").await;
    let stored = lava_db::users::get(&c, "bob")
        .await
        .unwrap()
        .unwrap()
        .info
        .password;
    assert!(stored.starts_with("$argon2"), "{stored}");

    // Groups and membership.
    admin
        .submit(
            "/admin/groups/add",
            &[("name", "lab-team"), ("reason", "x")],
        )
        .await;
    let join = [
        ("group", "lab-team"),
        ("action", "join"),
        ("reason", "joins"),
    ];
    assert_eq!(
        admin.submit("/admin/users/bob/groups", &join).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        lava_db::users::groups_of(&c, "bob").await.unwrap(),
        ["lab-team"]
    );
    let leave = [
        ("group", "lab-team"),
        ("action", "leave"),
        ("reason", "leaves"),
    ];
    admin.submit("/admin/users/bob/groups", &leave).await;
    assert!(
        lava_db::users::groups_of(&c, "bob")
            .await
            .unwrap()
            .is_empty()
    );
    let p = admin.get("/admin/users/").await;
    assert!(
        p.body.contains("lab-team") && p.body.contains("carol"),
        "{}",
        p.body
    );
    let log = lava_db::admin_log::list(&c, Some(("user", "bob")), 10)
        .await
        .unwrap();
    let reasons: Vec<_> = log.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["leaves", "joins", "forgotten"]);
}
