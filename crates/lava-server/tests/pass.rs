//! One scheduling pass on a database of its own: what it assigns, and to whom.

use std::time::Duration;

use lava_common::fixture::{DeviceRecord, DeviceTypeRecord, HealthDenominator};
use lava_common::ids::WorkerName;
use lava_common::state::{DeviceHealth, DeviceState, JobVisibility, WorkerHealth};
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
