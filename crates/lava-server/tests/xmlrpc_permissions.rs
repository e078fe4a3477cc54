//! Walks the XML-RPC method table: every method that changes something refuses an anonymous
//! caller with LAVA's 401 fault and a caller without the role with LAVA's 403 fault, before
//! it reads its arguments or touches anything.

mod common;

use common::*;
use lava_server::web::xmlrpc::codec::{self, Value};
use lava_server::web::xmlrpc::methods::{METHODS, Perm};

/// Whether a method's name says it writes.
fn writes(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    [
        "add",
        "update",
        "delete",
        "submit",
        "cancel",
        "resubmit",
        "make_stream",
        "put",
    ]
    .contains(&last)
        || last.starts_with("set_")
        || last.ends_with("_job")
}

async fn call(s: &Server, auth: Option<(&str, &str)>, method: &str) -> String {
    let params = vec![Value::str("x"); 8];
    let mut req = reqwest::Client::new()
        .post(format!("{}/RPC2", s.url))
        .header("Content-Type", "text/xml")
        .body(codec::call(method, &params));
    if let Some((u, t)) = auth {
        req = req.basic_auth(u, Some(t));
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200, "{method}");
    r.text().await.unwrap()
}

fn fault_code(body: &str) -> Option<i64> {
    let at = body.find("<name>faultCode</name>")?;
    let rest = &body[at..];
    let start = rest.find("<int>")? + 5;
    let end = rest.find("</int>")?;
    rest[start..end].parse().ok()
}

#[tokio::test]
async fn every_write_method_refuses_anonymous_callers_and_users_without_the_role() {
    let s = Server::start().await;
    let bob = s.user("bob", false);
    let sam = s.staff("sam");
    let mut walked = 0;
    for m in METHODS {
        // Seed-era bundle uploads into `/anonymous/` streams are open to anyone, as they
        // were in LAVA; the handler checks the stream.
        if writes(m.name) && m.name != "dashboard.put" {
            assert_ne!(
                m.perm,
                Perm::Anyone,
                "{} writes but anyone may call it",
                m.name
            );
        }
        if m.perm == Perm::Anyone {
            continue;
        }
        walked += 1;
        let body = call(&s, None, m.name).await;
        assert_eq!(fault_code(&body), Some(401), "{} anonymous: {body}", m.name);
        assert!(
            body.contains("Authentication with user and token required for this API."),
            "{body}"
        );
        if m.perm >= Perm::Staff {
            let body = call(&s, Some(("bob", &bob)), m.name).await;
            assert_eq!(fault_code(&body), Some(403), "{} as a user: {body}", m.name);
            assert!(
                body.contains(&format!(
                    "User 'bob' is missing permission {} .",
                    m.lava_perm
                )),
                "{} as a user: {body}",
                m.name
            );
        }
        if m.perm == Perm::Superuser {
            let body = call(&s, Some(("sam", &sam)), m.name).await;
            assert_eq!(fault_code(&body), Some(403), "{} as staff: {body}", m.name);
        }
        if m.perm == Perm::Staff {
            // Staff pass the check: whatever comes back is about the (dummy) arguments.
            let body = call(&s, Some(("sam", &sam)), m.name).await;
            assert_ne!(fault_code(&body), Some(403), "{} as staff: {body}", m.name);
            assert_ne!(fault_code(&body), Some(401), "{} as staff: {body}", m.name);
        }
    }
    assert!(walked >= 30, "only {walked} methods need a caller");
}
