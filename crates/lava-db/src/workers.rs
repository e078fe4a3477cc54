//! Workers: the hosts that run `lava-dispatcher worker`. Their state (heartbeats) and health
//! change in [`crate::lifecycle::worker`].

use chrono::{DateTime, Utc};
use lava_common::fixture::WorkerRecord;
use lava_common::ids::{DeviceName, WorkerName};
use lava_common::state::{WorkerHealth, WorkerState};
use tokio_postgres::Row;

use crate::{Db, Error};

/// A worker as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Worker {
    /// The name it authenticates and polls as, which devices' `worker_host` names.
    pub hostname: WorkerName,
    /// The admin's words about it; nothing reads it.
    pub description: String,
    /// Online or offline, from heartbeats.
    pub state: WorkerState,
    /// `active`, `maintenance` or `retired`: set by admins (pages, `manage`, fixtures), never
    /// by the worker itself, unlike `state`.
    pub health: WorkerHealth,
    /// When its last poll arrived; `None` before the first. Silence past the scheduler's
    /// worker timeout makes it offline.
    pub last_ping: Option<DateTime<Utc>>,
    /// Jobs it may run at once (0: no limit).
    pub job_limit: i32,
    /// A token was issued, so it can poll; only the token's hash is stored.
    pub has_token: bool,
    /// Number of devices assigned to it.
    pub devices: i64,
    /// A superuser approved it: the `.conf` files it reports claim unassigned devices.
    pub approved: bool,
    /// Devices it reports that are not assigned to it (waiting for an admin).
    pub pending_claims: i64,
    /// The version its latest poll reported.
    pub version: Option<String>,
}

const SELECT: &str = "SELECT w.hostname, w.description, w.state, w.health, w.last_ping,
        w.job_limit, w.token_hash IS NOT NULL AS has_token, w.approved, w.version,
        (SELECT count(*) FROM devices d WHERE d.worker_host = w.hostname) AS devices,
        (SELECT count(*) FROM device_claims dc WHERE dc.worker = w.hostname) AS pending_claims
    FROM workers w";

fn from_row(row: &Row) -> Result<Worker, Error> {
    Ok(Worker {
        hostname: row.try_get("hostname")?,
        description: row.try_get("description")?,
        state: row.try_get("state")?,
        health: row.try_get("health")?,
        last_ping: row.try_get("last_ping")?,
        job_limit: row.try_get("job_limit")?,
        has_token: row.try_get("has_token")?,
        devices: row.try_get("devices")?,
        approved: row.try_get("approved")?,
        pending_claims: row.try_get("pending_claims")?,
        version: row.try_get("version")?,
    })
}

/// Every worker, by hostname.
pub async fn list(c: &impl Db) -> Result<Vec<Worker>, Error> {
    let rows = c
        .query(&format!("{SELECT} ORDER BY w.hostname"), &[])
        .await?;
    rows.iter().map(from_row).collect()
}

/// One worker, if it exists.
pub async fn get(c: &impl Db, hostname: &WorkerName) -> Result<Option<Worker>, Error> {
    let row = c
        .query_opt(&format!("{SELECT} WHERE w.hostname = $1"), &[&hostname])
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Creates a worker with the hash of its token. A worker that exists without a token (loaded
/// from a fixture) is given one; a worker that already has a token is an error, so a token is
/// never replaced by accident.
pub async fn add(
    c: &impl Db,
    hostname: &WorkerName,
    description: &str,
    token_hash: &str,
) -> Result<(), Error> {
    let n = c
        .execute(
            "INSERT INTO workers (hostname, description, token_hash) VALUES ($1, $2, $3)
             ON CONFLICT (hostname) DO UPDATE SET token_hash = EXCLUDED.token_hash
             WHERE workers.token_hash IS NULL",
            &[&hostname, &description, &token_hash],
        )
        .await?;
    if n == 0 {
        return Err(Error::AlreadyExists {
            what: "worker",
            key: hostname.to_string(),
        });
    }
    Ok(())
}

/// Removes a worker and its token; its devices and jobs keep their rows, without a worker
/// (the foreign keys set it to NULL). Returns whether it existed.
pub async fn remove(c: &impl Db, hostname: &str) -> Result<bool, Error> {
    let n = c
        .execute("DELETE FROM workers WHERE hostname = $1", &[&hostname])
        .await?;
    Ok(n == 1)
}

/// The fixture record of a worker (for `dumpdata`).
pub fn to_record(w: &Worker) -> WorkerRecord {
    WorkerRecord {
        hostname: w.hostname.clone(),
        description: w.description.clone(),
        health: w.health,
        job_limit: w.job_limit,
    }
}

/// The worker that owns a token (by its hash).
pub async fn by_token(c: &impl Db, token_hash: &str) -> Result<Option<Worker>, Error> {
    let row = c
        .query_opt(&format!("{SELECT} WHERE w.token_hash = $1"), &[&token_hash])
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// What came of a worker's list of devices (see [`report_devices`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceReport {
    /// Devices this (approved) worker took: unassigned, or left out by their worker.
    pub taken: Vec<DeviceName>,
    /// Devices it reported that are not its own: recorded as pending claims.
    pub pending: Vec<DeviceName>,
    /// Those of `pending` it reported for the first time.
    pub new_claims: Vec<DeviceName>,
    /// Names the database does not know.
    pub unknown: Vec<DeviceName>,
}

/// Records the devices a worker reports (the `.conf` files on its host). Its own devices
/// are marked present or absent. A worker a superuser approved takes, when idle, a device
/// that has no worker, or whose worker's latest poll left it out (its `.conf` was moved here,
/// the seed's way of moving a device); a device whose worker still reports it, or any device
/// named by an unapproved worker, is a pending claim for an admin to decide on.
pub async fn report_devices(
    c: &impl Db,
    hostname: &WorkerName,
    devices: &[DeviceName],
) -> Result<DeviceReport, Error> {
    let approved: bool = c
        .query_one(
            "SELECT approved FROM workers WHERE hostname = $1",
            &[&hostname],
        )
        .await?
        .try_get("approved")?;
    let mut report = DeviceReport::default();
    if approved {
        let rows = c
            .query(
                "UPDATE devices SET worker_host = $1, worker_reported = true
                 WHERE hostname = ANY($2) AND state = 'idle'
                   AND (worker_host IS NULL OR (worker_host <> $1 AND worker_reported = false))
                 RETURNING hostname",
                &[&hostname, &devices],
            )
            .await?;
        for r in &rows {
            report.taken.push(r.try_get("hostname")?);
        }
    }
    let newly_present = c
        .execute(
            "UPDATE devices SET worker_reported = (hostname = ANY($2))
             WHERE worker_host = $1 AND worker_reported IS DISTINCT FROM (hostname = ANY($2))",
            &[&hostname, &devices],
        )
        .await?;
    c.execute(
        "DELETE FROM device_claims dc WHERE dc.worker = $1 AND (NOT (dc.device = ANY($2))
            OR EXISTS (SELECT 1 FROM devices d WHERE d.hostname = dc.device AND d.worker_host = $1))",
        &[&hostname, &devices],
    )
    .await?;
    let rows = c
        .query(
            "INSERT INTO device_claims (device, worker)
             SELECT d.hostname, $1 FROM devices d
             WHERE d.hostname = ANY($2) AND d.worker_host IS DISTINCT FROM $1
             ON CONFLICT (device, worker) DO UPDATE SET last_seen = now()
             RETURNING device, first_seen = last_seen AS new",
            &[&hostname, &devices],
        )
        .await?;
    for r in &rows {
        let device: DeviceName = r.try_get("device")?;
        if r.try_get("new")? {
            report.new_claims.push(device.clone());
        }
        report.pending.push(device);
    }
    report.pending.sort();
    report.new_claims.sort();
    let rows = c
        .query(
            "SELECT name FROM unnest($1::text[]) AS name
             WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.hostname = name)",
            &[&devices],
        )
        .await?;
    for r in &rows {
        report.unknown.push(r.try_get("name")?);
    }
    if newly_present > 0 || !report.taken.is_empty() {
        crate::notify::send(
            c,
            crate::notify::SCHEDULER,
            &format!("worker {hostname} devices"),
        )
        .await?;
    }
    Ok(report)
}

/// Approves a worker (or withdraws the approval); returns whether it was approved before.
pub async fn set_approved(
    c: &impl Db,
    hostname: &WorkerName,
    approved: bool,
) -> Result<bool, Error> {
    let row = c
        .query_opt(
            "UPDATE workers w SET approved = $2
             FROM (SELECT approved FROM workers WHERE hostname = $1 FOR UPDATE) old
             WHERE w.hostname = $1 RETURNING old.approved AS was",
            &[&hostname, &approved],
        )
        .await?;
    match row {
        Some(r) => Ok(r.try_get("was")?),
        None => Err(Error::not_found("worker", hostname)),
    }
}
