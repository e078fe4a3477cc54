//! The rules of assignment, written once: which devices may take a job now, in which order
//! they are offered one, which queued jobs fit a device and in which order. The one-by-one
//! queries here and the bulk statement in [`super::bulk`] are both built from these
//! fragments, so they cannot drift apart.
//!
//! Aliases: `d` devices, `t` device types, `w` workers, `j` jobs.

use crate::{Db, Error};
use lava_common::ids::{DeviceName, DeviceTypeName, JobId, WorkerName};

/// Devices with their type and worker.
pub(super) const DEVICES: &str = "FROM devices d
    JOIN device_types t ON t.name = d.device_type
    JOIN workers w ON w.hostname = d.worker_host";

/// Idle, listed by its worker's latest poll (it has the `.conf`), the worker online and
/// active.
pub(super) const IDLE_ON_ACTIVE_WORKER: &str = "d.state = 'idle' AND d.worker_reported
    AND w.state = 'online' AND w.health = 'active'";

/// May take an ordinary job: health good, or unknown when the type has no health check to
/// run first.
pub(super) const TAKES_JOBS: &str = "(d.health = 'good'
    OR (d.health = 'unknown' AND (t.health_check_job IS NULL OR t.disable_health_check)))";

/// The order in which idle devices are offered a job: devices with more tags first, so
/// tagged jobs find them before untagged jobs take them.
pub(super) const DEVICE_ORDER: &str = "cardinality(d.tags) DESC, d.hostname";

/// The condition for a job that waits for a device (`j` is `jobs`).
pub(super) const QUEUED: &str = "j.state = 'submitted'";

/// The order in which queued jobs are taken: highest priority first, then oldest.
pub(super) const JOB_ORDER: &str = "j.priority DESC, j.submit_time, j.id";

/// A device whose health check is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckDue {
    /// The device, idle on an active worker and locked for this pass.
    pub device: DeviceName,
    /// Its type, whose health check job [`definition`](Self::definition) is.
    pub device_type: DeviceTypeName,
    /// Its worker, which the health check's assignment wakes.
    pub worker: WorkerName,
    /// The type's health check job definition.
    pub definition: String,
}

/// An idle device that may take an ordinary job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleDevice {
    /// The device, idle on an active worker and locked for this pass.
    pub hostname: DeviceName,
    /// Its type: it takes the jobs that ask for this type.
    pub device_type: DeviceTypeName,
    /// Its tags: it takes only jobs whose tags are all among them.
    pub tags: Vec<String>,
    /// Its worker, whose [`job_limit`](Self::job_limit) applies.
    pub worker: WorkerName,
    /// The worker's job limit (0: none).
    pub job_limit: i32,
    /// Devices of the worker that are not idle (each holds a job) when this was read,
    /// counted only when the worker has a job limit (0 otherwise).
    pub busy_on_worker: i64,
}

/// Devices that need a health check before any other job: health unknown or looping, or the
/// last check older than the type's frequency (in hours or in jobs). A device whose last
/// checks failed waits first: `retry_delay` after the end of the last one, doubled for each
/// further failure in a row, at most `retry_delay_max`. Locked, skipping rows another pass
/// holds.
pub async fn health_checks_due(
    c: &impl Db,
    retry_delay: std::time::Duration,
    retry_delay_max: std::time::Duration,
) -> Result<Vec<HealthCheckDue>, Error> {
    let sql = format!(
        "SELECT d.hostname, d.device_type, d.worker_host, t.health_check_job {DEVICES}
         WHERE {IDLE_ON_ACTIVE_WORKER}
           AND t.health_check_job IS NOT NULL AND NOT t.disable_health_check
           AND (d.health IN ('unknown', 'looping')
             OR (d.health = 'good' AND t.health_denominator = 'hours' AND coalesce(
                   (SELECT max(j.end_time) FROM jobs j
                     WHERE j.actual_device = d.hostname AND j.health_check AND j.health = 'complete'),
                   '-infinity') < now() - make_interval(hours => t.health_frequency))
             OR (d.health = 'good' AND t.health_denominator = 'jobs' AND
                   (SELECT count(*) FROM jobs j
                     WHERE j.actual_device = d.hostname AND NOT j.health_check AND j.state = 'finished'
                       AND j.id > coalesce(d.last_health_report_job, 0)) >= t.health_frequency))
           AND (d.health_check_failures = 0 OR coalesce(
                 (SELECT j.end_time FROM jobs j WHERE j.id = d.last_health_report_job),
                 '-infinity') + make_interval(secs => least(
                     $1::float8 * power(2, least(d.health_check_failures - 1, 40)), $2::float8))
               <= now())
         ORDER BY d.hostname
         FOR UPDATE OF d SKIP LOCKED"
    );
    let (delay, max) = (retry_delay.as_secs_f64(), retry_delay_max.as_secs_f64());
    let rows = c.query(&sql, &[&delay, &max]).await?;
    rows.iter()
        .map(|r| {
            Ok(HealthCheckDue {
                device: r.try_get("hostname")?,
                device_type: r.try_get("device_type")?,
                worker: r.try_get("worker_host")?,
                definition: r.try_get("health_check_job")?,
            })
        })
        .collect()
}

/// Idle devices that may take ordinary jobs, in [`DEVICE_ORDER`], leaving out those whose
/// worker already holds its job limit. Locked, skipping rows another pass holds.
///
/// Only the devices returned are locked: when every device is busy or waits for its worker's
/// limit, the pass locks nothing, so it writes nothing and its commit has nothing to flush
/// (locking the waiting devices every pass cost more than the rest of a steady pass). The
/// busy devices are counted once for each worker with a limit, before the join: counted
/// beside each idle device, they were counted again for every one of them.
pub async fn idle_devices(c: &impl Db) -> Result<Vec<IdleDevice>, Error> {
    let sql = format!(
        "WITH w AS MATERIALIZED (
            SELECT hostname, state, health, job_limit, CASE WHEN job_limit > 0 THEN (
                SELECT count(*) FROM devices x
                WHERE x.worker_host = workers.hostname AND x.state <> 'idle') ELSE 0 END AS busy
            FROM workers)
         SELECT d.hostname, d.device_type, d.tags, d.worker_host, w.job_limit, w.busy
         FROM devices d JOIN device_types t ON t.name = d.device_type
         JOIN w ON w.hostname = d.worker_host
         WHERE {IDLE_ON_ACTIVE_WORKER} AND {TAKES_JOBS} AND (w.job_limit <= 0 OR w.busy < w.job_limit)
         ORDER BY {DEVICE_ORDER}
         FOR UPDATE OF d SKIP LOCKED"
    );
    let rows = c.query(&sql, &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(IdleDevice {
                hostname: r.try_get("hostname")?,
                device_type: r.try_get("device_type")?,
                tags: r.try_get("tags")?,
                worker: r.try_get("worker_host")?,
                job_limit: r.try_get("job_limit")?,
                busy_on_worker: r.try_get("busy")?,
            })
        })
        .collect()
}

/// The best queued job for a device, in [`JOB_ORDER`]: asking for it by name, or for its
/// type, with tags the device has. Locked; a job another pass holds is skipped this time.
/// (Two branches, so each uses its queue index.)
pub async fn best_job(c: &impl Db, d: &IdleDevice) -> Result<Option<JobId>, Error> {
    let sql = format!(
        "SELECT id FROM (
            (SELECT j.id, j.priority, j.submit_time FROM jobs j
              WHERE {QUEUED} AND j.requested_device = $1 AND j.tags <@ $3
              ORDER BY {JOB_ORDER} LIMIT 1)
            UNION ALL
            (SELECT j.id, j.priority, j.submit_time FROM jobs j
              WHERE {QUEUED} AND j.requested_device IS NULL
                AND j.requested_device_type = $2 AND j.tags <@ $3
              ORDER BY {JOB_ORDER} LIMIT 1)
         ) j ORDER BY {JOB_ORDER} LIMIT 1"
    );
    let row = c
        .query_opt(&sql, &[&d.hostname, &d.device_type, &d.tags])
        .await?;
    let Some(row) = row else { return Ok(None) };
    let id: JobId = row.try_get("id")?;
    let locked = c
        .query_opt(
            "SELECT id FROM jobs WHERE id = $1 AND state = 'submitted' FOR UPDATE SKIP LOCKED",
            &[&id],
        )
        .await?;
    Ok(locked.map(|_| id))
}
