//! REST writes a foreign page cannot make with a visitor's session: a cookie needs the
//! session's CSRF token in `X-CSRFToken`, and nothing changes on a GET.

use reqwest::{Method, StatusCode};

use crate::client::{JOB, lab, logged_in};

#[tokio::test]
async fn rest_writes_with_a_session_need_the_csrf_header_and_never_happen_on_get() {
    let s = lab().await;
    let bob = logged_in(&s, "bob", "bob-password").await;
    let c = s.db.client().await.unwrap();
    let body = serde_json::json!({ "definition": JOB });

    // The session cookie alone, as a foreign page's form or script would send it: refused.
    let p = bob
        .send(bob.request(Method::POST, "/api/v0.2/jobs/").json(&body))
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    assert!(p.body.contains("CSRF"), "{}", p.body);
    let wrong = bob
        .request(Method::POST, "/api/v0.2/jobs/")
        .header("x-csrftoken", "0123456789abcdef0123456789abcdef")
        .json(&body);
    assert_eq!(bob.send(wrong).await.status, StatusCode::FORBIDDEN);
    assert!(
        lava_db::jobs::list(&c, None, 10, 0)
            .await
            .unwrap()
            .is_empty()
    );

    // With the session's token in X-CSRFToken, as the site's own pages send it: done.
    let csrf = bob.csrf().await;
    let r = bob
        .request(Method::POST, "/api/v0.2/jobs/")
        .header("x-csrftoken", &csrf)
        .json(&body);
    let p = bob.send(r).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let id = lava_db::jobs::list(&c, None, 10, 0).await.unwrap()[0].id;

    // Cancel is a POST: GET answers 405 and cancels nothing, with a cookie or a token.
    let cancel = format!("/api/v0.2/jobs/{id}/cancel/");
    let p = bob.get(&cancel).await;
    assert_eq!(p.status, StatusCode::METHOD_NOT_ALLOWED, "{}", p.body);
    let token = s
        .manage(&["tokens", "add", "--user", "bob"])
        .trim()
        .to_string();
    let r = reqwest::Client::new()
        .get(format!("{}{cancel}", s.url))
        .header("authorization", format!("Token {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let j = lava_db::jobs::get(&c, id).await.unwrap().unwrap();
    assert_eq!(j.state.as_str(), "submitted");
    let p = bob.send(bob.request(Method::POST, &cancel)).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "no header: {}", p.body);
    let r = bob
        .request(Method::POST, &cancel)
        .header("x-csrftoken", &csrf);
    assert_eq!(bob.send(r).await.status, StatusCode::OK);
    let j = lava_db::jobs::get(&c, id).await.unwrap().unwrap();
    assert_eq!(j.health.as_str(), "canceled");

    // A token needs no CSRF header: a foreign page cannot make a browser send one.
    let r = reqwest::Client::new()
        .post(format!("{}/api/v0.2/jobs/", s.url))
        .header("authorization", format!("Token {token}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}
