//! What a stranger (or a runaway worker) can make `lava-server web` do, bounded: parsers with a
//! depth limit and an alias-expansion budget, a body limit on every route, a byte cap on log
//! lines, a database pool that answers 503 instead of hanging, and private file modes under
//! `/var/lib/lava-server`. Every test runs against a real `lava-server web` process.

mod common;

use std::time::{Duration, Instant};

use common::*;
use lava_server::web::xmlrpc::codec::{Value, parse_response};
use serde_json::{Value as Json, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The web process's peak resident memory (`VmHWM`) in MiB.
fn web_peak_mib(s: &Server) -> f64 {
    let pid = s._daemons[0].0.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kib / 1024.0
}

/// `GET /` answers 200: the process is alive and serving.
async fn still_serving(s: &Server) {
    let r = client()
        .get(format!("{}/", s.url))
        .send()
        .await
        .expect("the web app still answers");
    assert_eq!(r.status().as_u16(), 200);
}

/// A `methodCall` whose one parameter is `depth` arrays nested in each other.
fn nested_call(depth: usize) -> String {
    format!(
        "<?xml version='1.0'?>\n<methodCall>\n<methodName>system.version</methodName>\n<params>\n<param>\n{}{}</param>\n</params>\n</methodCall>\n",
        "<value><array><data>".repeat(depth),
        "</data></array></value>".repeat(depth),
    )
}

async fn rpc(s: &Server, body: String) -> reqwest::Response {
    client()
        .post(format!("{}/RPC2", s.url))
        .header("content-type", "text/xml")
        .body(body)
        .send()
        .await
        .expect("the web app answers the call")
}

#[tokio::test]
async fn a_deeply_nested_xmlrpc_call_is_a_fault_and_the_server_keeps_serving() {
    let s = Server::start().await;
    let body = nested_call(20_000);
    assert!(body.len() > 850_000, "{}", body.len());
    let r = rpc(&s, body).await;
    assert_eq!(r.status().as_u16(), 200);
    let reply = parse_response(&r.bytes().await.unwrap()).unwrap();
    let (code, message) = reply.unwrap_err();
    assert_eq!(code, 400, "{message}");
    assert!(message.contains("nested deeper than 64"), "{message}");
    still_serving(&s).await;

    // 64 levels are within the limit and decode as ever.
    let r = rpc(&s, nested_call(64)).await;
    let reply = parse_response(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(reply, Ok(Value::str("2023.01")));
    let r = rpc(&s, nested_call(65)).await;
    let reply = parse_response(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(reply.unwrap_err().0, 400);
}

#[tokio::test]
async fn a_yaml_alias_bomb_is_refused_at_once_in_bounded_memory() {
    let s = Server::start().await;
    // A 100 KB anchor and 50,000 aliases of it: 250 KB of text, 5 GB once expanded.
    let mut text = format!(
        "{EMPTY_JOB}metadata:\n  a: &a \"{}\"\n  b: [",
        "A".repeat(100_000)
    );
    text.push_str(&["*a"; 50_000].join(","));
    text.push_str("]\n");
    assert!((240_000..260_000).contains(&text.len()), "{}", text.len());
    let started = Instant::now();
    let r = client()
        .post(format!("{}/api/v0.2/jobs/validate/", s.url))
        .json(&json!({ "definition": text }))
        .send()
        .await
        .expect("the web app answers");
    let took = started.elapsed();
    let peak = web_peak_mib(&s);
    let status = r.status().as_u16();
    let body: Json = r.json().await.unwrap();
    assert!(
        took < Duration::from_secs(1) && peak < 200.0,
        "answered after {took:?}, the web process peaked at {peak:.0} MiB: {body}"
    );
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("Problem with submitted job data: ") && message.contains("alias"),
        "{message}"
    );
    still_serving(&s).await;

    // The same document with its aliases written out small is still a valid job.
    let fine = format!("{EMPTY_JOB}metadata:\n  a: &a x\n  b: *a\n");
    let r = client()
        .post(format!("{}/api/v0.2/jobs/validate/", s.url))
        .json(&json!({ "definition": fine }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}
