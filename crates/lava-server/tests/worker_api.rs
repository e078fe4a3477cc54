//! The server's worker API against the real web app and scheduler processes, with the test
//! playing the worker over HTTP (the real worker daemon has its own end-to-end test).

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use lava_common::ids::JobId;
use lava_common::worker_api::*;
use serde_json::json;

#[tokio::test]
async fn a_job_travels_through_the_worker_api() {
    let s = Server::start().await;
    let w = s.worker("w1");
    // The first poll attaches kvm01 to w1 (its .conf lives there) and finds nothing to do.
    let first = w.poll(&[], 0).await;
    assert!(first.start.is_empty());
    assert!(
        s.manage(&["devices", "list"])
            .contains("kvm01\tkvm\tidle\tunknown\tw1")
    );
    // REST shows the version the worker's poll reported, as LAVA does.
    let workers: serde_json::Value = reqwest::get(format!("{}/api/v0.2/workers/w1/", s.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(workers["version"], "test", "{workers}");

    // A long poll returns as soon as the scheduler assigns the job. The job is submitted
    // only once the poll is waiting: a poll takes its wake-up receiver before it records
    // its heartbeat, so a new last_ping shows it is parked (its one look for work comes
    // straight after, long before a submitted job can be assigned).
    let last_ping = || {
        let list = s.manage(&["workers", "list"]);
        let w1 = list.lines().find(|l| l.starts_with("w1\t")).unwrap_or("");
        w1.rsplit('\t').next().unwrap_or("").to_string()
    };
    let before = last_ping();
    let poller = tokio::spawn(async move {
        let started = Instant::now();
        let r = w.poll(&[], 20_000).await;
        (w, r, started.elapsed())
    });
    wait_for("the long poll's heartbeat", 10, || {
        (last_ping() != before).then_some(())
    })
    .await;
    assert!(
        !poller.is_finished(),
        "the poll returned with no job to start"
    );
    let id = s.submit(EMPTY_JOB);
    let (w, r, waited) = poller.await.unwrap();
    assert_eq!(r.start.len(), 1, "{r:?}");
    assert_eq!(r.start[0].id, JobId(id));
    assert_eq!(r.start[0].device, "kvm01");
    assert!(
        waited < Duration::from_secs(5),
        "woken by the assignment, not the timeout: {waited:?}"
    );

    let (status, _): (u16, Ack) = w.post(&format!("jobs/{id}/started"), json!({})).await;
    assert_eq!(status, 200);
    let batch: String = (0..3).map(line).collect();
    let (status, ack) = w.log(id, 0, &batch).await;
    assert_eq!((status, ack.lines), (200, 3));
    // The same batch again (a retry after a lost reply): nothing duplicated.
    let (_, ack) = w.log(id, 0, &batch).await;
    assert_eq!(ack.lines, 3);
    // Overlapping batch: only the new line is kept.
    let overlap: String = (2..4).map(line).collect();
    let (_, ack) = w.log(id, 2, &overlap).await;
    assert_eq!(ack.lines, 4);
    // A gap is refused with where to resume.
    let (status, ack) = w.log(id, 9, &line(9)).await;
    assert_eq!((status, ack.lines), (409, 4));
    // Finishing with lines the server lacks is refused.
    let (status, ack): (u16, LogAck) = w.complete(id, 5).await;
    assert_eq!((status, ack.lines), (409, 4));
    let results = "- {\"dt\": \"2026-01-01T00:00:00.000000\", \"lvl\": \"results\", \"msg\": {\"case\": \"uname\", \"definition\": \"0_smoke\", \"measurement\": ! \"1.5\", \"result\": \"pass\", \"units\": \"s\"}}\n";
    let (_, ack) = w.log(id, 4, results).await;
    assert_eq!(ack.lines, 5);
    let (status, _): (u16, Ack) = w.complete(id, 5).await;
    assert_eq!(status, 200);

    let show = s.manage(&["jobs", "show", &id.to_string()]);
    assert!(
        show.contains("state: finished") && show.contains("health: complete"),
        "{show}"
    );
    assert!(
        show.contains("tests: 1 pass, 0 fail, 0 skip, 0 unknown"),
        "{show}"
    );
    let log = std::fs::read_to_string(
        s.root
            .path()
            .join(format!("var/lib/lava-server/jobs/{id}/output.yaml")),
    )
    .unwrap();
    let expected: String = (0..4).map(line).collect::<String>() + results;
    assert_eq!(log, expected, "every line once, in order");
    assert!(
        s.manage(&["devices", "list"])
            .contains("kvm01\tkvm\tidle\tunknown\tw1")
    );
}

#[tokio::test]
async fn cancel_in_every_state_and_bad_credentials() {
    let s = Server::start().await;
    let w = s.worker("w1");
    let token = w.token.clone();

    // Submitted: canceled at once (no worker has the device yet).
    let queued = s.submit(EMPTY_JOB);
    assert_eq!(
        s.manage(&["jobs", "cancel", &queued.to_string()]),
        format!("job {queued}: finished\n")
    );
    assert!(
        s.manage(&["jobs", "show", &queued.to_string()])
            .contains("health: canceled")
    );

    // Scheduled: canceled before the worker starts it.
    w.poll(&[], 0).await;
    let scheduled = s.submit(EMPTY_JOB);
    wait_for("the job to be scheduled", 10, || {
        s.manage(&["jobs", "show", &scheduled.to_string()])
            .contains("state: scheduled")
            .then_some(())
    })
    .await;
    assert_eq!(
        s.manage(&["jobs", "cancel", &scheduled.to_string()]),
        format!("job {scheduled}: canceling\n")
    );
    let r = w.poll(&[], 0).await;
    assert!(r.start.is_empty(), "{r:?}");
    assert!(
        s.manage(&["jobs", "show", &scheduled.to_string()])
            .contains("health: canceled")
    );

    // Running: the worker is told, stops it, reports it canceled.
    let running = s.submit(EMPTY_JOB);
    let r = w.poll(&[], 10_000).await;
    assert_eq!(r.start.first().map(|j| j.id.0), Some(running), "{r:?}");
    let _: (u16, Ack) = w.post(&format!("jobs/{running}/started"), json!({})).await;
    s.manage(&["jobs", "cancel", &running.to_string()]);
    let r = w.poll(&[(running, 0)], 10_000).await;
    assert_eq!(r.cancel, [JobId(running)]);
    let (status, _): (u16, Ack) = w
        .post(&format!("jobs/{running}/finished"), json!({"health": "canceled", "error_type": "Canceled", "error_msg": "canceled", "log_lines": 0}))
        .await;
    assert_eq!(status, 200);
    assert!(
        s.manage(&["jobs", "show", &running.to_string()])
            .contains("health: canceled")
    );
    assert!(s.manage(&["devices", "list"]).contains("kvm01\tkvm\tidle"));

    // A wrong token is 401; another protocol is refused with a clear message.
    let bad = Worker {
        http: reqwest::Client::new(),
        base: s.url.clone(),
        token: "nope".into(),
    };
    let (status, e): (u16, ApiError) = bad
        .post(
            "poll",
            json!({"version": "x", "devices": [], "running": [], "wait_ms": 0}),
        )
        .await;
    assert_eq!((status, e.message.as_str()), (401, "invalid worker token"));
    let r = reqwest::Client::new()
        .post(format!("{}{PREFIX}/poll", s.url))
        .header("authorization", format!("Token {token}"))
        .header(PROTOCOL_HEADER, "99")
        .json(&json!({"version": "x", "devices": [], "running": [], "wait_ms": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let e: ApiError = r.json().await.unwrap();
    assert!(
        e.message.contains("worker protocol '99' is not supported"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn health_checks_run_first_and_judge_the_device() {
    let s = Server::start().await;
    s.set_kvm_health_check();
    let w = s.worker("w1");
    let job = s.submit(EMPTY_JOB);
    // The device's health is unknown: its health check comes before the queued job.
    w.poll(&[], 0).await;
    let r = w.poll(&[], 10_000).await;
    assert_eq!(r.start.len(), 1, "{r:?}");
    let check = r.start[0].id;
    assert_ne!(check, JobId(job));
    assert!(
        s.manage(&["jobs", "show", &check.to_string()])
            .contains("health_check: true")
    );
    finish(&w, check.0, "complete").await;
    assert!(
        s.manage(&["devices", "list"]).contains("kvm01\tkvm\t")
            && s.manage(&["devices", "show", "kvm01"])
                .contains("health: good")
    );
    // Now the queued job.
    let r = w.poll(&[], 10_000).await;
    assert_eq!(r.start.first().map(|j| j.id.0), Some(job), "{r:?}");
    finish(&w, job, "complete").await;
    // A failed health check makes the device bad, and no job goes there.
    s.manage(&[
        "devices",
        "set-health",
        "kvm01",
        "unknown",
        "--reason",
        "recheck",
    ]);
    let r = w.poll(&[], 10_000).await;
    let check = r.start.first().map(|j| j.id.0).unwrap();
    finish(&w, check, "incomplete").await;
    assert!(
        s.manage(&["devices", "show", "kvm01"])
            .contains("health: bad")
    );
    s.submit(EMPTY_JOB);
    let r = w.poll(&[], 1_500).await;
    assert!(r.start.is_empty(), "no job on a bad device: {r:?}");
    let history = s.manage(&["devices", "show", "kvm01"]);
    assert!(
        history.contains("unknown -> good by lava: health check job"),
        "{history}"
    );
    assert!(
        history.contains("unknown -> bad by lava: health check job"),
        "{history}"
    );
}

#[tokio::test]
async fn priority_then_age_and_a_silent_worker_loses_its_jobs() {
    let s = Server::start().await;
    let w = s.worker("w1");
    let low =
        s.submit(&EMPTY_JOB.replace("visibility: public", "visibility: public\npriority: low"));
    let high =
        s.submit(&EMPTY_JOB.replace("visibility: public", "visibility: public\npriority: high"));
    let medium = s.submit(EMPTY_JOB);
    let mut order = Vec::new();
    for _ in 0..3 {
        let r = w.poll(&[], 10_000).await;
        let id = r.start.first().map(|j| j.id.0).expect("a job");
        order.push(id);
        finish(&w, id, "complete").await;
    }
    assert_eq!(order, [high, medium, low]);

    // The worker takes a job and goes silent: after the heartbeat timeout (5 s here) the job
    // ends incomplete with the reason, and the device waits for a health check (unknown).
    let lost = s.submit(EMPTY_JOB);
    let r = w.poll(&[], 10_000).await;
    assert_eq!(r.start.first().map(|j| j.id.0), Some(lost));
    let _: (u16, Ack) = w.post(&format!("jobs/{lost}/started"), json!({})).await;
    s.manage(&[
        "devices",
        "set-health",
        "kvm01",
        "good",
        "--reason",
        "known good",
    ]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let show = s.manage(&["jobs", "show", &lost.to_string()]);
        if show.contains("state: finished") {
            assert!(
                show.contains("health: incomplete") && show.contains("error_type: Infrastructure"),
                "{show}"
            );
            assert!(show.contains("worker 'w1' sent no heartbeat"), "{show}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the silent worker's job never ended: {show}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        s.manage(&["devices", "show", "kvm01"])
            .contains("health: unknown")
    );
    assert!(s.manage(&["workers", "list"]).starts_with("w1\toffline"));
}

#[tokio::test]
async fn a_standby_scheduler_takes_over_when_the_active_one_is_killed() {
    let mut s = Server::start().await;
    // Replace the test's scheduler by two that log where we can read them.
    s._daemons.truncate(1);
    let logs: Vec<PathBuf> = (0..2)
        .map(|i| s.root.path().join(format!("sched{i}.log")))
        .collect();
    let mut scheds: Vec<Child> = logs
        .iter()
        .map(|l| {
            s.cmd(&["scheduler", "--interval", "1"])
                .stderr(std::fs::File::create(l).unwrap())
                .spawn()
                .unwrap()
        })
        .collect();
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let active = loop {
        let found = logs.iter().position(|l| {
            std::fs::read_to_string(l)
                .unwrap_or_default()
                .contains("active scheduler")
        });
        if let Some(i) = found {
            break i;
        }
        assert!(Instant::now() < deadline, "no scheduler became active");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let standby = 1 - active;
    assert!(
        std::fs::read_to_string(&logs[standby])
            .unwrap()
            .contains("standing by")
    );
    let first = s.submit(EMPTY_JOB);
    let r = w.poll(&[], 10_000).await;
    assert_eq!(r.start.first().map(|j| j.id.0), Some(first));
    finish(&w, first, "complete").await;

    scheds[active].kill().unwrap();
    scheds[active].wait().unwrap();
    let killed = Instant::now();
    let second = s.submit(EMPTY_JOB);
    let r = w.poll(&[], 15_000).await;
    assert_eq!(
        r.start.first().map(|j| j.id.0),
        Some(second),
        "the standby scheduled it"
    );
    assert!(
        killed.elapsed() < Duration::from_secs(10),
        "took over in {:?}",
        killed.elapsed()
    );
    assert!(
        std::fs::read_to_string(&logs[standby])
            .unwrap()
            .contains("active scheduler")
    );
    for mut c in scheds {
        let _ = c.kill();
        let _ = c.wait();
    }
}

#[tokio::test]
async fn rest_submit_needs_a_user_token_and_names_the_problem() {
    let s = Server::start().await;
    s.manage(&["users", "add", "alice"]);
    let token = s
        .manage(&["tokens", "add", "--user", "alice"])
        .trim()
        .to_string();
    let http = reqwest::Client::new();
    let post = |auth: Option<String>, body: serde_json::Value| {
        let mut r = http.post(format!("{}/api/v0.2/jobs/", s.url)).json(&body);
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    let ok = post(
        Some(format!("Token {token}")),
        json!({"definition": EMPTY_JOB}),
    )
    .await
    .unwrap();
    assert_eq!(ok.status().as_u16(), 201);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["message"], "job(s) successfully submitted");
    let id = body["job_ids"][0].as_i64().unwrap();
    assert!(
        s.manage(&["jobs", "show", &id.to_string()])
            .contains("submitter: alice")
    );

    let anon = post(None, json!({"definition": EMPTY_JOB})).await.unwrap();
    assert_eq!(anon.status().as_u16(), 403);
    let bad = post(Some("Token nope".into()), json!({"definition": EMPTY_JOB}))
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 403);
    assert_eq!(
        bad.json::<serde_json::Value>().await.unwrap()["detail"],
        "Invalid token."
    );
    let missing = post(Some(format!("Token {token}")), json!({}))
        .await
        .unwrap();
    assert_eq!(
        missing.json::<serde_json::Value>().await.unwrap()["definition"][0],
        "This field is required."
    );
    let broken = post(
        Some(format!("Token {token}")),
        json!({"definition": EMPTY_JOB.replace("timeouts:", "timeoutz:")}),
    )
    .await
    .unwrap();
    assert_eq!(broken.status().as_u16(), 400);
    let msg = broken.json::<serde_json::Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.starts_with("Problem with submitted job data:") && msg.contains("line"),
        "{msg}"
    );
    let no_type = post(
        Some(format!("Token {token}")),
        json!({"definition": EMPTY_JOB.replace("device_type: kvm", "device_type: nosuch")}),
    )
    .await
    .unwrap();
    assert_eq!(
        no_type.json::<serde_json::Value>().await.unwrap()["message"],
        "Devices unavailable: Device type 'nosuch' is unavailable."
    );
    let v: serde_json::Value = http
        .get(format!("{}/api/v0.2/system/version/", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["version"], "2023.01");
}

#[tokio::test]
async fn sighup_reloads_settings_and_keeps_the_old_ones_when_bad() {
    let s = Server::start().await;
    let log = s.root.path().join("sched-hup.log");
    // The scheduler's own settings file, so the manage commands of the test keep theirs.
    let settings = s.root.path().join("scheduler-settings.toml");
    std::fs::write(&settings, "[web]\nlisten = \"127.0.0.1:8000\"\n").unwrap();
    let sched = s
        .cmd(&["scheduler", "--interval", "1"])
        .env("LAVA_SETTINGS", &settings)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _sched = Daemon(sched);
    let pid = _sched.0.id().to_string();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for("the scheduler to log", 10, || {
        read().contains("scheduler").then_some(())
    })
    .await;
    std::fs::write(&settings, "[web]\nlisten = 5\n").unwrap();
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    wait_for("the reload error", 10, || {
        read()
            .contains("keeping the previous settings")
            .then_some(())
    })
    .await;
    assert!(
        read().contains("web.listen: expected a string"),
        "{}",
        read()
    );
    // Still scheduling with the old settings.
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    let id = s.submit(EMPTY_JOB);
    let r = w.poll(&[], 10_000).await;
    assert_eq!(r.start.first().map(|j| j.id.0), Some(id));
    std::fs::write(&settings, "[web]\nlisten = \"127.0.0.1:8001\"\n").unwrap();
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    wait_for("the reload", 10, || {
        read().contains("settings reloaded").then_some(())
    })
    .await;
}

#[tokio::test]
async fn results_go_to_their_stream_and_an_unknown_stream_is_a_job_error() {
    let s = Server::start().await;
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    let json_job = |stream: &str| {
        format!(
            r#"{{"device_type": "kvm", "timeout": 60, "actions": [{{"command": "submit_results", "parameters": {{"server": "http://localhost/RPC2/", "stream": "{stream}"}}}}]}}"#
        )
    };
    for (stream, health) in [
        ("/anonymous/lab-health/", "complete"),
        ("/private/team/nosuch/", "incomplete"),
    ] {
        let id = s.submit(&json_job(stream));
        let r = w.poll(&[], 10_000).await;
        assert_eq!(r.start.first().map(|j| j.id.0), Some(id));
        finish(&w, id, "complete").await;
        let show = s.manage(&["jobs", "show", &id.to_string()]);
        assert!(
            show.contains(&format!("health: {health}")),
            "{stream}: {show}"
        );
        if health == "incomplete" {
            assert!(
                show.contains("bundle stream /private/team/nosuch/ does not exist"),
                "{show}"
            );
        } else {
            assert!(show.contains("bundles: /anonymous/lab-health/ #"), "{show}");
        }
    }
    // The anonymous stream was created on first use; nothing else was.
    assert_eq!(s.manage(&["streams", "list"]).lines().count(), 1);
}

#[tokio::test]
async fn stale_queued_jobs_are_canceled_by_the_queue_timeout() {
    let mut s = Server::start().await;
    s._daemons.truncate(1); // only this test's scheduler, with its queue timeout
    let sched = s
        .cmd(&["scheduler", "--interval", "1", "--queue-timeout", "0.0005"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _sched = Daemon(sched);
    // No worker: the job can only wait, then be canceled (0.0005 h = 1.8 s).
    let id = s.submit(EMPTY_JOB);
    wait_for("the stale job to be canceled", 20, || {
        s.manage(&["jobs", "show", &id.to_string()])
            .contains("health: canceled")
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn any_slice_of_a_log_reads_from_the_nearest_index_entry() {
    let s = Server::start().await;
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    let id = s.submit(EMPTY_JOB);
    w.poll(&[], 10_000).await;
    for b in 0..10usize {
        let batch: String = (b * 100..(b + 1) * 100).map(line).collect();
        let (status, _) = w.log(id, b * 100, &batch).await;
        assert_eq!(status, 200);
    }
    let store =
        lava_server::logstore::LogStore::new(s.root.path().join("var/lib/lava-server/jobs"));
    let c = s.db.client().await.unwrap();
    let slice = store
        .read(&c, JobId(id), 250, Some(253))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        String::from_utf8(slice).unwrap(),
        (250..253).map(line).collect::<String>()
    );
    let tail = store.read(&c, JobId(id), 998, None).await.unwrap().unwrap();
    assert_eq!(
        String::from_utf8(tail).unwrap(),
        (998..1000).map(line).collect::<String>()
    );
    assert_eq!(
        store
            .read(&c, JobId(id), 1000, None)
            .await
            .unwrap()
            .unwrap(),
        b""
    );
    assert_eq!(
        store.read(&c, JobId(id + 1), 0, None).await.unwrap(),
        None,
        "no log yet"
    );
}

#[tokio::test]
async fn a_health_check_is_due_again_after_its_frequency_in_jobs() {
    let s = Server::start().await;
    let fixture = s.root.path().join("every2.json");
    std::fs::write(
        &fixture,
        r#"[{"model": "lava_scheduler_app.devicetype", "pk": "kvm", "fields": {"health_frequency": 2, "health_denominator": 1}},
            {"model": "lava_scheduler_app.device", "pk": "kvm01", "fields": {"device_type": "kvm", "health": 0}}]"#,
    )
    .unwrap();
    s.manage(&["loaddata", fixture.to_str().unwrap()]);
    s.set_kvm_health_check();
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    let jobs: Vec<i64> = (0..3).map(|_| s.submit(EMPTY_JOB)).collect();
    let mut ran = Vec::new();
    while ran.len() < 4 {
        let r = w.poll(&[], 10_000).await;
        let Some(j) = r.start.first() else { continue };
        ran.push(j.id);
        finish(&w, j.id.0, "complete").await;
    }
    // The device was good with no check yet counted as due after 2 jobs: job, job, check, job.
    assert_eq!(ran[..2], [JobId(jobs[0]), JobId(jobs[1])], "{ran:?}");
    assert!(
        s.manage(&["jobs", "show", &ran[2].to_string()])
            .contains("health_check: true"),
        "{ran:?}"
    );
    assert_eq!(ran[3], JobId(jobs[2]));
}
