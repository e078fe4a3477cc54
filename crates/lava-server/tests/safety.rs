//! Safe to share, against the real web app and scheduler: a worker runs only the devices an
//! admin gave it, a submitted job is never a health check, and a callback token never shows
//! in a definition anyone can read.

mod common;

use common::*;
use lava_common::ids::JobId;
use lava_server::web::xmlrpc::codec::{Value, call};
use serde_json::json;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `manage devices show kvm01 --json`.
fn kvm01(s: &Server) -> serde_json::Value {
    serde_json::from_str(&s.manage(&["devices", "show", "kvm01", "--json"])).unwrap()
}

/// Plays a worker registered (but not assigned anything) by `manage workers add`.
fn unassigned_worker(s: &Server, name: &str) -> Worker {
    Worker {
        http: reqwest::Client::new(),
        base: s.url.clone(),
        token: s.manage(&["workers", "add", name]).trim().to_string(),
    }
}

/// A REST call with a token: (status, JSON body).
async fn rest(
    s: &Server,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut r = client()
        .request(method, format!("{}{path}", s.url))
        .header("authorization", format!("Token {token}"));
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn worker_b_cannot_take_worker_a_device() {
    let s = Server::start().await;
    let a = s.worker("a"); // an admin assigned kvm01 to a
    let b = unassigned_worker(&s, "b");
    s.manage(&["workers", "approve", "b"]);
    assert!(a.poll(&[], 0).await.start.is_empty());
    // b has a kvm01.conf too (or says so): approved or not, it claims, never takes.
    for _ in 0..2 {
        assert!(b.poll(&[], 0).await.start.is_empty());
    }
    assert_eq!(kvm01(&s)["worker"], "a");
    let claims: serde_json::Value =
        serde_json::from_str(&s.manage(&["devices", "claims", "--json"])).unwrap();
    assert_eq!(claims.as_array().unwrap().len(), 1, "{claims}");
    assert_eq!(
        (
            &claims[0]["device"],
            &claims[0]["worker"],
            &claims[0]["assigned"]
        ),
        (&json!("kvm01"), &json!("b"), &json!("a"))
    );
    // The job goes to a, and b is never told about it.
    let id = s.submit(EMPTY_JOB);
    let first = wait_for_start(&a, &b).await;
    assert_eq!(first, ("a", id));
    let r = b.poll(&[], 0).await;
    assert!(r.start.is_empty() && r.cancel.is_empty());
    let (status, _): (u16, serde_json::Value) =
        b.post(&format!("jobs/{id}/started"), json!({})).await;
    assert_eq!(status, 409, "b cannot report a's job");
}

/// Polls both workers until one is told to start a job: (which, job id).
async fn wait_for_start(a: &Worker, b: &Worker) -> (&'static str, i64) {
    for _ in 0..100 {
        if let Some(j) = b.poll(&[], 0).await.start.first() {
            return ("b", j.id.0);
        }
        if let Some(j) = a.poll(&[], 100).await.start.first() {
            return ("a", j.id.0);
        }
    }
    panic!("no worker was given the job");
}

#[tokio::test]
async fn an_unassigned_device_is_pending_until_an_admin_or_an_approval_decides() {
    let s = Server::start().await;
    let w = unassigned_worker(&s, "w");
    s.submit(EMPTY_JOB);
    for _ in 0..3 {
        assert!(w.poll(&[], 300).await.start.is_empty(), "not its device");
    }
    assert_eq!(kvm01(&s)["worker"], serde_json::Value::Null);
    assert!(
        s.manage(&["devices", "claims"])
            .starts_with("kvm01\tw\t-\t")
    );
    let workers: serde_json::Value =
        serde_json::from_str(&s.manage(&["workers", "list", "--json"])).unwrap();
    assert_eq!(
        (&workers[0]["approved"], &workers[0]["pending_claims"]),
        (&json!(false), &json!(1))
    );
    // An admin assigns it: the worker's last report counts, the job goes at once.
    let out = s.manage(&["devices", "set-worker", "kvm01", "w"]);
    assert_eq!(out.trim(), "device 'kvm01': worker - -> w");
    assert_eq!(kvm01(&s)["worker_has_config"], true);
    let started = wait_for(&w, 1).await;
    assert_eq!(started.len(), 1);
    assert!(s.manage(&["devices", "claims"]).is_empty());

    // An approved worker takes an idle device nobody has assigned.
    finish(&w, started[0], "complete").await;
    s.manage(&["devices", "set-worker", "kvm01", "--none"]);
    let v = unassigned_worker(&s, "v");
    assert_eq!(
        s.manage(&["workers", "approve", "v"]).trim(),
        "worker 'v': not approved -> approved"
    );
    v.poll(&[], 0).await;
    assert_eq!(kvm01(&s)["worker"], "v");
    w.poll(&[], 0).await;
    assert_eq!(kvm01(&s)["worker"], "v", "w's report does not take it back");
    let e = s
        .cmd(&["manage", "devices", "set-worker", "kvm01", "nosuch"])
        .output()
        .unwrap();
    assert!(!e.status.success());
    assert!(
        String::from_utf8_lossy(&e.stderr).contains("nosuch"),
        "{}",
        String::from_utf8_lossy(&e.stderr)
    );
}

/// Polls until the worker has been told to start `n` jobs; their ids.
async fn wait_for(w: &Worker, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.extend(w.poll(&[], 200).await.start.iter().map(|j| j.id.0));
        if ids.len() >= n {
            return ids;
        }
    }
    panic!("the worker got {ids:?}, not {n} jobs");
}

#[tokio::test]
async fn a_users_health_check_job_cannot_mark_a_device_bad() {
    let s = Server::start().await;
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    let bob = s.user("bob", false);
    let hc = std::fs::read_to_string(examples().join("health-checks/kvm-health.json")).unwrap();
    assert!(hc.contains("\"health_check\": true"));
    let (status, body) = rest(
        &s,
        &bob,
        reqwest::Method::POST,
        "/api/v0.2/jobs/",
        Some(json!({ "definition": hc })),
    )
    .await;
    if status == 201 {
        // Accepted: run it to a failure as a worker would, and see what it did.
        let id = body["job_ids"][0].as_i64().unwrap();
        w.take(id).await;
        finish(&w, id, "incomplete").await;
    }
    assert_ne!(
        kvm01(&s)["health"],
        "bad",
        "a user's failing job judged the device"
    );
    assert_eq!(status, 400, "{body}");
    let msg = body["message"].as_str().unwrap();
    assert!(msg.contains("health_check"), "{msg}");

    // The scheduler's own health check (the same JSON, set on the device type) is one; a
    // copy of it resubmitted by a user is an ordinary job.
    let file = s.root.path().join("hc.json");
    std::fs::write(&file, &hc).unwrap();
    s.manage(&[
        "device-types",
        "set-health-check",
        "kvm",
        file.to_str().unwrap(),
    ]);
    let check = wait_for(&w, 1).await[0];
    let root = s.user("root", true);
    let path = format!("/api/v0.2/jobs/{check}/");
    assert_eq!(
        rest(&s, &root, reqwest::Method::GET, &path, None).await.1["health_check"],
        true
    );
    let again = format!("/api/v0.2/jobs/{check}/resubmit/");
    let (status, body) = rest(&s, &root, reqwest::Method::POST, &again, None).await;
    assert_eq!(status, 201, "{body}");
    let copy = body["job_ids"][0].as_i64().unwrap();
    let path = format!("/api/v0.2/jobs/{copy}/");
    assert_eq!(
        rest(&s, &root, reqwest::Method::GET, &path, None).await.1["health_check"],
        false
    );
}

const SECRET: &str = "sekrit-ci-token-0123456789";
/// A value of the job's `secrets` block.
const SHELL_SECRET: &str = "shell-s3cret-9876543210";

fn job_with_token() -> String {
    format!(
        "{EMPTY_JOB}notify:\n  criteria: {{status: finished}}\n  callbacks:\n  - url: http://ci.example/lava/{{ID}}\n    method: POST\n    token: {SECRET}   # the CI system's credential\n    header: X-Ci-Token\nsecrets:\n  API_KEY: \"{SHELL_SECRET}\"\n"
    )
}

async fn rpc_text(s: &Server, user: &str, token: &str, method: &str, id: i64) -> String {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
    client()
        .post(format!("{}/RPC2", s.url))
        .header("authorization", format!("Basic {basic}"))
        .body(call(method, &[Value::Int(id)]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn callback_tokens_and_secrets_never_appear_in_a_definition_anyone_can_read() {
    let s = Server::start().await;
    let alice = s.user("alice", false);
    let bob = s.user("bob", false);
    let root = s.user("root", true);
    let (status, body) = rest(
        &s,
        &alice,
        reqwest::Method::POST,
        "/api/v0.2/jobs/",
        Some(json!({ "definition": job_with_token() })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["job_ids"][0].as_i64().unwrap();

    let mut seen = Vec::new();
    for token in [&alice, &bob, &root] {
        let path = format!("/api/v0.2/jobs/{id}/");
        let job = rest(&s, token, reqwest::Method::GET, &path, None).await.1;
        seen.push(job["definition"].as_str().unwrap().to_string());
        seen.push(job["original_definition"].as_str().unwrap().to_string());
    }
    let mut shows = Vec::new();
    for (user, token) in [("alice", &alice), ("root", &root)] {
        seen.push(rpc_text(&s, user, token, "scheduler.jobs.definition", id).await);
        shows.push(rpc_text(&s, user, token, "scheduler.jobs.show", id).await);
    }
    let page = client()
        .get(format!("{}/scheduler/job/{id}", s.url))
        .send()
        .await
        .unwrap();
    seen.push(page.text().await.unwrap());
    let w = s.worker("w1");
    let start = wait_for_job(&w).await;
    seen.push(start.definition.clone());
    // The worker gets the values apart from the definition, and only the worker.
    assert_eq!(start.secrets.0["API_KEY"], SHELL_SECRET);
    assert!(!format!("{start:?}").contains(SHELL_SECRET), "{start:?}");
    for text in &seen {
        assert!(!text.contains(SECRET), "the token shows: {text}");
        assert!(!text.contains(SHELL_SECRET), "the secret shows: {text}");
        assert!(
            text.matches("********").count() >= 2,
            "the masks show: {text}"
        );
    }
    for text in &shows {
        assert!(!text.contains(SECRET), "the token shows: {text}");
        assert!(!text.contains(SHELL_SECRET), "the secret shows: {text}");
    }
    assert!(
        seen[0].contains("# the CI system's credential"),
        "the rest is as submitted"
    );
    let c = s.db.client().await.unwrap();
    let stored = lava_db::jobs::get(&c, JobId(id)).await.unwrap().unwrap();
    assert!(!stored.plan.to_string().contains(SECRET));
    assert!(!stored.plan.to_string().contains(SHELL_SECRET));
    assert_eq!(
        lava_db::callback_tokens::of_job(&c, JobId(id))
            .await
            .unwrap(),
        [(0, SECRET.to_string())]
    );
    let secrets = lava_db::job_secrets::of_job(&c, JobId(id)).await.unwrap();
    assert_eq!(secrets["API_KEY"], SHELL_SECRET);

    // Resubmitting sends the same token, which only its owner (or a superuser) may do.
    let again = format!("/api/v0.2/jobs/{id}/resubmit/");
    let (status, body) = rest(&s, &bob, reqwest::Method::POST, &again, None).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("secrets"),
        "{body}"
    );
    let (status, body) = rest(&s, &alice, reqwest::Method::POST, &again, None).await;
    assert_eq!(status, 201, "{body}");
    let copy = body["job_ids"][0].as_i64().unwrap();
    assert_eq!(
        lava_db::callback_tokens::of_job(&c, JobId(copy))
            .await
            .unwrap(),
        [(0, SECRET.to_string())]
    );
    assert_eq!(
        lava_db::job_secrets::of_job(&c, JobId(copy)).await.unwrap(),
        secrets
    );
    let copied = lava_db::jobs::get(&c, JobId(copy)).await.unwrap().unwrap();
    assert_eq!(copied.definition, stored.definition);
}

/// The first job the worker is given.
async fn wait_for_job(w: &Worker) -> lava_common::worker_api::JobStart {
    for _ in 0..50 {
        if let Some(j) = w.poll(&[], 200).await.start.first() {
            return j.clone();
        }
    }
    panic!("the worker got no job");
}

#[tokio::test]
async fn migrate_moves_the_tokens_of_jobs_stored_before_out_of_their_definitions() {
    let s = Server::start().await;
    let c = s.db.client().await.unwrap();
    // A job as the server stored them before: the token in the definition and the plan.
    let text = job_with_token();
    let plan = lava_common::job::parse_job(&text).unwrap();
    let old = lava_server::submit::new_job(&text, &plan, None, false);
    let id = lava_db::jobs::insert(&c, &old).await.unwrap();
    let out = s.manage(&["migrate"]);
    assert!(
        out.contains("Moved the callback tokens of 1 stored jobs"),
        "{out}"
    );
    let j = lava_db::jobs::get(&c, id).await.unwrap().unwrap();
    assert!(!j.definition.contains(SECRET) && !j.plan.to_string().contains(SECRET));
    assert!(j.definition.contains("# the CI system's credential"));
    assert_eq!(
        lava_db::callback_tokens::of_job(&c, id).await.unwrap(),
        [(0, SECRET.to_string())]
    );
    assert_eq!(s.manage(&["migrate"]).trim(), "No migrations to apply.");
}

/// One poll reporting `devices` (names), without waiting.
async fn poll_with(w: &Worker, devices: &[&str]) -> lava_common::worker_api::PollResponse {
    let devices: Vec<_> = devices
        .iter()
        .map(|d| json!({"hostname": d, "device_type": "kvm"}))
        .collect();
    let body = json!({"version": "test", "devices": devices, "running": [], "wait_ms": 0});
    let (status, r) = w.post("poll", body).await;
    assert_eq!(status, 200);
    r
}

#[tokio::test]
async fn moving_the_conf_to_an_approved_worker_moves_the_device_as_the_seed_says() {
    let s = Server::start().await;
    let a = s.worker("a");
    let b = unassigned_worker(&s, "b");
    let c = unassigned_worker(&s, "c");
    s.manage(&["workers", "approve", "b"]);
    // Assigned to a, which has not polled yet: nobody takes it meanwhile.
    poll_with(&b, &["kvm01"]).await;
    assert_eq!(kvm01(&s)["worker"], "a");
    poll_with(&a, &["kvm01"]).await;
    poll_with(&b, &["kvm01"]).await;
    assert_eq!(kvm01(&s)["worker"], "a", "a still has the .conf");
    // The admin moves kvm01.conf from a to b: a's poll leaves it out, b's reports it.
    poll_with(&a, &[]).await;
    poll_with(&c, &["kvm01"]).await;
    assert_eq!(kvm01(&s)["worker"], "a", "c is not approved");
    poll_with(&b, &["kvm01"]).await;
    assert_eq!(kvm01(&s)["worker"], "b");
    assert_eq!(kvm01(&s)["worker_has_config"], true);
    let claims = s.manage(&["devices", "claims"]);
    assert!(
        claims.starts_with("kvm01\tc\tb\t") && claims.lines().count() == 1,
        "{claims}"
    );
    let id = s.submit(EMPTY_JOB);
    assert_eq!(wait_for(&b, 1).await, [id]);
}
