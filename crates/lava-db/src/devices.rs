//! Devices. Their state and health change in [`crate::lifecycle`].

use lava_common::fixture::DeviceRecord;
use lava_common::ids::{DeviceName, JobId, WorkerName};
use tokio_postgres::Row;

use crate::{Db, Error, transitions};

/// A device as stored: its record (the fields a fixture holds) and what the runtime adds.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Hostname, type, description, tags, state, health and worker.
    pub info: DeviceRecord,
    /// The worker's latest poll listed the device's `.conf` (only then may it take jobs).
    pub worker_reported: bool,
    /// The job it runs, if any.
    pub current_job: Option<JobId>,
}

/// The columns of a [`DeviceRecord`], from `devices d`.
pub(crate) const RECORD_COLUMNS: &str =
    "d.hostname, d.device_type, d.description, d.tags, d.state, d.health, d.worker_host";

/// The [`DeviceRecord`] of a row that has [`RECORD_COLUMNS`].
pub(crate) fn record_from_row(row: &Row) -> Result<DeviceRecord, Error> {
    Ok(DeviceRecord {
        hostname: row.try_get("hostname")?,
        device_type: row.try_get("device_type")?,
        description: row.try_get("description")?,
        tags: row.try_get("tags")?,
        state: row.try_get("state")?,
        health: row.try_get("health")?,
        worker_host: row.try_get("worker_host")?,
    })
}

fn select() -> String {
    format!(
        "SELECT {RECORD_COLUMNS}, coalesce(d.worker_reported, false) AS worker_reported,
            d.current_job_id FROM devices d"
    )
}

fn from_row(row: &Row) -> Result<Device, Error> {
    Ok(Device {
        info: record_from_row(row)?,
        worker_reported: row.try_get("worker_reported")?,
        current_job: row.try_get("current_job_id")?,
    })
}

/// Every device, by hostname.
pub async fn list(c: &impl Db) -> Result<Vec<Device>, Error> {
    let rows = c
        .query(&format!("{} ORDER BY d.hostname", select()), &[])
        .await?;
    rows.iter().map(from_row).collect()
}

/// One device, if it exists.
pub async fn get(c: &impl Db, hostname: &DeviceName) -> Result<Option<Device>, Error> {
    let row = c
        .query_opt(&format!("{} WHERE d.hostname = $1", select()), &[&hostname])
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A device row's columns, as `$1` to `$6` from [`insert_params`]; [`add`] and
/// [`crate::lifecycle::device::load`] each add their own `ON CONFLICT`.
pub(crate) const INSERT: &str =
    "INSERT INTO devices (hostname, device_type, description, tags, health, worker_host)
     VALUES ($1, $2, $3, $4, $5, $6)";

/// `d` as the parameters of [`INSERT`].
pub(crate) fn insert_params(d: &DeviceRecord) -> [&(dyn tokio_postgres::types::ToSql + Sync); 6] {
    [
        &d.hostname,
        &d.device_type,
        &d.description,
        &d.tags,
        &d.health,
        &d.worker_host,
    ]
}

/// Adds a new idle device; fails naming the device if it exists.
pub async fn add(c: &impl Db, d: &DeviceRecord) -> Result<(), Error> {
    let n = c
        .execute(
            &format!("{INSERT} ON CONFLICT (hostname) DO NOTHING"),
            &insert_params(d),
        )
        .await?;
    if n == 0 {
        return Err(Error::AlreadyExists {
            what: "device",
            key: d.hostname.to_string(),
        });
    }
    Ok(())
}

/// The health transitions of a device, newest first.
pub async fn health_history(
    c: &impl Db,
    hostname: &DeviceName,
    limit: i64,
) -> Result<Vec<transitions::DeviceTransition>, Error> {
    transitions::device_history(c, hostname, limit).await
}

/// The last health check job of every device: (hostname, job id), by hostname.
pub async fn health_report_jobs(c: &impl Db) -> Result<Vec<(DeviceName, Option<JobId>)>, Error> {
    let rows = c
        .query(
            "SELECT hostname, last_health_report_job FROM devices ORDER BY hostname",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("hostname")?, r.try_get("last_health_report_job")?)))
        .collect()
}

/// Assigns a device to a worker (`None`: to no worker), the admin's decision that reports
/// from other workers never override while this one has the device's `.conf`. Returns the
/// worker it had. The device counts as present on the new worker at once when that worker's
/// latest poll already reported it (a pending claim); otherwise from the worker's next poll.
/// Pending claims on the device by the new worker are settled.
pub async fn set_worker(
    c: &impl Db,
    hostname: &DeviceName,
    worker: Option<&WorkerName>,
) -> Result<Option<WorkerName>, Error> {
    if let Some(w) = worker
        && c.query_opt("SELECT 1 FROM workers WHERE hostname = $1", &[&w])
            .await?
            .is_none()
    {
        return Err(Error::not_found("worker", w));
    }
    let row = c
        .query_opt(
            "UPDATE devices d SET worker_host = $2,
                worker_reported = CASE WHEN d.worker_host IS NOT DISTINCT FROM $2 THEN d.worker_reported
                    WHEN EXISTS (SELECT 1 FROM device_claims dc WHERE dc.device = $1 AND dc.worker = $2)
                    THEN true END
             FROM (SELECT worker_host FROM devices WHERE hostname = $1 FOR UPDATE) old
             WHERE d.hostname = $1 RETURNING old.worker_host AS was",
            &[&hostname, &worker],
        )
        .await?;
    let Some(row) = row else {
        return Err(Error::not_found("device", hostname));
    };
    c.execute(
        "DELETE FROM device_claims WHERE device = $1 AND worker = $2",
        &[&hostname, &worker],
    )
    .await?;
    crate::notify::send(
        c,
        crate::notify::SCHEDULER,
        &format!("device {hostname} worker"),
    )
    .await?;
    Ok(row.try_get("was")?)
}

/// A worker reported a device that is not assigned to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The device, assigned to another worker or to none.
    pub device: DeviceName,
    /// The worker that reports it.
    pub worker: WorkerName,
    /// The worker the device is assigned to, if any.
    pub assigned: Option<WorkerName>,
    /// When the worker first reported it.
    pub first_seen: chrono::DateTime<chrono::Utc>,
    /// Its latest report.
    pub last_seen: chrono::DateTime<chrono::Utc>,
}

/// Pending claims, by device then worker; only those on `device` when given.
pub async fn claims(c: &impl Db, device: Option<&DeviceName>) -> Result<Vec<Claim>, Error> {
    let rows = c
        .query(
            "SELECT dc.device, dc.worker, d.worker_host, dc.first_seen, dc.last_seen
             FROM device_claims dc JOIN devices d ON d.hostname = dc.device
             WHERE $1::text IS NULL OR dc.device = $1 ORDER BY dc.device, dc.worker",
            &[&device],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Claim {
                device: r.try_get("device")?,
                worker: r.try_get("worker")?,
                assigned: r.try_get("worker_host")?,
                first_seen: r.try_get("first_seen")?,
                last_seen: r.try_get("last_seen")?,
            })
        })
        .collect()
}

/// Sets a device's description; `NotFound` names it when it does not exist.
pub async fn set_description(c: &impl Db, hostname: &str, description: &str) -> Result<(), Error> {
    let n = c
        .execute(
            "UPDATE devices SET description = $2 WHERE hostname = $1",
            &[&hostname, &description],
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found("device", hostname));
    }
    Ok(())
}
