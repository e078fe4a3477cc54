//! Abuse: login attempts limited per username and per client address, and cookies marked
//! Secure on an HTTPS site.

use reqwest::{Method, StatusCode};

use crate::client::{Browser, Page, field, lab};
use crate::common::Server;

/// One login through the form, from `addr` as Apache on this host reports it.
async fn login_from(s: &Server, user: &str, password: &str, addr: &str) -> Page {
    let b = Browser::new(s);
    let form = b.get("/accounts/login/").await;
    let token = field(&form.body, "csrfmiddlewaretoken").expect("login token");
    let fields = [
        ("username", user),
        ("password", password),
        ("csrfmiddlewaretoken", &token),
    ];
    let r = b
        .request(Method::POST, "/accounts/login/")
        .header("x-forwarded-for", addr)
        .form(&fields);
    b.send(r).await
}

#[tokio::test]
async fn the_eleventh_bad_login_in_a_minute_gets_429() {
    let s = lab().await;
    // Ten wrong passwords for bob are answered as usual...
    for i in 0..10 {
        let p = login_from(&s, "bob", "wrong", "198.51.100.1").await;
        assert_eq!(p.status, StatusCode::OK, "attempt {}", i + 1);
        assert!(p.body.contains("correct username and password"));
    }
    // ...the eleventh is not even checked, from anywhere, right password or not.
    let p = login_from(&s, "bob", "bob-password", "198.51.100.2").await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS, "{}", p.body);
    assert!(p.body.contains("Too many failed logins"), "{}", p.body);
    assert!(!p.cookies.iter().any(|c| c.starts_with("lavasession=")));

    // Per address too: ten guesses at unknown names, then even a right password is 429
    // from that address, and fine from another.
    for i in 0..10 {
        let p = login_from(&s, &format!("nobody{i}"), "x", "203.0.113.5").await;
        assert_eq!(p.status, StatusCode::OK, "attempt {}", i + 1);
    }
    let p = login_from(&s, "admin", "admin-password", "203.0.113.5").await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
    let p = login_from(&s, "admin", "admin-password", "203.0.113.6").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
}

#[tokio::test]
async fn the_limit_is_a_setting() {
    let s = Server::start_with_settings("[web]\nlogin_failures_per_minute = 2\n").await;
    s.add_user("bob", "bob-password", &[]);
    for _ in 0..2 {
        let p = login_from(&s, "bob", "wrong", "198.51.100.1").await;
        assert_eq!(p.status, StatusCode::OK);
    }
    let r = login_from(&s, "bob", "wrong", "198.51.100.1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn cookies_are_secure_when_the_site_is_https() {
    let plain = lab().await;
    let p = login_from(&plain, "bob", "bob-password", "192.0.2.1").await;
    let session = p.cookies.iter().find(|c| c.starts_with("lavasession="));
    assert!(!session.unwrap().contains("Secure"), "{session:?}");

    let s = Server::start_with_settings("[web]\nsecure_cookies = true\n").await;
    s.add_user("bob", "bob-password", &[]);
    let form = Browser::new(&s).get("/accounts/login/").await;
    let login = form.cookies.iter().find(|c| c.starts_with("lavalogin="));
    assert!(login.unwrap().contains("; Secure"), "{login:?}");
    // (A client keeps Secure cookies for HTTPS, so this one posts the token by hand.)
    let token = field(&form.body, "csrfmiddlewaretoken").unwrap();
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/accounts/login/", s.url))
        .header("cookie", format!("lavalogin={token}"))
        .form(&[
            ("username", "bob"),
            ("password", "bob-password"),
            ("csrfmiddlewaretoken", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookies: Vec<_> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = cookies.iter().find(|c| c.starts_with("lavasession="));
    assert!(session.unwrap().contains("; Secure"), "{cookies:?}");
}
