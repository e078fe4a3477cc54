//! Bulk assignment: every queued job of a "plain" device type paired with an idle device in
//! one statement, from the same rules as the one-by-one pass ([`super::rules`]).
//!
//! A type is plain when none of its queued jobs names tags or a device and none of its
//! devices is on a worker with a job limit. There every job fits every ready device of the
//! type and every device takes one, so the one-by-one pass, offering devices in
//! [`DEVICE_ORDER`] the best job each, gives the k-th job in [`JOB_ORDER`] to the k-th device:
//! which a window function computes for all types at once. Everything else is left to the
//! one-by-one pass. Tags, requested devices and job limits are the next to move here
//! (set-based), each kept honest by the property test that holds both passes equal.

use super::Assignment;
use super::rules::{DEVICE_ORDER, DEVICES, IDLE_ON_ACTIVE_WORKER, JOB_ORDER, QUEUED, TAKES_JOBS};
use crate::{Db, Error};

/// The pairs of plain types, locked (jobs and devices another pass holds are skipped).
pub(super) async fn pairs(c: &impl Db) -> Result<Vec<Assignment>, Error> {
    let sql = format!(
        "WITH plain_types AS (
            SELECT t.name FROM device_types t
            WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE {QUEUED}
                                AND j.requested_device_type = t.name AND cardinality(j.tags) > 0)
              AND NOT EXISTS (SELECT 1 FROM jobs j JOIN devices x ON x.hostname = j.requested_device
                               WHERE {QUEUED} AND x.device_type = t.name)
              AND NOT EXISTS (SELECT 1 FROM devices x JOIN workers xw ON xw.hostname = x.worker_host
                               WHERE x.device_type = t.name AND xw.job_limit > 0)
        ),
        ready AS (
            SELECT d.hostname, d.device_type, d.worker_host, d.tags
            {DEVICES}
            JOIN plain_types p ON p.name = d.device_type
            WHERE {IDLE_ON_ACTIVE_WORKER} AND {TAKES_JOBS}
            FOR UPDATE OF d SKIP LOCKED
        ),
        devs AS (
            SELECT d.hostname, d.device_type, d.worker_host,
                   row_number() OVER (PARTITION BY d.device_type ORDER BY {DEVICE_ORDER}) AS rn
            FROM ready d
        ),
        ranked AS (
            SELECT j.id, j.requested_device_type,
                   row_number() OVER (PARTITION BY j.requested_device_type ORDER BY {JOB_ORDER}) AS rn
            FROM jobs j JOIN plain_types p ON p.name = j.requested_device_type
            WHERE {QUEUED} AND j.requested_device IS NULL
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
            WHERE {QUEUED}
            FOR UPDATE OF j SKIP LOCKED
        ),
        queued AS (
            SELECT w.id, w.requested_device_type,
                   row_number() OVER (PARTITION BY w.requested_device_type ORDER BY w.rn) AS rn
            FROM wanted w JOIN locked_jobs l ON l.id = w.id
        )
        SELECT q.id, d.hostname, d.worker_host
        FROM devs d JOIN queued q ON q.requested_device_type = d.device_type AND q.rn = d.rn
        ORDER BY q.id"
    );
    let rows = c.query(&sql, &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(Assignment {
                job: r.try_get("id")?,
                device: r.try_get("hostname")?,
                worker: r.try_get("worker_host")?,
            })
        })
        .collect()
}
