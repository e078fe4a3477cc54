//! Devices and their health.

use lava_common::fixture::DeviceRecord;
use lava_common::state::{DeviceHealth, DeviceState};
use tokio_postgres::{GenericClient, Row};

use crate::{Error, transitions};

/// A device as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// The hostname.
    pub hostname: String,
    /// Its type.
    pub device_type: String,
    /// Free text.
    pub description: String,
    /// Tag names.
    pub tags: Vec<String>,
    /// What it is doing.
    pub state: DeviceState,
    /// Whether it may take jobs.
    pub health: DeviceHealth,
    /// The worker an admin assigned it to (or the approved worker that reported it first).
    pub worker_host: Option<String>,
    /// That worker's latest poll listed the device's `.conf` (only then may it take jobs).
    pub worker_reported: bool,
    /// The job it runs, if any.
    pub current_job: Option<i64>,
}

impl Device {
    /// The fixture record for this device (for `dumpdata`).
    pub fn to_record(&self) -> DeviceRecord {
        DeviceRecord {
            hostname: self.hostname.clone(),
            device_type: self.device_type.clone(),
            description: self.description.clone(),
            tags: self.tags.clone(),
            state: self.state,
            health: self.health,
            worker_host: self.worker_host.clone(),
        }
    }
}

const SELECT: &str = "SELECT hostname, device_type, description, tags, state, health, worker_host,
        coalesce(worker_reported, false) AS worker_reported, current_job_id FROM devices";

fn from_row(row: &Row) -> Result<Device, Error> {
    Ok(Device {
        hostname: row.try_get("hostname")?,
        device_type: row.try_get("device_type")?,
        description: row.try_get("description")?,
        tags: row.try_get("tags")?,
        state: row.try_get("state")?,
        health: row.try_get("health")?,
        worker_host: row.try_get("worker_host")?,
        worker_reported: row.try_get("worker_reported")?,
        current_job: row.try_get("current_job_id")?,
    })
}

/// Every device, by hostname.
pub async fn list(c: &impl GenericClient) -> Result<Vec<Device>, Error> {
    let rows = c.query(&format!("{SELECT} ORDER BY hostname"), &[]).await?;
    rows.iter().map(from_row).collect()
}

/// One device, if it exists.
pub async fn get(c: &impl GenericClient, hostname: &str) -> Result<Option<Device>, Error> {
    let row = c
        .query_opt(&format!("{SELECT} WHERE hostname = $1"), &[&hostname])
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Adds a new idle device; fails naming the device if it exists.
pub async fn add(c: &impl GenericClient, d: &DeviceRecord) -> Result<(), Error> {
    let n = c
        .execute(
            "INSERT INTO devices (hostname, device_type, description, tags, health, worker_host)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hostname) DO NOTHING",
            &[
                &d.hostname,
                &d.device_type,
                &d.description,
                &d.tags,
                &d.health,
                &d.worker_host,
            ],
        )
        .await?;
    if n == 0 {
        return Err(Error::AlreadyExists {
            what: "device",
            key: d.hostname.clone(),
        });
    }
    Ok(())
}

/// Inserts a device or updates an existing one's fields (fixture loading). A device that is
/// running a job keeps its state and job; its health change is recorded as a transition.
pub async fn upsert(c: &impl GenericClient, d: &DeviceRecord, reason: &str) -> Result<(), Error> {
    let before = get(c, &d.hostname).await?;
    c.execute(
        "INSERT INTO devices (hostname, device_type, description, tags, health, worker_host)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (hostname) DO UPDATE SET device_type = EXCLUDED.device_type,
            description = EXCLUDED.description, tags = EXCLUDED.tags,
            health = EXCLUDED.health, worker_host = EXCLUDED.worker_host,
            worker_reported = CASE WHEN devices.worker_host IS NOT DISTINCT FROM EXCLUDED.worker_host
                THEN devices.worker_reported END",
        &[
            &d.hostname,
            &d.device_type,
            &d.description,
            &d.tags,
            &d.health,
            &d.worker_host,
        ],
    )
    .await?;
    if let Some(old) = before.filter(|old| old.health != d.health) {
        let change = transitions::DeviceChange {
            device: &d.hostname,
            state: (old.state, old.state),
            health: (old.health, d.health),
            job: None,
            actor: None,
            reason,
        };
        transitions::record_device(c, &change).await?;
    }
    Ok(())
}

/// Changes a device's health, recording who and why. Returns the old health.
///
/// The update names the health it read, so a concurrent change makes it fail visibly
/// instead of being overwritten.
pub async fn set_health(
    c: &impl GenericClient,
    hostname: &str,
    health: DeviceHealth,
    reason: &str,
    actor: Option<i64>,
) -> Result<DeviceHealth, Error> {
    let device = get(c, hostname).await?.ok_or_else(|| Error::NotFound {
        what: "device",
        key: hostname.to_string(),
    })?;
    if device.health == health {
        return Ok(health);
    }
    if !device.health.can_transition_to(health) {
        return Err(Error::Invalid(format!(
            "device '{hostname}' cannot go from {} to {health}",
            device.health
        )));
    }
    let n = c
        .execute(
            "UPDATE devices SET health = $3 WHERE hostname = $1 AND health = $2",
            &[&hostname, &device.health, &health],
        )
        .await?;
    if n == 0 {
        return Err(Error::Conflict(format!(
            "device '{hostname}' changed meanwhile; try again"
        )));
    }
    let change = transitions::DeviceChange {
        device: hostname,
        state: (device.state, device.state),
        health: (device.health, health),
        job: device.current_job,
        actor,
        reason,
    };
    transitions::record_device(c, &change).await?;
    Ok(device.health)
}

/// The health transitions of a device, newest first.
pub async fn health_history(
    c: &impl GenericClient,
    hostname: &str,
    limit: i64,
) -> Result<Vec<transitions::DeviceTransition>, Error> {
    transitions::device_history(c, hostname, limit).await
}

/// The last health check job of every device: (hostname, job id), by hostname.
pub async fn health_report_jobs(
    c: &impl GenericClient,
) -> Result<Vec<(String, Option<i64>)>, Error> {
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
    c: &impl GenericClient,
    hostname: &str,
    worker: Option<&str>,
) -> Result<Option<String>, Error> {
    if let Some(w) = worker
        && c.query_opt("SELECT 1 FROM workers WHERE hostname = $1", &[&w])
            .await?
            .is_none()
    {
        return Err(Error::NotFound {
            what: "worker",
            key: w.to_string(),
        });
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
        return Err(Error::NotFound {
            what: "device",
            key: hostname.to_string(),
        });
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
    /// The device.
    pub device: String,
    /// The worker that reports it.
    pub worker: String,
    /// The worker the device is assigned to, if any.
    pub assigned: Option<String>,
    /// When the worker first reported it.
    pub first_seen: chrono::DateTime<chrono::Utc>,
    /// Its latest report.
    pub last_seen: chrono::DateTime<chrono::Utc>,
}

/// Pending claims, by device then worker; only those on `device` when given.
pub async fn claims(c: &impl GenericClient, device: Option<&str>) -> Result<Vec<Claim>, Error> {
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
pub async fn set_description(
    c: &impl GenericClient,
    hostname: &str,
    description: &str,
) -> Result<(), Error> {
    let n = c
        .execute(
            "UPDATE devices SET description = $2 WHERE hostname = $1",
            &[&hostname, &description],
        )
        .await?;
    if n == 0 {
        return Err(Error::NotFound {
            what: "device",
            key: hostname.to_string(),
        });
    }
    Ok(())
}
