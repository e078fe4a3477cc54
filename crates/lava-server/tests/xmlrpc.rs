//! XML-RPC at `/RPC2` against the real web app: the bytes lavacli sees, faults, Basic auth,
//! and private jobs hidden as if they did not exist.

mod common;

use common::*;
use lava_server::web::xmlrpc::codec::{Value, call, parse_response};

/// A raw call: (HTTP status, headers, body).
async fn raw(
    s: &Server,
    auth: Option<&str>,
    body: String,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut r = reqwest::Client::new()
        .post(format!("{}/RPC2", s.url))
        .header("content-type", "text/xml")
        .body(body);
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

fn basic(user: &str, token: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
    )
}

/// Calls as one user (`auth`, a Basic header) or anonymous.
#[derive(Clone, Copy)]
struct Rpc<'a> {
    s: &'a Server,
    auth: Option<&'a str>,
}

impl<'a> Rpc<'a> {
    fn new(s: &'a Server, auth: Option<&'a str>) -> Self {
        Rpc { s, auth }
    }

    /// One call: the value or the fault.
    async fn call(
        &self,
        method: &str,
        params: impl AsRef<[Value]>,
    ) -> Result<Value, (i64, String)> {
        let (status, _, body) = raw(self.s, self.auth, call(method, params.as_ref())).await;
        assert_eq!(status, 200, "{body}");
        parse_response(body.as_bytes()).unwrap()
    }
}

/// A server with a superuser (its Basic header) and worker `w1`, not yet polled.
async fn admin_and_worker() -> (Server, String, Worker) {
    let s = Server::start().await;
    let admin = basic("admin", &s.user("admin", true));
    let w = s.worker("w1");
    (s, admin, w)
}

/// Submits `job` as the user of `auth`; the new job's id.
async fn submit(s: &Server, auth: &str, job: &str) -> i64 {
    let as_user = Rpc {
        s,
        auth: Some(auth),
    };
    match as_user
        .call("scheduler.jobs.submit", &[Value::str(job)])
        .await
    {
        Ok(Value::Int(id)) => id,
        other => panic!("submit: {other:?}"),
    }
}

fn member<'a>(v: &'a Value, name: &str) -> &'a Value {
    let Value::Struct(m) = v else {
        panic!("not a struct: {v:?}")
    };
    &m.iter().find(|(k, _)| k == name).unwrap().1
}

fn names(v: &Value) -> Vec<&str> {
    let Value::Struct(m) = v else {
        panic!("not a struct: {v:?}")
    };
    m.iter().map(|(k, _)| k.as_str()).collect()
}

const PERSONAL_JOB: &str = "job_name: secret\ndevice_type: kvm\nvisibility: personal\ntimeouts:\n  job: {minutes: 1}\nactions: []\n";

#[tokio::test]
async fn version_auth_and_protocol_faults() {
    let s = Server::start().await;
    let anon = Rpc::new(&s, None);
    let token = s.user("admin", true);
    let (status, headers, body) = raw(&s, None, call("system.version", &[])).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    assert_eq!(
        body,
        "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><string>2023.01</string></value>\n</param>\n</params>\n</methodResponse>\n"
    );
    let me = basic("admin", &token);
    let as_me = Rpc::new(&s, Some(&me));
    assert_eq!(
        as_me.call("system.whoami", &[]).await,
        Ok(Value::str("admin"))
    );
    assert_eq!(anon.call("system.whoami", &[]).await, Ok(Value::Nil));

    // A wrong pair is HTTP 401, not anonymous (a token of another user counts as wrong).
    s.user("bob", false);
    for bad in [basic("admin", "wrong"), basic("bob", &token)] {
        let (status, headers, body) = raw(&s, Some(&bad), call("system.version", &[])).await;
        assert_eq!((status, body.as_str()), (401, "Invalid token"));
        assert_eq!(
            headers["www-authenticate"],
            "Basic realm=\"XML-RPC Authentication token\""
        );
    }
    for bad in [
        "Bearer abc",
        "Basic !!!",
        "Basic",
        &format!("Basic {}", "YWRtaW4="),
    ] {
        let (status, _, body) = raw(&s, Some(bad), call("system.version", &[])).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (_, _, body) = raw(&s, Some("Bearer abc"), call("system.version", &[])).await;
    assert_eq!(
        body,
        "Unsupported HTTP_AUTHORIZATION header, only Basic scheme is supported"
    );

    assert_eq!(
        anon.call("scheduler.jobs.nosuch", &[]).await,
        Err((-32601, "No such method: 'scheduler.jobs.nosuch'".into()))
    );
    assert_eq!(
        anon.call("scheduler.jobs.show", &[]).await,
        Err((-32603, "Internal Server Error (contact server administrator for details): scheduler.jobs.show() missing 1 required positional argument: 'job_id'".into()))
    );
    let (_, _, body) = raw(&s, None, "not xml".into()).await;
    assert_eq!(
        parse_response(body.as_bytes()).unwrap(),
        Err((-32603, "Unable to decode request".into()))
    );
    let Ok(Value::Array(methods)) = anon.call("system.listMethods", &[]).await else {
        panic!("listMethods")
    };
    assert!(methods.contains(&Value::str("scheduler.jobs.logs")));
}

#[tokio::test]
async fn jobs_submit_show_list_logs_and_cancel() {
    let (s, admin, w) = admin_and_worker().await;
    let (anon, as_admin) = (Rpc::new(&s, None), Rpc::new(&s, Some(&admin)));
    w.poll(&[], 0).await; // attaches kvm01

    let (_, _, body) = raw(
        &s,
        None,
        call("scheduler.jobs.submit", &[Value::str(EMPTY_JOB)]),
    )
    .await;
    assert_eq!(
        body,
        "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>401</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>Authentication with user and token required for this API.</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n"
    );
    let bad_type = EMPTY_JOB.replace("device_type: kvm", "device_type: nosuchtype");
    assert_eq!(
        as_admin
            .call("scheduler.jobs.submit", &[Value::str(bad_type)])
            .await,
        Err((
            400,
            "Device unavailable: Device type 'nosuchtype' is unavailable.".into()
        ))
    );
    let Err((400, msg)) = as_admin
        .call("scheduler.jobs.submit", &[Value::str("a: [")])
        .await
    else {
        panic!("bad YAML accepted")
    };
    assert!(
        msg.starts_with("Problem with submitted job data: "),
        "{msg}"
    );

    let id = submit(&s, &admin, EMPTY_JOB).await;
    // Not started: `[]`, not finished.
    let logs = anon
        .call(
            "scheduler.jobs.logs",
            &[Value::str(id.to_string()), Value::Int(0), Value::Nil],
        )
        .await;
    assert_eq!(
        logs,
        Ok(Value::Array(vec![
            Value::Bool(false),
            Value::Base64(b"[]".to_vec())
        ]))
    );

    let r = w.poll(&[], 10_000).await;
    assert_eq!(r.start.first().map(|j| j.id.0), Some(id), "{r:?}");
    let lines: String = (0..3).map(line).collect();
    w.run(id, &lines, "complete").await;

    // String and int ids alike; members in LAVA's order; times as dateTime.
    for arg in [Value::str(id.to_string()), Value::Int(id)] {
        let show = anon.call("scheduler.jobs.show", &[arg]).await.unwrap();
        assert_eq!(
            names(&show),
            [
                "id",
                "description",
                "device",
                "device_type",
                "health_check",
                "pipeline",
                "health",
                "state",
                "submitter",
                "submit_time",
                "start_time",
                "end_time",
                "tags",
                "visibility",
                "failure_comment"
            ]
        );
        assert_eq!(member(&show, "state"), &Value::str("Finished"));
        assert_eq!(member(&show, "health"), &Value::str("Complete"));
        assert_eq!(member(&show, "device"), &Value::str("kvm01"));
        assert!(matches!(member(&show, "end_time"), Value::DateTime(_)));
        assert_eq!(member(&show, "failure_comment"), &Value::Nil);
    }

    let logs = |a: Value, b: Value| anon.call("scheduler.jobs.logs", vec![Value::Int(id), a, b]);
    let expect = |data: String| {
        Ok(Value::Array(vec![
            Value::Bool(true),
            Value::Base64(data.into_bytes()),
        ]))
    };
    assert_eq!(logs(Value::Int(0), Value::Nil).await, expect(lines.clone()));
    assert_eq!(logs(Value::Int(1), Value::Int(2)).await, expect(line(1)));
    assert_eq!(logs(Value::Int(3), Value::Nil).await, expect(String::new()));

    // jobs.list: six positional params, upper-case enums, newest first.
    let second = submit(&s, &admin, EMPTY_JOB).await;
    let list = |state: &str, verbose: bool| {
        as_admin.call(
            "scheduler.jobs.list",
            vec![
                Value::str(state),
                Value::Nil,
                Value::Int(0),
                Value::Int(25),
                Value::Int(0),
                Value::Bool(verbose),
            ],
        )
    };
    let Ok(Value::Array(finished)) = list("FINISHED", true).await else {
        panic!("list")
    };
    assert_eq!(finished.len(), 1);
    assert_eq!(
        names(&finished[0]),
        [
            "id",
            "description",
            "device_type",
            "health",
            "state",
            "submitter",
            "actual_device",
            "start_time",
            "end_time",
            "error_msg",
            "error_type"
        ]
    );
    let Value::Str(start) = member(&finished[0], "start_time") else {
        panic!("start_time")
    };
    assert!(start.ends_with("+00:00") && start.contains(' '), "{start}");
    let all = anon
        .call(
            "scheduler.jobs.list",
            &[
                Value::Nil,
                Value::Nil,
                Value::Int(0),
                Value::Int(25),
                Value::Int(0),
                Value::Bool(false),
            ],
        )
        .await;
    let Ok(Value::Array(all)) = all else {
        panic!("list")
    };
    let ids: Vec<&Value> = all.iter().map(|j| member(j, "id")).collect();
    assert_eq!(ids, [&Value::Int(second), &Value::Int(id)]);
    assert_eq!(
        list("NOSUCH", false).await,
        Err((400, "Invalid state 'NOSUCH'".into()))
    );

    // Cancel: anonymous 401, a stranger 403, the owner true; unknown ids 404.
    let bob = basic("bob", &s.user("bob", false));
    let sref = &s;
    let cancel = |who: Option<String>, id: i64| async move {
        Rpc::new(sref, who.as_deref())
            .call("scheduler.jobs.cancel", vec![Value::str(id.to_string())])
            .await
    };
    assert_eq!(cancel(None, second).await.unwrap_err().0, 401);
    assert_eq!(
        cancel(Some(bob.clone()), second).await,
        Err((403, "Permission denied.".into()))
    );
    assert_eq!(
        cancel(Some(admin.clone()), second).await,
        Ok(Value::Bool(true))
    );
    assert_eq!(
        cancel(Some(admin.clone()), 99_999).await,
        Err((404, "Job '99999' was not found.".into()))
    );
    let status = anon
        .call("scheduler.job_status", &[Value::Int(second)])
        .await
        .unwrap();
    // Queued: canceled at once; already given to kvm01 by the scheduler: canceling.
    let word = member(&status, "job_status");
    assert!(
        [Value::str("Canceled"), Value::str("Canceling")].contains(word),
        "{word:?}"
    );
}

#[tokio::test]
async fn a_private_job_is_not_found_for_others() {
    let s = Server::start().await;
    let alice = basic("alice", &s.user("alice", false));
    let bob = basic("bob", &s.user("bob", false));
    let root = basic("root", &s.user("root", true));
    let anon = Rpc::new(&s, None);
    let as_alice = Rpc::new(&s, Some(&alice));
    let as_bob = Rpc::new(&s, Some(&bob));
    let id = submit(&s, &alice, PERSONAL_JOB).await;
    let not_found = Err((404, format!("Job '{id}' was not found.")));
    for method in [
        "scheduler.jobs.show",
        "scheduler.jobs.logs",
        "scheduler.jobs.definition",
        "scheduler.jobs.cancel",
        "scheduler.job_status",
    ] {
        // An anonymous cancel is refused before the job is looked at (401), as in LAVA.
        let callers = if method.ends_with("cancel") {
            vec![Some(bob.as_str())]
        } else {
            vec![None, Some(bob.as_str())]
        };
        for who in callers {
            assert_eq!(
                Rpc::new(&s, who).call(method, &[Value::Int(id)]).await,
                not_found,
                "{method} {who:?}"
            );
        }
    }
    let (_, _, hidden) = raw(
        &s,
        Some(&bob),
        call("scheduler.jobs.show", &[Value::Int(id)]),
    )
    .await;
    let (_, _, missing) = raw(
        &s,
        Some(&bob),
        call("scheduler.jobs.show", &[Value::Int(id + 1000)]),
    )
    .await;
    assert_eq!(
        hidden,
        missing.replace(&(id + 1000).to_string(), &id.to_string()),
        "same bytes as a missing job"
    );
    let list = as_bob.call("scheduler.jobs.list", &[]).await;
    assert_eq!(list, Ok(Value::Array(vec![])));
    assert_eq!(
        as_bob
            .call("scheduler.jobs.resubmit", [Value::Int(id)])
            .await,
        not_found
    );
    let Ok(Value::Int(again)) = as_alice
        .call("scheduler.jobs.resubmit", [Value::Int(id)])
        .await
    else {
        panic!("resubmit")
    };
    assert!(again > id);
    assert_eq!(
        anon.call("scheduler.jobs.validate", [Value::str(PERSONAL_JOB)])
            .await,
        Ok(Value::Struct(vec![]))
    );
    let Ok(Value::Struct(problems)) = anon
        .call("scheduler.jobs.validate", [Value::str("job_name: x\n")])
        .await
    else {
        panic!("validate")
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    for who in [&alice, &root] {
        let show = Rpc::new(&s, Some(who))
            .call("scheduler.jobs.show", &[Value::Int(id)])
            .await
            .unwrap();
        assert_eq!(member(&show, "visibility"), &Value::str("Personal"));
    }
    assert_eq!(
        as_alice
            .call("scheduler.jobs.definition", &[Value::Int(id)])
            .await,
        Ok(Value::str(PERSONAL_JOB))
    );
}

#[tokio::test]
async fn devices_types_workers_and_bundle_streams() {
    let (s, admin, w) = admin_and_worker().await;
    let (anon, as_admin) = (Rpc::new(&s, None), Rpc::new(&s, Some(&admin)));
    w.poll(&[], 0).await;
    let Ok(Value::Array(devices)) = anon.call("scheduler.devices.list", &[]).await else {
        panic!()
    };
    assert_eq!(devices.len(), 1);
    assert_eq!(
        names(&devices[0]),
        [
            "hostname",
            "type",
            "health",
            "state",
            "current_job",
            "pipeline"
        ]
    );
    assert_eq!(member(&devices[0], "state"), &Value::str("Idle"));
    let show = anon
        .call("scheduler.devices.show", &[Value::str("kvm01")])
        .await
        .unwrap();
    assert_eq!(
        names(&show),
        [
            "hostname",
            "device_type",
            "health",
            "state",
            "health_job",
            "description",
            "pipeline",
            "has_device_dict",
            "worker",
            "current_job",
            "tags"
        ]
    );
    assert_eq!(member(&show, "worker"), &Value::str("w1"));
    assert_eq!(
        anon.call("scheduler.devices.show", &[Value::str("nosuch")])
            .await,
        Err((404, "Device 'nosuch' was not found.".into()))
    );
    let Ok(Value::Array(types)) = anon.call("scheduler.device_types.list", &[]).await else {
        panic!()
    };
    assert_eq!(member(&types[0], "name"), &Value::str("kvm"));
    assert_eq!(member(&types[0], "devices"), &Value::Int(1));
    assert_eq!(
        anon.call("scheduler.workers.list", &[]).await,
        Ok(Value::Array(vec![Value::str("w1")]))
    );

    // Health through devices.update (LAVA's arguments: hostname, worker, user, group,
    // public, health): staff only, recorded.
    let bob = basic("bob", &s.user("bob", false));
    let as_bob = Rpc::new(&s, Some(&bob));
    let update = [
        Value::str("kvm01"),
        Value::Nil,
        Value::Nil,
        Value::Nil,
        Value::Bool(true),
        Value::str("MAINTENANCE"),
    ];
    assert_eq!(
        as_bob
            .call("scheduler.devices.update", &update)
            .await
            .unwrap_err()
            .0,
        403
    );
    assert_eq!(
        as_admin.call("scheduler.devices.update", &update).await,
        Ok(Value::Nil)
    );
    let show = anon
        .call("scheduler.devices.show", &[Value::str("kvm01")])
        .await
        .unwrap();
    assert_eq!(member(&show, "health"), &Value::str("Maintenance"));

    let path = Value::str("/anonymous/api-test/");
    assert_eq!(
        as_admin
            .call("dashboard.make_stream", &[path.clone(), Value::str("api")])
            .await,
        Ok(path.clone())
    );
    assert_eq!(
        as_admin
            .call("dashboard.make_stream", &[path.clone(), Value::str("api")])
            .await
            .unwrap_err()
            .0,
        409
    );
    let Ok(Value::Str(sha)) = anon
        .call(
            "dashboard.put",
            &[Value::str("{\"a\": 1}"), Value::str("b.json"), path.clone()],
        )
        .await
    else {
        panic!("put")
    };
    let got = anon
        .call("dashboard.get", &[Value::str(sha.clone())])
        .await
        .unwrap();
    assert_eq!(member(&got, "content"), &Value::str("{\"a\":1}"));
    let Ok(Value::Array(streams)) = anon.call("dashboard.streams", &[]).await else {
        panic!()
    };
    let mine = streams
        .iter()
        .find(|st| member(st, "pathname") == &path)
        .unwrap();
    assert_eq!(member(mine, "bundle_count"), &Value::Int(1));
}
