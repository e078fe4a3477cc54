//! Bulk and one-by-one assignment agree: on generated labs and queues (device types with and
//! without health checks, workers online or not, active or not, with job limits; devices
//! with tags, healths and reports; jobs for a type or a device, with tags, priorities and
//! ages), the scheduler's way (`queued`: bulk, then one by one for the rest) makes exactly
//! the assignments the one-by-one pass alone makes.

mod common;

use std::sync::OnceLock;

use lava_common::fixture::DeviceRecord;
use lava_common::ids::{DeviceName, DeviceTypeName, JobId, WorkerName};
use lava_common::state::{DeviceHealth, JobVisibility, WorkerHealth};
use lava_db::jobs::NewJob;
use lava_db::lifecycle::assign::{self, Assignment};
use lava_db::lifecycle::worker::{self, WorkerUpdate};
use proptest::prelude::*;

const TYPES: [&str; 2] = ["a", "b"];
const WORKERS: [&str; 2] = ["w0", "w1"];
const TAGS: [&str; 2] = ["x", "y"];

/// A worker of the generated lab.
#[derive(Debug, Clone)]
struct GenWorker {
    online: bool,
    active: bool,
    job_limit: i32,
}

/// A device of the generated lab.
#[derive(Debug, Clone)]
struct GenDevice {
    device_type: usize,
    worker: usize,
    tags: Vec<String>,
    health: DeviceHealth,
    reported: bool,
}

/// A queued job: for a type or for a device (an index into the devices).
#[derive(Debug, Clone)]
struct GenJob {
    device_type: usize,
    device: Option<usize>,
    tags: Vec<String>,
    priority: i32,
    age_secs: i32,
}

/// A generated lab and queue.
#[derive(Debug, Clone)]
struct Lab {
    /// Which types have a health check (their unknown devices take no ordinary job).
    checked: [bool; 2],
    workers: Vec<GenWorker>,
    devices: Vec<GenDevice>,
    jobs: Vec<GenJob>,
}

fn tags() -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(TAGS.to_vec(), 0..=2)
        .prop_map(|t| t.into_iter().map(String::from).collect())
}

fn lab() -> impl Strategy<Value = Lab> {
    let worker = (
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.85),
        0..3i32,
    )
        .prop_map(|(online, active, job_limit)| GenWorker {
            online,
            active,
            job_limit,
        });
    let health = prop::sample::select(vec![
        DeviceHealth::Good,
        DeviceHealth::Good,
        DeviceHealth::Unknown,
        DeviceHealth::Bad,
    ]);
    let device = (
        0..2usize,
        0..2usize,
        tags(),
        health,
        prop::bool::weighted(0.9),
    )
        .prop_map(|(device_type, worker, tags, health, reported)| GenDevice {
            device_type,
            worker,
            tags,
            health,
            reported,
        });
    let job = (
        0..2usize,
        prop::option::weighted(0.2, 0..6usize),
        prop::bool::weighted(0.3),
        tags(),
        prop::sample::select(vec![0, 50, 50, 100]),
        0..3i32,
    )
        .prop_map(
            |(device_type, device, tagged, tags, priority, age)| GenJob {
                device_type,
                device,
                tags: if tagged { tags } else { Vec::new() },
                priority,
                age_secs: age * 60,
            },
        );
    (
        [any::<bool>(), any::<bool>()],
        prop::collection::vec(worker, 2),
        prop::collection::vec(device, 0..7),
        prop::collection::vec(job, 0..12),
    )
        .prop_map(|(checked, workers, devices, jobs)| Lab {
            checked,
            workers,
            devices,
            jobs,
        })
}

/// Builds `lab` in `c` (a transaction the caller rolls back); returns the ids of its jobs.
async fn build(c: &lava_db::Transaction<'_>, lab: &Lab) -> Vec<JobId> {
    for (i, t) in TYPES.iter().enumerate() {
        lava_db::device_types::add(c, &DeviceTypeName::from(*t), "")
            .await
            .unwrap();
        if lab.checked[i] {
            lava_db::device_types::set_health_check(
                c,
                &DeviceTypeName::from(*t),
                Some("actions: []"),
            )
            .await
            .unwrap();
        }
    }
    for (name, w) in WORKERS.iter().zip(&lab.workers) {
        lava_db::workers::add(c, &WorkerName::from(*name), "", &format!("hash-{name}"))
            .await
            .unwrap();
        if w.online {
            worker::heartbeat(c, &WorkerName::from(*name), "test")
                .await
                .unwrap();
        }
        let u = WorkerUpdate {
            health: if w.active {
                WorkerHealth::Active
            } else {
                WorkerHealth::Maintenance
            },
            description: "",
            job_limit: w.job_limit,
        };
        worker::update(c, &WorkerName::from(*name), &u, None, "test")
            .await
            .unwrap();
    }
    let mut reported: [Vec<DeviceName>; 2] = Default::default();
    for (i, d) in lab.devices.iter().enumerate() {
        let hostname = format!("d{i}");
        let record = DeviceRecord {
            tags: d.tags.clone(),
            health: d.health,
            worker_host: Some(WORKERS[d.worker].into()),
            ..DeviceRecord::new(hostname.as_str(), TYPES[d.device_type])
        };
        lava_db::devices::add(c, &record).await.unwrap();
        if d.reported {
            reported[d.worker].push(DeviceName::from(hostname));
        }
    }
    for (name, devices) in WORKERS.iter().zip(&reported) {
        lava_db::workers::report_devices(c, &WorkerName::from(*name), devices)
            .await
            .unwrap();
    }
    let mut ids = Vec::new();
    for j in &lab.jobs {
        let device = j
            .device
            .filter(|&d| d < lab.devices.len())
            .map(|d| DeviceName::from(format!("d{d}")));
        let job = NewJob {
            submitter: None,
            description: "generated".into(),
            definition: "actions: []".into(),
            plan: serde_json::json!({}),
            health_check: false,
            device_type: device.is_none().then(|| TYPES[j.device_type].into()),
            device,
            tags: j.tags.clone(),
            priority: j.priority,
            visibility: JobVisibility::Public,
            viewing_groups: vec![],
            queue_timeout: None,
        };
        let id = lava_db::jobs::insert(c, &job).await.unwrap();
        // Ages (with ties) make the queue order more than the order of ids.
        c.execute(
            "UPDATE jobs SET submit_time = submit_time - make_interval(secs => $2) WHERE id = $1",
            &[&id, &f64::from(j.age_secs)],
        )
        .await
        .unwrap();
        ids.push(id);
    }
    ids
}

/// An assignment as the job's place in the generated queue and the device (ids differ from
/// one build to the next: sequences are not rolled back).
type Pair = (usize, DeviceName);

/// What `pass` assigns in `lab`, built afresh in a savepoint that is then rolled back.
async fn assigned<F>(c: &mut lava_db::Client, lab: &Lab, pass: F) -> Vec<Pair>
where
    F: AsyncFnOnce(&lava_db::Transaction<'_>) -> Vec<Assignment>,
{
    let tx = c.transaction().await.unwrap();
    let ids = build(&tx, lab).await;
    let made = pass(&tx).await;
    tx.rollback().await.unwrap();
    let place = |job| ids.iter().position(|&id| id == job).unwrap();
    let mut pairs: Vec<Pair> = made.into_iter().map(|a| (place(a.job), a.device)).collect();
    pairs.sort();
    pairs
}

/// The pairs both ways, for one lab.
async fn both(c: &mut lava_db::Client, lab: &Lab) -> (Vec<Pair>, Vec<Pair>) {
    let bulk = assigned(c, lab, async |tx| assign::queued(tx).await.unwrap()).await;
    let single = assigned(c, lab, async |tx| assign::one_by_one(tx).await.unwrap()).await;
    (bulk, single)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn bulk_and_one_by_one_assign_alike(lab in lab()) {
        let rt = || tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // One database for every case: each builds its lab in a transaction it rolls back.
        static DB: OnceLock<lava_testkit::TestDb> = OnceLock::new();
        let db = DB.get_or_init(|| rt().block_on(lava_testkit::test_db()).unwrap());
        let (bulk, single) = rt().block_on(async {
            let mut c = db.client().await.unwrap();
            both(&mut c, &lab).await
        });
        prop_assert_eq!(bulk, single);
    }
}

/// The case the generated labs found first: a type whose devices sit on a worker with a job
/// limit and one without. One by one, the devices take jobs in device order; bulk used to
/// pair the best jobs with the unlimited worker's devices first.
#[tokio::test]
async fn a_type_on_limited_and_unlimited_workers_assigns_in_device_order() {
    let lab = Lab {
        checked: [false, false],
        workers: vec![
            GenWorker {
                online: true,
                active: true,
                job_limit: 1,
            },
            GenWorker {
                online: true,
                active: true,
                job_limit: 0,
            },
        ],
        devices: vec![
            GenDevice {
                device_type: 0,
                worker: 0,
                tags: vec![],
                health: DeviceHealth::Good,
                reported: true,
            },
            GenDevice {
                device_type: 0,
                worker: 1,
                tags: vec![],
                health: DeviceHealth::Good,
                reported: true,
            },
        ],
        jobs: vec![
            GenJob {
                device_type: 0,
                device: None,
                tags: vec![],
                priority: 100,
                age_secs: 0,
            },
            GenJob {
                device_type: 0,
                device: None,
                tags: vec![],
                priority: 50,
                age_secs: 0,
            },
        ],
    };
    let db = lava_testkit::test_db().await.unwrap();
    let mut c = db.client().await.unwrap();
    let (bulk, single) = both(&mut c, &lab).await;
    assert_eq!(single.len(), 2);
    assert_eq!(bulk, single);
}

/// A job another transaction holds locked is left for the next pass, and so is the device
/// it would have had; the other pairs are made. Once the lock is gone, the next pass makes
/// that pair.
#[tokio::test]
async fn a_locked_job_waits_for_the_next_pass_with_its_device() {
    let worker = GenWorker {
        online: true,
        active: true,
        job_limit: 0,
    };
    let device = GenDevice {
        device_type: 0,
        worker: 0,
        tags: vec![],
        health: DeviceHealth::Good,
        reported: true,
    };
    let job = |priority| GenJob {
        device_type: 0,
        device: None,
        tags: vec![],
        priority,
        age_secs: 0,
    };
    let lab = Lab {
        checked: [false, false],
        workers: vec![worker.clone(), worker],
        devices: vec![device.clone(), device],
        jobs: vec![job(90), job(80), job(70)],
    };
    let db = lava_testkit::test_db().await.unwrap();
    let mut c = db.client().await.unwrap();
    let tx = c.transaction().await.unwrap();
    let ids = build(&tx, &lab).await;
    tx.commit().await.unwrap();

    let mut other = db.client().await.unwrap();
    let holder = other.transaction().await.unwrap();
    holder
        .execute("SELECT id FROM jobs WHERE id = $1 FOR UPDATE", &[&ids[0]])
        .await
        .unwrap();
    let pair = |job: JobId, device: &str| Assignment {
        job,
        device: DeviceName::from(device),
        worker: WorkerName::from("w0"),
    };
    let tx = c.transaction().await.unwrap();
    let made = assign::queued(&tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(made, vec![pair(ids[1], "d1")]);

    holder.rollback().await.unwrap();
    let tx = c.transaction().await.unwrap();
    let made = assign::queued(&tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(made, vec![pair(ids[0], "d0")]);
}
