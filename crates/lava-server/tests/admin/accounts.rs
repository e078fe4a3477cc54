//! Logins, API tokens, users and groups.

use lava_common::ids::WorkerName;
use lava_common::state::WorkerHealth;
use reqwest::StatusCode;

use crate::client::{Browser, JOB, lab, logged_in};

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
    assert!(
        p.body.contains("<span class=\"username\">bob</span>"),
        "the menu knows bob"
    );
    assert_eq!(bob.get("/scheduler/jobsubmit").await.status, StatusCode::OK);
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

    // Superusers make tokens for others, also shown once.
    s.add_user("root", "root-password", &["--superuser"]);
    let root = logged_in(&s, "root", "root-password").await;
    let p = root
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
    let w = lava_db::workers::get(&c, &WorkerName::from("w1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (w.health, w.description.as_str(), w.job_limit),
        (WorkerHealth::Maintenance, "rack 3", 2)
    );
    let h = lava_db::worker_admin::health_history(&c, &WorkerName::from("w1"), 1)
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
    // Nor take over a superuser's account; a superuser can.
    s.add_user("root", "root-password", &["--superuser"]);
    let take = [("password", "taken-over"), ("reason", "x")];
    let p = admin.submit("/admin/users/root/password", &take).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = admin
        .submit("/admin/users/root", &[("is_active", "on"), ("reason", "x")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let root = logged_in(&s, "root", "root-password").await;
    assert_eq!(
        root.submit("/admin/users/carol", &up).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(
        lava_db::users::get(&c, "carol")
            .await
            .unwrap()
            .unwrap()
            .info
            .is_superuser
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

    // A group's name is one line of at most 150 characters.
    for bad in ["two\nlines".to_string(), "g".repeat(151)] {
        let r = admin
            .submit("/admin/groups/add", &[("name", &bad), ("reason", "x")])
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad:?}: {}", r.body);
        assert!(r.body.contains("1 to 150 characters"), "{}", r.body);
    }
    // Groups and membership: a superuser puts admin in the new group, then admin, a
    // member, manages its members.
    admin
        .submit(
            "/admin/groups/add",
            &[("name", "lab-team"), ("reason", "x")],
        )
        .await;
    let admin_joins = [
        ("group", "lab-team"),
        ("action", "join"),
        ("reason", "team lead"),
    ];
    assert_eq!(
        root.submit("/admin/users/admin/groups", &admin_joins)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
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

/// A user brought over from a LAVA lab keeps the password they had: Django's PBKDF2 hash
/// (made here by Python's hashlib, as Django makes it) is checked at login, and replaced by
/// an argon2 hash once it matched.
#[tokio::test]
async fn a_lava_users_django_password_logs_in_and_is_upgraded() {
    let s = lab().await;
    let script = "import base64,hashlib; \
        d=hashlib.pbkdf2_hmac('sha256', b'lava-password', b'seasalt', 2000); \
        print('pbkdf2_sha256$2000$seasalt$' + base64.b64encode(d).decode())";
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script])
        .output()
        .expect("python3 (Debian's python3 package) runs");
    let django = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let fixture = s.root.path().join("ann.json");
    std::fs::write(
        &fixture,
        format!(
            r#"[{{"model": "auth.user", "pk": 7, "fields": {{"username": "ann", "password": "{django}", "is_active": true, "is_staff": false, "is_superuser": false, "email": "", "first_name": "", "last_name": ""}}}}]"#
        ),
    )
    .unwrap();
    s.manage(&["loaddata", fixture.to_str().unwrap()]);
    let stored = || {
        let dump: serde_json::Value = serde_json::from_str(&s.manage(&["dumpdata"])).unwrap();
        dump.as_array()
            .unwrap()
            .iter()
            .find(|r| r["model"] == "auth.user" && r["fields"]["username"] == "ann")
            .map(|r| r["fields"]["password"].as_str().unwrap().to_string())
            .expect("ann in the dump")
    };
    assert_eq!(stored(), django);

    // A wrong password is refused and leaves the hash alone.
    let p = Browser::new(&s).login("ann", "not-it", "/").await;
    assert_ne!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(stored(), django);

    // The right one logs in, and the hash becomes this server's own.
    logged_in(&s, "ann", "lava-password").await;
    let upgraded = stored();
    assert!(upgraded.starts_with("$argon2"), "{upgraded}");
    logged_in(&s, "ann", "lava-password").await;
}
