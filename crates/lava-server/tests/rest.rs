//! REST API v0.2 against the real web app: envelopes and links, filters, job bodies, logs,
//! results, 301/403/404 as LAVA answers them, and private jobs hidden from others.

mod common;

use common::*;
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// GET `path` with an optional token: (status, headers, body).
async fn get(
    s: &Server,
    token: Option<&str>,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut r = client().get(format!("{}{path}", s.url));
    if let Some(t) = token {
        r = r.header("authorization", format!("Token {t}"));
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

async fn get_json(s: &Server, token: Option<&str>, path: &str) -> (u16, Value) {
    let (status, _, body) = get(s, token, path).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: {body}")),
    )
}

async fn post_json(s: &Server, token: Option<&str>, path: &str, body: Value) -> (u16, Value) {
    let mut r = client().post(format!("{}{path}", s.url)).json(&body);
    if let Some(t) = token {
        r = r.header("authorization", format!("Token {t}"));
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

const PERSONAL_JOB: &str = "job_name: secret\ndevice_type: kvm\nvisibility: personal\ntimeouts:\n  job: {minutes: 1}\nactions: []\n";

#[tokio::test]
async fn system_root_auth_slash_and_not_found() {
    let s = Server::start().await;
    let token = s.user("admin", true);
    let (status, _, body) = get(&s, None, "/api/v0.2/system/version/").await;
    assert_eq!((status, body.as_str()), (200, "{\"version\":\"2023.01\"}"));
    assert_eq!(
        get_json(&s, Some(&token), "/api/v0.2/system/whoami/")
            .await
            .1,
        json!({"user": "admin"})
    );
    assert_eq!(
        get_json(&s, None, "/api/v0.2/system/whoami/").await.1,
        json!({"user": ""})
    );
    let host = s.url.trim_start_matches("http://");
    let (_, root) = get_json(&s, None, "/api/v0.2/").await;
    assert_eq!(root["jobs"], format!("http://{host}/api/v0.2/jobs/"));

    let (status, _, body) = get(&s, Some("wrong"), "/api/v0.2/jobs/?limit=1").await;
    assert_eq!(
        (status, body.as_str()),
        (403, "{\"detail\":\"Invalid token.\"}")
    );
    let (status, body) = post_json(
        &s,
        None,
        "/api/v0.2/jobs/",
        json!({"definition": EMPTY_JOB}),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"detail": "Authentication credentials were not provided."})
        )
    );
    let (status, _, body) = get(&s, None, "/api/v0.2/jobs/99999/").await;
    assert_eq!(
        (status, body.as_str()),
        (404, "{\"detail\":\"Not found.\"}")
    );

    // KernelCI polls without the slash: 301 to the slashed URL, query sorted.
    let (status, headers, body) = get(&s, None, "/api/v0.2/jobs/1?limit=256&format=json").await;
    assert_eq!(status, 301);
    assert_eq!(
        headers["location"],
        "/api/v0.2/jobs/1/?format=json&limit=256"
    );
    assert!(body.is_empty());
    let r = client()
        .post(format!("{}/api/v0.2/jobs?format=json", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 301);
    assert_eq!(r.headers()["location"], "/api/v0.2/jobs/?format=json");
}

#[tokio::test]
async fn job_lists_page_filter_and_hide_private_jobs() {
    let s = Server::start().await;
    let alice = s.user("alice", false);
    let bob = s.user("bob", false);
    let root = s.user("root", true);
    let mut ids = vec![];
    for _ in 0..3 {
        let (status, body) = post_json(
            &s,
            Some(&alice),
            "/api/v0.2/jobs/",
            json!({"definition": EMPTY_JOB}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["message"], "job(s) successfully submitted");
        ids.push(body["job_ids"][0].as_i64().unwrap());
    }
    let (_, body) = post_json(
        &s,
        Some(&alice),
        "/api/v0.2/jobs/",
        json!({"definition": PERSONAL_JOB}),
    )
    .await;
    let private = body["job_ids"][0].as_i64().unwrap();
    let host = s.url.trim_start_matches("http://");

    let (status, page) = get_json(
        &s,
        None,
        "/api/v0.2/jobs/?limit=1&offset=1&ordering=-id&format=json",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(keys(&page), ["count", "next", "previous", "results"]);
    assert_eq!(
        page["count"], 3,
        "the personal job is not counted for anonymous"
    );
    assert_eq!(page["results"][0]["id"], ids[1]);
    assert_eq!(
        page["next"],
        format!("http://{host}/api/v0.2/jobs/?format=json&limit=1&offset=2&ordering=-id")
    );
    assert_eq!(
        page["previous"],
        format!("http://{host}/api/v0.2/jobs/?format=json&limit=1&ordering=-id")
    );
    let (_, page) = get_json(&s, None, "/api/v0.2/jobs/").await;
    let got: Vec<i64> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids, "ascending id by default");
    assert_eq!(page["next"], Value::Null);
    assert_eq!(
        get_json(&s, Some(&alice), "/api/v0.2/jobs/").await.1["count"],
        4
    );
    assert_eq!(
        get_json(&s, Some(&root), "/api/v0.2/jobs/").await.1["count"],
        4
    );
    assert_eq!(
        get_json(&s, Some(&bob), "/api/v0.2/jobs/").await.1["count"],
        3
    );

    let job = &page["results"][0];
    assert_eq!(
        keys(job),
        [
            "id",
            "submitter",
            "viewing_groups",
            "description",
            "health_check",
            "requested_device_type",
            "tags",
            "actual_device",
            "submit_time",
            "start_time",
            "end_time",
            "state",
            "health",
            "priority",
            "definition",
            "original_definition",
            "multinode_definition",
            "failure_tags",
            "failure_comment",
            // Not in LAVA's serializer: KernelCI and LKFT read a failure's error type.
            "error_type"
        ]
    );
    assert_eq!(job["state"], "Submitted");
    assert!(job["submit_time"].as_str().unwrap().ends_with('Z'));

    let filtered = format!(
        "/api/v0.2/jobs/?state=Submitted&id__gt={}&submitter=alice",
        ids[0]
    );
    assert_eq!(get_json(&s, None, &filtered).await.1["count"], 2);
    assert_eq!(
        get_json(&s, None, "/api/v0.2/jobs/?health__in=Complete,Incomplete")
            .await
            .1["count"],
        0
    );
    assert_eq!(
        get_json(&s, None, "/api/v0.2/jobs/?state=Bogus").await.0,
        400
    );

    // The private job: 404 for others in every job URL, and in XML-RPC.
    for path in [
        "", "logs/", "tests/", "suites/", "junit/", "csv/", "yaml/", "cancel/",
    ] {
        let url = format!("/api/v0.2/jobs/{private}/{path}");
        for who in [None, Some(bob.as_str())] {
            if path == "cancel/" && who.is_none() {
                continue; // anonymous writes are refused first (403)
            }
            let (status, body) = if path == "cancel/" {
                post_json(&s, who, &url, json!({})).await
            } else {
                get_json(&s, who, &url).await
            };
            assert_eq!(
                (status, body),
                (404, json!({"detail": "Not found."})),
                "{url} {who:?}"
            );
        }
    }
    assert_eq!(
        get_json(&s, Some(&alice), &format!("/api/v0.2/jobs/{private}/"))
            .await
            .0,
        200
    );
    assert_eq!(
        get_json(&s, Some(&root), &format!("/api/v0.2/jobs/{private}/"))
            .await
            .0,
        200
    );
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("bob:{bob}"));
    let call = lava_server::web::xmlrpc::codec::call(
        "scheduler.jobs.show",
        &[lava_server::web::xmlrpc::codec::Value::str(
            private.to_string(),
        )],
    );
    let r = client()
        .post(format!("{}/RPC2", s.url))
        .header("authorization", format!("Basic {basic}"))
        .body(call)
        .send()
        .await
        .unwrap();
    assert!(
        r.text()
            .await
            .unwrap()
            .contains(&format!("Job '{private}' was not found."))
    );

    // Resubmit (the caller becomes the submitter) and validate (anonymous allowed).
    let (status, body) = post_json(
        &s,
        Some(&bob),
        &format!("/api/v0.2/jobs/{private}/resubmit/"),
        json!({}),
    )
    .await;
    assert_eq!((status, body), (404, json!({"detail": "Not found."})));
    let (status, body) = post_json(
        &s,
        Some(&bob),
        &format!("/api/v0.2/jobs/{}/resubmit/", ids[0]),
        json!({}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let again = body["job_ids"][0].as_i64().unwrap();
    assert_eq!(
        get_json(&s, None, &format!("/api/v0.2/jobs/{again}/"))
            .await
            .1["submitter"],
        "bob"
    );
    let (status, body) = post_json(
        &s,
        None,
        "/api/v0.2/jobs/validate/",
        json!({"definition": EMPTY_JOB}),
    )
    .await;
    assert_eq!((status, body), (200, json!({"message": "Job valid."})));
    let (status, body) = post_json(
        &s,
        None,
        "/api/v0.2/jobs/validate/",
        json!({"definition": "job_name: x\n"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Problem with submitted job data: "),
        "{body}"
    );

    // Cancel (a POST): another user 403, the submitter 200.
    let cancel = format!("/api/v0.2/jobs/{}/cancel/", ids[2]);
    assert_eq!(post_json(&s, Some(&bob), &cancel, json!({})).await.0, 403);
    assert_eq!(
        post_json(&s, Some(&alice), &cancel, json!({})).await,
        (200, json!({"message": "Job cancel signal sent."}))
    );
    let (_, job) = get_json(&s, None, &format!("/api/v0.2/jobs/{}/", ids[2])).await;
    assert_eq!(
        (job["state"].as_str(), job["health"].as_str()),
        (Some("Finished"), Some("Canceled"))
    );
}

#[tokio::test]
async fn submit_forms_logs_results_and_devices() {
    let s = Server::start().await;
    let admin = s.user("admin", true);
    let bob = s.user("bob", false);
    let w = s.worker("w1");
    w.poll(&[], 0).await;

    let form = client()
        .post(format!("{}/api/v0.2/jobs/", s.url))
        .header("authorization", format!("Token {admin}"))
        .form(&[("definition", EMPTY_JOB)])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 201);
    let id = form.json::<Value>().await.unwrap()["job_ids"][0]
        .as_i64()
        .unwrap();
    let yaml = client()
        .post(format!("{}/api/v0.2/jobs/", s.url))
        .header("authorization", format!("Token {admin}"))
        .header("content-type", "application/yaml")
        .body(EMPTY_JOB)
        .send()
        .await
        .unwrap();
    assert_eq!(yaml.status().as_u16(), 201);
    let (status, body) = post_json(&s, Some(&admin), "/api/v0.2/jobs/", json!({})).await;
    assert_eq!(
        (status, body),
        (400, json!({"definition": ["This field is required."]}))
    );
    let (status, body) = post_json(
        &s,
        Some(&admin),
        "/api/v0.2/jobs/",
        json!({"definition": EMPTY_JOB.replace("kvm", "nosuchtype")}),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"message": "Devices unavailable: Device type 'nosuchtype' is unavailable."})
        )
    );

    // No log yet: 404.
    assert_eq!(
        get(&s, None, &format!("/api/v0.2/jobs/{id}/logs/")).await.0,
        404
    );
    let r = w.poll(&[], 10_000).await;
    assert_eq!(r.start.first().map(|j| j.id.0), Some(id), "{r:?}");
    let pass = "- {\"dt\": \"2026-01-01T00:00:01.000000\", \"lvl\": \"results\", \"msg\": {\"case\": \"uname\", \"definition\": \"0_smoke\", \"duration\": \"0.05\", \"measurement\": ! \"1.5\", \"result\": \"pass\", \"units\": \"s\"}}\n";
    let fail = "- {\"dt\": \"2026-01-01T00:00:02.000000\", \"lvl\": \"results\", \"msg\": {\"case\": \"broken\", \"definition\": \"0_smoke\", \"result\": \"fail\"}}\n";
    let lines = format!("{}{}{pass}{fail}", line(0), line(1));
    w.run(id, &lines, "complete").await;

    let (status, headers, body) = get(
        &s,
        None,
        &format!("/api/v0.2/jobs/{id}/logs/?start=1&end=3"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/yaml");
    assert_eq!(headers["vary"], "Accept,Cookie");
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=job_{id}.yaml")
    );
    assert_eq!(body, format!("{}{pass}", line(1)));
    assert_eq!(
        get(&s, None, &format!("/api/v0.2/jobs/{id}/logs/")).await.2,
        lines
    );
    assert_eq!(
        get(&s, None, &format!("/api/v0.2/jobs/{id}/logs/?start=4"))
            .await
            .0,
        404,
        "empty range"
    );

    let (_, tests) = get_json(&s, None, &format!("/api/v0.2/jobs/{id}/tests/?limit=1")).await;
    assert_eq!(tests["count"], 2, "{tests}");
    let case = &tests["results"][0];
    assert_eq!(
        keys(case),
        [
            "id",
            "result",
            "resource_uri",
            "unit",
            "name",
            "measurement",
            "metadata",
            "start_log_line",
            "end_log_line",
            "logged",
            "suite",
            "test_set"
        ]
    );
    assert_eq!(case["measurement"], "1.5000000000");
    assert_eq!(
        case["metadata"],
        "case: uname\ndefinition: 0_smoke\nduration: '0.05'\nmeasurement: '1.5000000000'\nresult: pass\nunits: s\n"
    );
    let (_, suites) = get_json(&s, None, &format!("/api/v0.2/jobs/{id}/suites/")).await;
    assert_eq!(suites["results"][0]["name"], "0_smoke");

    let (status, headers, junit) = get(
        &s,
        None,
        &format!("/api/v0.2/jobs/{id}/junit/?classname_prefix=ci"),
    )
    .await;
    assert_eq!(
        (status, headers["content-type"].to_str().unwrap()),
        (200, "application/xml")
    );
    assert!(junit.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuites disabled=\"0\" errors=\"0\" failures=\"1\" tests=\"2\" time=\"0.05\">\n"), "{junit}");
    assert!(
        junit.contains("\t\t<testcase name=\"uname\" time=\"0.050000\" timestamp=\""),
        "{junit}"
    );
    assert!(junit.contains("classname=\"ci_0_smoke\">\n\t\t\t<failure type=\"failure\" message=\"failed\"/>\n\t\t</testcase>\n"), "{junit}");
    let (_, _, csv) = get(&s, None, &format!("/api/v0.2/jobs/{id}/csv/")).await;
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some(
            "job,suite,result,measurement,unit,duration,timeout,logged,level,metadata,url,name,id"
        )
    );
    assert!(
        rows.next()
            .unwrap()
            .starts_with(&format!("{id},0_smoke,pass,1.5000000000,s,0.05,"))
    );
    let (_, _, yaml) = get(&s, None, &format!("/api/v0.2/jobs/{id}/yaml/")).await;
    assert!(yaml.starts_with("- duration: '0.05'\n  id: '"), "{yaml}");
    assert!(yaml.contains("\n  result: fail\n"), "{yaml}");

    // Devices: anyone reads; staff set the health, with a reason that is recorded.
    let (_, devices) = get_json(&s, None, "/api/v0.2/devices/").await;
    assert_eq!(devices["count"], 1);
    assert_eq!(
        keys(&devices["results"][0]),
        [
            "hostname",
            "device_type",
            "device_version",
            "physical_owner",
            "physical_group",
            "description",
            "tags",
            "state",
            "health",
            "last_health_report_job",
            "worker_host",
            "is_synced"
        ]
    );
    let put = |token: &str| {
        client()
            .put(format!("{}/api/v0.2/devices/kvm01/", s.url))
            .header("authorization", format!("Token {token}"))
            .json(&json!({"health": "Maintenance", "reason": "cable swap"}))
            .send()
    };
    assert_eq!(put(&bob).await.unwrap().status().as_u16(), 403);
    let r = put(&admin).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["health"], "Maintenance");
    let history = s.manage(&["devices", "show", "kvm01"]);
    assert!(history.contains("cable swap"), "{history}");
    assert_eq!(get(&s, None, "/api/v0.2/devices/nosuch/").await.0, 404);
    let (_, types) = get_json(&s, None, "/api/v0.2/devicetypes/").await;
    assert_eq!(types["results"][0]["name"], "kvm");
    let (_, workers) = get_json(&s, None, "/api/v0.2/workers/").await;
    assert_eq!(workers["results"][0]["hostname"], "w1");
}

/// LAVA's failure tags: staff name why jobs fail and put the names on jobs; REST shows their
/// ids in `failure_tags`, with the failure comment set beside them.
#[tokio::test]
async fn failure_tags_set_by_staff_show_in_rest() {
    let s = Server::start().await;
    let id = s.submit("job_name: t\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {minutes: 1}\nactions: []\n");
    let hang: i64 = s
        .manage(&[
            "failure-tags",
            "add",
            "bootloader-hang",
            "--description",
            "U-Boot stops",
        ])
        .trim()
        .parse()
        .unwrap();
    let net: i64 = s
        .manage(&["failure-tags", "add", "lab-network"])
        .trim()
        .parse()
        .unwrap();
    let path = format!("/api/v0.2/jobs/{id}/");
    assert_eq!(get_json(&s, None, &path).await.1["failure_tags"], json!([]));

    s.manage(&[
        "failure-tags",
        "set",
        &id.to_string(),
        "lab-network",
        "bootloader-hang",
        "--comment",
        "switch port down",
    ]);
    let job = get_json(&s, None, &path).await.1;
    assert_eq!(job["failure_tags"], json!([net, hang]));
    assert_eq!(job["failure_comment"], "switch port down");
    let listed = s.manage(&["failure-tags", "list"]);
    assert_eq!(
        listed,
        format!("{hang}\tbootloader-hang\tU-Boot stops\n{net}\tlab-network\t\n")
    );

    // An unknown tag changes nothing and is named; removing a tag takes it off the job.
    let out = s
        .cmd(&["manage", "failure-tags", "set", &id.to_string(), "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("failure tag 'nope' was not found"), "{err}");
    s.manage(&["failure-tags", "rm", "lab-network"]);
    assert_eq!(
        get_json(&s, None, &path).await.1["failure_tags"],
        json!([hang])
    );
}
