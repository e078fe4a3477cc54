//! One scheduling pass on a database of its own: what it assigns, and to whom.

use std::time::Duration;

use lava_common::fixture::{DeviceRecord, DeviceTypeRecord, HealthDenominator};
use lava_common::ids::WorkerName;
use lava_common::state::{
    DeviceHealth, DeviceState, JobHealth, JobState, JobVisibility, WorkerHealth,
};
use lava_db::lifecycle::worker::{self, WorkerUpdate};

const JOB: &str = r#"{"job_name": "plain", "device_type": "kvm", "timeout": 60, "actions": []}"#;

/// A health check counts once against its worker's job limit: a worker allowed two jobs
/// that is given a health check on one device still takes an ordinary job on the other
/// (the pass used to count the health check twice and leave the job queued).
#[tokio::test]
async fn a_health_check_counts_once_against_the_job_limit() {
    let db = lava_testkit::test_db().await.unwrap();
    let mut c = db.client().await.unwrap();
    let check = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/health-checks/kvm-health.json"
    ))
    .unwrap();
    // A check every 10 jobs: only the device of unknown health needs one now.
    let kvm = DeviceTypeRecord {
        name: "kvm".into(),
        description: String::new(),
        health_check_job: Some(check),
        health_frequency: 10,
        health_denominator: HealthDenominator::Jobs,
        disable_health_check: false,
        display: true,
    };
    lava_db::device_types::upsert(&c, &kvm).await.unwrap();
    let w1 = WorkerName::from("w1");
    lava_db::workers::add(&c, &w1, "", "hash").await.unwrap();
    worker::heartbeat(&c, &w1, "test").await.unwrap();
    let limit = WorkerUpdate {
        health: WorkerHealth::Active,
        description: "",
        job_limit: 2,
    };
    worker::update(&c, &w1, &limit, None, "test").await.unwrap();
    for (name, health) in [
        ("kvm01", DeviceHealth::Unknown),
        ("kvm02", DeviceHealth::Good),
    ] {
        let d = DeviceRecord {
            hostname: name.into(),
            device_type: "kvm".into(),
            description: String::new(),
            tags: vec![],
            state: DeviceState::Idle,
            health,
            worker_host: Some("w1".into()),
        };
        lava_db::devices::add(&c, &d).await.unwrap();
    }
    lava_db::workers::report_devices(&c, &w1, &["kvm01".into(), "kvm02".into()])
        .await
        .unwrap();
    let plan = lava_common::job::parse_job(JOB).unwrap();
    let mut job = lava_server::submit::new_job(JOB, &plan, None, false);
    job.visibility = JobVisibility::Public;
    let id = lava_db::jobs::insert(&c, &job).await.unwrap();

    let opts = lava_server::scheduler::Options {
        worker_timeout: Duration::from_secs(3600),
        queue_timeout: None,
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
