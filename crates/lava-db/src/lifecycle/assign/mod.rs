//! Giving queued jobs to idle devices: job `scheduled`, device `reserved`, the worker woken.
//!
//! [`rules`] says which device may take which job and in which order; [`one_by_one`] follows
//! it a device at a time, asking the database for each device's best job; [`bulk`] reads the
//! idle devices and their candidate jobs once and follows the same rule in memory, for every
//! kind of job (tags, requested devices, worker job limits). Both write through [`apply`], the
//! one statement that makes assignments. `tests/assign.rs` holds [`queued`] (the bulk pass,
//! which the scheduler runs) equal to [`one_by_one`] on generated queues.

mod bulk;
pub mod rules;

use lava_common::ids::{DeviceName, JobId, WorkerName};
use std::collections::HashMap;

use lava_common::state::{DeviceState, JobHealth, JobState};

use super::moves::{DeviceStateMove, JobMove};
use crate::{Db, Error};

pub use rules::{HealthCheckDue, IdleDevice, health_checks_due};

/// A job given to a device (and so to the device's worker).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Assignment {
    /// The job, which moves to `scheduled`.
    pub job: JobId,
    /// The device, which moves to `reserved`.
    pub device: DeviceName,
    /// The device's worker, which the assignment wakes.
    pub worker: WorkerName,
}

/// Makes `pairs` in one statement, each job from queued to scheduled and each device from
/// idle to reserved, naming the states it expects; writes their transition rows and wakes
/// their workers. Returns how many jobs and devices changed: a job that had left the queue
/// changes nothing, not even its device.
///
/// Each job is reached through its row's address (`ctid`), read by one index probe per pair
/// behind an `OFFSET 0` fence: joined on `id`, the planner hashed the whole queue (50,000
/// rows) to update 1,850, with or without statistics. The callers hold every job locked
/// (the bulk pass's lock query, [`rules::best_job`], or a health check inserted by this
/// transaction), so its row cannot change between the probe and the update; if one did
/// anyway, the update would skip that pair, as for a job that left the queue.
async fn apply(c: &impl Db, pairs: &[Assignment]) -> Result<(i64, i64), Error> {
    let queued = (JobState::Submitted, JobHealth::Unknown);
    let job = JobMove::new(queued, (JobState::Scheduled, JobHealth::Unknown))?;
    let device = DeviceStateMove::new(DeviceState::Idle, DeviceState::Reserved)?;
    let jobs: Vec<JobId> = pairs.iter().map(|p| p.job).collect();
    let devices: Vec<&str> = pairs.iter().map(|p| p.device.as_str()).collect();
    let workers: Vec<&str> = pairs.iter().map(|p| p.worker.as_str()).collect();
    let (from, to) = (job.from(), job.to());
    let (device_from, device_to) = device.states();
    let row = c
        .query_one(
            "WITH pairs AS (
                SELECT p.*, x.tid FROM unnest($1::bigint[], $2::text[], $3::text[]) AS p(job, device, worker)
                CROSS JOIN LATERAL (SELECT ctid AS tid FROM jobs WHERE id = p.job OFFSET 0) x
            ),
            moved_jobs AS (
                UPDATE jobs j SET state = $5, health = $7, actual_device = p.device, worker_host = p.worker
                FROM pairs p WHERE j.ctid = p.tid AND j.state = $4 AND j.health = $6
                RETURNING j.id, p.device, p.worker
            ),
            moved_devices AS (
                UPDATE devices d SET state = $9, current_job_id = m.id
                FROM moved_jobs m WHERE d.hostname = m.device AND d.state = $8
                RETURNING d.hostname, d.health, m.id
            ),
            job_rows AS (
                INSERT INTO job_transitions (job_id, old_state, new_state, old_health, new_health, device, reason)
                SELECT m.id, $4, $5, $6, $7, m.device, 'job ' || m.id || ' scheduled' FROM moved_jobs m
            ),
            device_rows AS (
                INSERT INTO device_transitions (device, old_state, new_state, old_health, new_health, job_id, reason)
                SELECT m.hostname, $8, $9, m.health, m.health, m.id, 'job ' || m.id || ' scheduled'
                FROM moved_devices m
            ),
            woken AS (
                SELECT pg_notify('lava_worker', w.worker) FROM (SELECT DISTINCT worker FROM moved_jobs) w
            )
            SELECT (SELECT count(*) FROM moved_jobs) AS jobs, (SELECT count(*) FROM moved_devices) AS devices,
                   (SELECT count(*) FROM woken) AS woken",
            &[
                &jobs,
                &devices,
                &workers,
                &from.0,
                &to.0,
                &from.1,
                &to.1,
                &device_from,
                &device_to,
            ],
        )
        .await?;
    Ok((row.try_get("jobs")?, row.try_get("devices")?))
}

/// Gives queued job `job` to idle `device` of `worker`. Returns false, changing nothing, when
/// the job left the queue meanwhile; a device that is no longer idle is a conflict (roll the
/// transaction back).
pub async fn assign(
    c: &impl Db,
    job: JobId,
    device: &DeviceName,
    worker: &WorkerName,
) -> Result<bool, Error> {
    let pair = Assignment {
        job,
        device: device.clone(),
        worker: worker.clone(),
    };
    match apply(c, std::slice::from_ref(&pair)).await? {
        (0, _) => Ok(false),
        (_, 0) => Err(Error::Conflict(format!(
            "device '{device}' is no longer idle"
        ))),
        _ => Ok(true),
    }
}

/// The one-by-one pass: each idle device in the rules' order takes the best queued job that
/// fits it, unless its worker holds its job limit.
pub async fn one_by_one(c: &impl Db) -> Result<Vec<Assignment>, Error> {
    let mut made = Vec::new();
    // Jobs given to each worker in this pass, on top of what it held when the devices were
    // read.
    let mut given: HashMap<WorkerName, i64> = HashMap::new();
    for device in rules::idle_devices(c).await? {
        let held = given.get(&device.worker).copied().unwrap_or(0) + device.busy_on_worker;
        if device.job_limit > 0 && held >= i64::from(device.job_limit) {
            continue;
        }
        let Some(job) = rules::best_job(c, &device).await? else {
            continue;
        };
        if assign(c, job, &device.hostname, &device.worker).await? {
            tracing::debug!(job = %job, device = %device.hostname, worker = %device.worker, "job scheduled");
            *given.entry(device.worker.clone()).or_default() += 1;
            made.push(Assignment {
                job,
                device: device.hostname,
                worker: device.worker,
            });
        }
    }
    Ok(made)
}

/// The bulk pass: every pair the rules make, from two reads and one write (see [`bulk`]).
pub async fn in_bulk(c: &impl Db) -> Result<Vec<Assignment>, Error> {
    let pairs = bulk::pairs(c).await?;
    if pairs.is_empty() {
        return Ok(pairs);
    }
    let (jobs, devices) = apply(c, &pairs).await?;
    let n = pairs.len() as i64;
    if jobs != n || devices != n {
        // Both sides were locked when they were paired, so this cannot happen; refuse rather
        // than commit a job without its device.
        return Err(Error::Conflict(format!(
            "bulk assignment paired {n} jobs but moved {jobs} jobs and {devices} devices"
        )));
    }
    for p in &pairs {
        tracing::debug!(job = %p.job, device = %p.device, worker = %p.worker, "job scheduled");
    }
    Ok(pairs)
}

/// Assigns every queued job that can run now, in bulk. What it assigns is what
/// [`one_by_one`] would (a job another transaction holds locked is left, with the device it
/// would have had, for the next pass).
pub async fn queued(c: &impl Db) -> Result<Vec<Assignment>, Error> {
    in_bulk(c).await
}
