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
    /// Its worker, if attached.
    pub worker_host: Option<String>,
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
        current_job_id FROM devices";

fn from_row(row: &Row) -> Result<Device, Error> {
    Ok(Device {
        hostname: row.try_get("hostname")?,
        device_type: row.try_get("device_type")?,
        description: row.try_get("description")?,
        tags: row.try_get("tags")?,
        state: row.try_get("state")?,
        health: row.try_get("health")?,
        worker_host: row.try_get("worker_host")?,
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
            health = EXCLUDED.health, worker_host = EXCLUDED.worker_host",
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
