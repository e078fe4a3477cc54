//! The scheduler's queries: what is due, what is idle, and the best queued job for a device.
//! Rows are locked with `FOR UPDATE SKIP LOCKED`, so two schedulers running a pass at once
//! (which the advisory lock should prevent anyway) can never hand one device two jobs.

use crate::{Db, Error};

/// A device whose health check is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckDue {
    /// The device.
    pub device: String,
    /// Its type.
    pub device_type: String,
    /// Its worker.
    pub worker: String,
    /// The type's health check job definition.
    pub definition: String,
}

/// An idle device that may take an ordinary job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleDevice {
    /// The device.
    pub hostname: String,
    /// Its type.
    pub device_type: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its worker.
    pub worker: String,
    /// The worker's job limit (0: none).
    pub job_limit: i32,
    /// Jobs the worker has now.
    pub busy_on_worker: i64,
}

/// The part of the device query both passes share: idle, on an online and active worker
/// that reports having the device's `.conf`.
const IDLE_ON_ACTIVE_WORKER: &str = "FROM devices d
    JOIN device_types t ON t.name = d.device_type
    JOIN workers w ON w.hostname = d.worker_host
    WHERE d.state = 'idle' AND d.worker_reported AND w.state = 'online' AND w.health = 'active'";

/// Devices that need a health check before any other job: health unknown or looping, or the
/// last check older than the type's frequency (in hours or in jobs).
pub async fn health_checks_due(c: &impl Db) -> Result<Vec<HealthCheckDue>, Error> {
    let sql = format!(
        "SELECT d.hostname, d.device_type, d.worker_host, t.health_check_job {IDLE_ON_ACTIVE_WORKER}
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
         ORDER BY d.hostname
         FOR UPDATE OF d SKIP LOCKED"
    );
    let rows = c.query(&sql, &[]).await?;
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

/// Idle devices that may take ordinary jobs: health good, or unknown when the type has no
/// health check to run first. Devices with more tags come first, so tagged jobs find them.
pub async fn idle_devices(c: &impl Db) -> Result<Vec<IdleDevice>, Error> {
    let sql = format!(
        "SELECT d.hostname, d.device_type, d.tags, d.worker_host, w.job_limit,
            (SELECT count(*) FROM devices x WHERE x.worker_host = w.hostname AND x.state <> 'idle') AS busy
         {IDLE_ON_ACTIVE_WORKER}
           AND (d.health = 'good'
             OR (d.health = 'unknown' AND (t.health_check_job IS NULL OR t.disable_health_check)))
         ORDER BY cardinality(d.tags) DESC, d.hostname
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

/// The best queued job for a device: asking for it by name, or for its type, with tags the
/// device has; highest priority first, then oldest.
pub async fn best_job(c: &impl Db, d: &IdleDevice) -> Result<Option<i64>, Error> {
    let row = c
        .query_opt(
            "SELECT id FROM (
                (SELECT id, priority, submit_time FROM jobs
                  WHERE state = 'submitted' AND requested_device = $1 AND tags <@ $3
                  ORDER BY priority DESC, submit_time, id LIMIT 1)
                UNION ALL
                (SELECT id, priority, submit_time FROM jobs
                  WHERE state = 'submitted' AND requested_device IS NULL
                    AND requested_device_type = $2 AND tags <@ $3
                  ORDER BY priority DESC, submit_time, id LIMIT 1)
             ) best ORDER BY priority DESC, submit_time, id LIMIT 1",
            &[&d.hostname, &d.device_type, &d.tags],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let id: i64 = row.try_get("id")?;
    // Lock the job; a concurrent pass that holds it makes us skip it this time.
    let locked = c
        .query_opt(
            "SELECT id FROM jobs WHERE id = $1 AND state = 'submitted' FOR UPDATE SKIP LOCKED",
            &[&id],
        )
        .await?;
    Ok(locked.map(|_| id))
}

/// Workers online whose last heartbeat is older than `timeout_secs`.
pub async fn silent_workers(c: &impl Db, timeout_secs: f64) -> Result<Vec<String>, Error> {
    let rows = c
        .query(
            "SELECT hostname FROM workers WHERE state = 'online'
               AND last_ping < now() - make_interval(secs => $1) FOR UPDATE SKIP LOCKED",
            &[&timeout_secs],
        )
        .await?;
    rows.iter().map(|r| Ok(r.try_get("hostname")?)).collect()
}

/// Queued jobs older than `hours` (the queue timeout).
pub async fn stale_jobs(c: &impl Db, hours: f64) -> Result<Vec<i64>, Error> {
    let rows = c
        .query(
            "SELECT id FROM jobs WHERE state = 'submitted'
               AND submit_time < now() - make_interval(secs => $1::float8 * 3600) FOR UPDATE SKIP LOCKED",
            &[&hours],
        )
        .await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// Assigns queued jobs to idle devices in one statement, for the common case: device types
/// whose queued jobs name no tags and no device, on workers without a job limit. Within such
/// a type the k-th best job (priority, then age) goes to the k-th device in the order the
/// one-by-one pass uses, which is exactly what that pass would do, without a round trip per
/// device. Everything else is left to [`idle_devices`] and [`best_job`]. Returns
/// (job, device, worker) for each assignment; transitions are recorded and workers woken.
pub async fn assign_plain(c: &impl Db) -> Result<Vec<(i64, String, String)>, Error> {
    let rows = c
        .query(
            "WITH plain_types AS (
                SELECT t.name, t.health_check_job IS NULL OR t.disable_health_check AS unchecked
                FROM device_types t
                WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.state = 'submitted'
                                    AND j.requested_device_type = t.name AND cardinality(j.tags) > 0)
                  AND NOT EXISTS (SELECT 1 FROM jobs j JOIN devices x ON x.hostname = j.requested_device
                                   WHERE j.state = 'submitted' AND x.device_type = t.name)
            ),
            locked_devices AS (
                SELECT d.hostname, d.device_type, d.worker_host, d.health, d.tags
                FROM devices d
                JOIN plain_types t ON t.name = d.device_type
                JOIN workers w ON w.hostname = d.worker_host
                WHERE d.state = 'idle' AND d.worker_reported
                  AND w.state = 'online' AND w.health = 'active' AND w.job_limit = 0
                  AND (d.health = 'good' OR (d.health = 'unknown' AND t.unchecked))
                FOR UPDATE OF d SKIP LOCKED
            ),
            devs AS (
                SELECT hostname, device_type, worker_host, health,
                       row_number() OVER (PARTITION BY device_type
                                          ORDER BY cardinality(tags) DESC, hostname) AS rn
                FROM locked_devices
            ),
            ranked AS (
                SELECT j.id, j.requested_device_type,
                       row_number() OVER (PARTITION BY j.requested_device_type
                                          ORDER BY j.priority DESC, j.submit_time, j.id) AS rn
                FROM jobs j JOIN plain_types t ON t.name = j.requested_device_type
                WHERE j.state = 'submitted' AND j.requested_device IS NULL
            ),
            wanted AS (
                SELECT r.id, r.requested_device_type, r.rn
                FROM ranked r
                JOIN (SELECT device_type, count(*) AS n FROM devs GROUP BY device_type) free
                  ON free.device_type = r.requested_device_type
                WHERE r.rn <= free.n
            ),
            locked_jobs AS (
                SELECT j.id FROM jobs j JOIN wanted w ON w.id = j.id
                WHERE j.state = 'submitted'
                FOR UPDATE OF j SKIP LOCKED
            ),
            queued AS (
                SELECT w.id, w.requested_device_type,
                       row_number() OVER (PARTITION BY w.requested_device_type ORDER BY w.rn) AS rn
                FROM wanted w JOIN locked_jobs l ON l.id = w.id
            ),
            pairs AS (
                SELECT q.id, d.hostname, d.worker_host, d.health
                FROM devs d JOIN queued q ON q.requested_device_type = d.device_type AND q.rn = d.rn
            ),
            upd_jobs AS (
                UPDATE jobs j SET state = 'scheduled', actual_device = p.hostname, worker_host = p.worker_host
                FROM pairs p WHERE j.id = p.id AND j.state = 'submitted'
                RETURNING j.id
            ),
            upd_devices AS (
                UPDATE devices d SET state = 'reserved', current_job_id = p.id
                FROM pairs p WHERE d.hostname = p.hostname AND d.state = 'idle'
                RETURNING d.hostname
            ),
            job_log AS (
                INSERT INTO job_transitions (job_id, old_state, new_state, old_health, new_health, device, reason)
                SELECT p.id, 'submitted', 'scheduled', 'unknown', 'unknown', p.hostname, 'job ' || p.id || ' scheduled'
                FROM pairs p
            ),
            device_log AS (
                INSERT INTO device_transitions (device, old_state, new_state, old_health, new_health, job_id, reason)
                SELECT p.hostname, 'idle', 'reserved', p.health, p.health, p.id, 'job ' || p.id || ' scheduled'
                FROM pairs p
            ),
            woken AS (
                SELECT pg_notify('lava_worker', w) FROM (SELECT DISTINCT worker_host AS w FROM pairs) ws
            )
            SELECT p.id, p.hostname, p.worker_host,
                   (SELECT count(*) FROM upd_jobs) AS jobs, (SELECT count(*) FROM upd_devices) AS devices,
                   (SELECT count(*) FROM woken) AS woken
            FROM pairs p ORDER BY p.id",
            &[],
        )
        .await?;
    if let Some(r) = rows.first() {
        let (jobs, devices): (i64, i64) = (r.try_get("jobs")?, r.try_get("devices")?);
        if jobs != rows.len() as i64 || devices != rows.len() as i64 {
            // Both sides are locked above, so this cannot happen; refuse rather than commit
            // a job without its device.
            return Err(Error::Conflict(format!(
                "bulk assignment matched {} pairs but changed {jobs} jobs and {devices} devices",
                rows.len()
            )));
        }
    }
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("hostname")?,
                r.try_get("worker_host")?,
            ))
        })
        .collect()
}
