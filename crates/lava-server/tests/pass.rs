//! One scheduling pass on a database of its own: what it assigns, and to whom.

use std::time::Duration;

use lava_common::fixture::{DeviceRecord, DeviceTypeRecord, HealthDenominator};
use lava_common::ids::WorkerName;
use lava_common::state::{DeviceHealth, JobHealth, JobState, JobVisibility, WorkerHealth};
use lava_db::lifecycle::worker::{self, WorkerUpdate};

const JOB: &str = r#"{"job_name": "plain", "device_type": "kvm", "timeout": 60, "actions": []}"#;

/// A kvm type with the seed's health check every `every`, worker `w1` (active, at most
/// `job_limit` jobs, 0 for none) and `devices` on it, idle and reported by the worker.
async fn kvm_lab(
    c: &lava_db::Client,
    every: (i32, HealthDenominator),
    job_limit: i32,
    devices: &[(&str, DeviceHealth)],
) {
    let check = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/health-checks/kvm-health.json"
    ))
    .unwrap();
    let kvm = DeviceTypeRecord {
        name: "kvm".into(),
        description: String::new(),
        health_check_job: Some(check),
        health_frequency: every.0,
        health_denominator: every.1,
        disable_health_check: false,
        display: true,
    };
    lava_db::device_types::upsert(c, &kvm).await.unwrap();
    let w1 = WorkerName::from("w1");
    lava_db::workers::add(c, &w1, "", "hash").await.unwrap();
    worker::heartbeat(c, &w1, "test").await.unwrap();
    let update = WorkerUpdate {
        health: WorkerHealth::Active,
        description: "",
        job_limit,
    };
    worker::update(c, &w1, &update, None, "test").await.unwrap();
    for (name, health) in devices {
        let d = DeviceRecord {
            health: *health,
            worker_host: Some("w1".into()),
            ..DeviceRecord::new(*name, "kvm")
        };
        lava_db::devices::add(c, &d).await.unwrap();
    }
    let names: Vec<_> = devices.iter().map(|(n, _)| (*n).into()).collect();
    lava_db::workers::report_devices(c, &w1, &names)
        .await
        .unwrap();
}

/// A health check counts once against its worker's job limit: a worker allowed two jobs
/// that is given a health check on one device still takes an ordinary job on the other
/// (the pass used to count the health check twice and leave the job queued).
#[tokio::test]
async fn a_health_check_counts_once_against_the_job_limit() {
    let db = lava_testkit::test_db().await.unwrap();
    let mut c = db.client().await.unwrap();
    // A check every 10 jobs: only the device of unknown health needs one now.
    kvm_lab(
        &c,
        (10, HealthDenominator::Jobs),
        2,
        &[
            ("kvm01", DeviceHealth::Unknown),
            ("kvm02", DeviceHealth::Good),
        ],
    )
    .await;
    let plan = lava_common::job::parse_job(JOB).unwrap();
    let mut job = lava_server::submit::new_job(JOB, &plan, None, false);
    job.visibility = JobVisibility::Public;
    let id = lava_db::jobs::insert(&c, &job).await.unwrap();

    let opts = lava_server::scheduler::Options {
        worker_timeout: Duration::from_secs(3600),
        queue_timeout: None,
        backoff: Default::default(),
    };
    let report = lava_server::scheduler::pass::run(&mut c, &opts)
        .await
        .unwrap();
    assert_eq!(report.health_checks, 1, "{report:?}");
    assert!(
        report.assigned.contains(&(id, "kvm02".into())),
        "{report:?}"
    );
}

/// LAVA 2023's `timeouts.queue`: a job still queued when its own queue timeout passes is
/// canceled by the pass, naming the timeout; one with a longer timeout, or none, stays queued.
#[tokio::test]
async fn a_job_queued_past_its_queue_timeout_is_canceled() {
    let db = lava_testkit::test_db().await.unwrap();
    let mut c = db.client().await.unwrap();
    let job = |queue: &str| {
        format!(
            "job_name: waits\ndevice_type: nowhere\nvisibility: public\n\
             timeouts:\n  job: {{minutes: 1}}\n{queue}actions: []\n"
        )
    };
    let nowhere = DeviceTypeRecord {
        name: "nowhere".into(),
        description: String::new(),
        health_check_job: None,
        health_frequency: 10,
        health_denominator: HealthDenominator::Jobs,
        disable_health_check: true,
        display: true,
    };
    lava_db::device_types::upsert(&c, &nowhere).await.unwrap();
    let mut ids = Vec::new();
    for queue in ["  queue: {seconds: 1}\n", "  queue: {days: 1}\n", ""] {
        let text = job(queue);
        let plan = lava_common::job::parse_job(&text).unwrap();
        let new = lava_server::submit::new_job(&text, &plan, None, false);
        ids.push(lava_db::jobs::insert(&c, &new).await.unwrap());
    }
    let opts = lava_server::scheduler::Options {
        worker_timeout: Duration::from_secs(3600),
        queue_timeout: None,
        backoff: Default::default(),
    };
    // The deadline is a second after submission; passes run until it has passed.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let report = lava_server::scheduler::pass::run(&mut c, &opts)
            .await
            .unwrap();
        if report.stale > 0 {
            assert_eq!(report.stale, 1, "{report:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never canceled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let first = lava_db::jobs::get(&c, ids[0]).await.unwrap().unwrap();
    assert_eq!(
        (first.state, first.health),
        (JobState::Finished, JobHealth::Canceled)
    );
    let said = lava_db::transitions::job_history(&c, ids[0]).await.unwrap();
    assert!(
        said.iter()
            .any(|t| t.reason.contains("timeouts.queue (1s)")),
        "{said:?}"
    );
    for id in &ids[1..] {
        let j = lava_db::jobs::get(&c, *id).await.unwrap().unwrap();
        assert_eq!(j.state, JobState::Submitted, "job {id}");
    }
}

/// A device whose health check ended incomplete on an infrastructure error is checked again
/// after a delay that doubles with each failure in a row (it used to be checked again at
/// once, every pass), and after `failures_to_bad` failures in a row it goes bad, the reason
/// naming the count and the last check.
#[tokio::test]
async fn failed_health_checks_back_off_then_make_the_device_bad() {
    use lava_common::backoff_settings::Backoff;
    use lava_common::error_type::ErrorType;
    use lava_common::state::JobHealth;
    let db = lava_testkit::test_db().await.unwrap();
    let mut c = db.client().await.unwrap();
    kvm_lab(
        &c,
        (24, HealthDenominator::Hours),
        0,
        &[("kvm01", DeviceHealth::Unknown)],
    )
    .await;
    let opts = lava_server::scheduler::Options {
        worker_timeout: Duration::from_secs(3600),
        queue_timeout: None,
        backoff: Backoff {
            health_check_retry_delay: Duration::from_secs(600),
            health_check_retry_delay_max: Duration::from_secs(3600),
            health_check_failures_to_bad: 3,
            ..Backoff::default()
        },
    };
    let lab_failed = lava_db::lifecycle::finish::Ending {
        health: JobHealth::Incomplete,
        error_type: Some(ErrorType::Infrastructure),
        comment: Some("the PDU did not answer"),
        reason: "test",
    };
    // Moves the end of job `id` `secs` seconds into the past (the time the delay counts from).
    let ended_ago = async |c: &lava_db::Client, id: lava_common::ids::JobId, secs: f64| {
        c.execute(
            "UPDATE jobs SET end_time = now() - make_interval(secs => $2) WHERE id = $1",
            &[&id, &secs],
        )
        .await
        .unwrap();
    };
    let kvm01 = lava_common::ids::DeviceName::from("kvm01");
    let mut checks = Vec::new();
    // Failure n (1-based) is retried after 600 * 2^(n-1) seconds.
    for (n, delay) in [(1, 600.0), (2, 1200.0), (3, 0.0)] {
        let report = lava_server::scheduler::pass::run(&mut c, &opts)
            .await
            .unwrap();
        assert_eq!(report.health_checks, 1, "check {n}: {report:?}");
        let id = report.assigned[0].0;
        checks.push(id);
        assert!(
            lava_db::lifecycle::finish::finish(&c, id, &lab_failed)
                .await
                .unwrap()
        );
        if n == 3 {
            break;
        }
        // Not at once, nor a little before the delay ends.
        ended_ago(&c, id, delay - 30.0).await;
        let report = lava_server::scheduler::pass::run(&mut c, &opts)
            .await
            .unwrap();
        assert_eq!(report.health_checks, 0, "after failure {n}: {report:?}");
        let device = lava_db::devices::get(&c, &kvm01).await.unwrap().unwrap();
        assert_eq!(device.info.health, DeviceHealth::Unknown);
        ended_ago(&c, id, delay + 1.0).await;
    }
    // The third failure in a row: bad, with the count and the last check in the reason.
    let report = lava_server::scheduler::pass::run(&mut c, &opts)
        .await
        .unwrap();
    assert_eq!(report.gave_up, std::slice::from_ref(&kvm01), "{report:?}");
    assert_eq!(report.health_checks, 0);
    let device = lava_db::devices::get(&c, &kvm01).await.unwrap().unwrap();
    assert_eq!(device.info.health, DeviceHealth::Bad);
    let last = lava_db::devices::health_history(&c, &kvm01, 1)
        .await
        .unwrap();
    let reason = &last[0].reason;
    assert!(
        reason.contains("3 health checks failed in a row")
            && reason.contains(&format!("job {}", checks[2])),
        "{reason}"
    );
    // An admin's judgement starts the count again: one more failure is not three.
    lava_db::lifecycle::device::set_health(&c, &kvm01, DeviceHealth::Unknown, "fixed", None)
        .await
        .unwrap();
    let report = lava_server::scheduler::pass::run(&mut c, &opts)
        .await
        .unwrap();
    assert_eq!(report.health_checks, 1, "{report:?}");
    lava_db::lifecycle::finish::finish(&c, report.assigned[0].0, &lab_failed)
        .await
        .unwrap();
    let report = lava_server::scheduler::pass::run(&mut c, &opts)
        .await
        .unwrap();
    assert!(report.gave_up.is_empty(), "{report:?}");
    let device = lava_db::devices::get(&c, &kvm01).await.unwrap().unwrap();
    assert_eq!(device.info.health, DeviceHealth::Unknown);
}
