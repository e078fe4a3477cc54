//! A device's health set by an admin or by a fixture. (Its state follows its jobs: see
//! [`super::assign`], [`super::job`] and [`super::finish`].)

use lava_common::fixture::DeviceRecord;
use lava_common::ids::DeviceName;
use lava_common::state::DeviceHealth;

use super::moves::DeviceMove;
use crate::{Db, Error, devices};

/// Changes a device's health, recording who and why. Returns the old health; setting the
/// health it has changes nothing. A change the health rules forbid (a retired device back to
/// good without a check) is refused naming both.
pub async fn set_health(
    c: &impl Db,
    hostname: &DeviceName,
    health: DeviceHealth,
    reason: &str,
    actor: Option<i64>,
) -> Result<DeviceHealth, Error> {
    let device = devices::get(c, hostname)
        .await?
        .ok_or_else(|| Error::not_found("device", hostname))?;
    if device.info.health == health {
        return Ok(health);
    }
    let from = (device.info.state, device.info.health);
    let mv = DeviceMove::new(hostname, from, (device.info.state, health))?;
    if !mv
        .write(
            c,
            hostname,
            ("", "", &[]),
            device.current_job,
            actor,
            reason,
        )
        .await?
    {
        return Err(Error::Conflict(format!(
            "device '{hostname}' changed meanwhile; try again"
        )));
    }
    Ok(device.info.health)
}

/// Inserts a device from a fixture record, or updates an existing one's fields. A device
/// that is running a job keeps its state and job; a change of health goes through
/// [`set_health`]'s rules and is recorded with `reason`.
pub async fn load(c: &impl Db, d: &DeviceRecord, reason: &str) -> Result<(), Error> {
    let before = devices::get(c, &d.hostname).await?;
    c.execute(
        "INSERT INTO devices (hostname, device_type, description, tags, health, worker_host)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (hostname) DO UPDATE SET device_type = EXCLUDED.device_type,
            description = EXCLUDED.description, tags = EXCLUDED.tags,
            worker_host = EXCLUDED.worker_host,
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
    if before.is_some_and(|old| old.info.health != d.health) {
        set_health(c, &d.hostname, d.health, reason, None).await?;
    }
    Ok(())
}
