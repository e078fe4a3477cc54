//! A device's health set by an admin or by a fixture. (Its state follows its jobs: see
//! [`super::assign`], [`super::job`] and [`super::finish`].)

use lava_common::fixture::DeviceRecord;
use lava_common::ids::{DeviceName, JobId};
use lava_common::state::{DeviceHealth, DeviceState};

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
            // An admin's judgement starts the count of failed health checks again.
            (", health_check_failures = 0", "", &[]),
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

/// Makes bad every idle device whose last `failures` health checks or more all failed
/// (`[health_checks] failures_to_bad`), with a reason naming the count and the last check.
/// Returns the devices and their last check. Locked rows another pass holds are skipped.
pub async fn give_up_failing(
    c: &impl Db,
    failures: i32,
) -> Result<Vec<(DeviceName, Option<JobId>)>, Error> {
    let rows = c
        .query(
            "SELECT hostname, health, health_check_failures, last_health_report_job FROM devices
             WHERE state = 'idle' AND health IN ('unknown', 'looping')
               AND health_check_failures >= $1
             ORDER BY hostname FOR UPDATE SKIP LOCKED",
            &[&failures],
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let hostname: DeviceName = r.try_get("hostname")?;
        let health: DeviceHealth = r.try_get("health")?;
        let count: i32 = r.try_get("health_check_failures")?;
        let last: Option<JobId> = r.try_get("last_health_report_job")?;
        let last_text = last.map_or_else(|| "none".to_string(), |j| format!("job {j}"));
        let reason = format!(
            "{count} health checks failed in a row (the last: {last_text}); \
             [health_checks] failures_to_bad is {failures}"
        );
        let idle = DeviceState::Idle;
        let mv = DeviceMove::new(&hostname, (idle, health), (idle, DeviceHealth::Bad))?;
        let cond = (
            "",
            " AND health_check_failures = $6",
            &[&count as &(dyn postgres_types::ToSql + Sync)][..],
        );
        if mv.write(c, &hostname, cond, last, None, &reason).await? {
            out.push((hostname, last));
        }
    }
    Ok(out)
}

/// Inserts a device from a fixture record, or updates an existing one's fields. A device
/// that is running a job keeps its state and job; a change of health goes through
/// [`set_health`]'s rules and is recorded with `reason`.
pub async fn load(c: &impl Db, d: &DeviceRecord, reason: &str) -> Result<(), Error> {
    let before = devices::get(c, &d.hostname).await?;
    c.execute(
        &format!(
            "{} ON CONFLICT (hostname) DO UPDATE SET device_type = EXCLUDED.device_type,
                description = EXCLUDED.description, tags = EXCLUDED.tags,
                worker_host = EXCLUDED.worker_host,
                worker_reported = CASE WHEN devices.worker_host IS NOT DISTINCT FROM EXCLUDED.worker_host
                    THEN devices.worker_reported END",
            devices::INSERT
        ),
        &devices::insert_params(d),
    )
    .await?;
    if before.is_some_and(|old| old.info.health != d.health) {
        set_health(c, &d.hostname, d.health, reason, None).await?;
    }
    Ok(())
}
