//! Safe to share, against the real web app and scheduler: a worker runs only the devices an
//! admin gave it.

mod common;

use common::*;
use serde_json::json;

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
            return ("b", j.id);
        }
        if let Some(j) = a.poll(&[], 100).await.start.first() {
            return ("a", j.id);
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
        ids.extend(w.poll(&[], 200).await.start.iter().map(|j| j.id));
        if ids.len() >= n {
            return ids;
        }
    }
    panic!("the worker got {ids:?}, not {n} jobs");
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
