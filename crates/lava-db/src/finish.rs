//! The end of a job: its health, its device freed (and judged, after a health check or an
//! infrastructure error), every change recorded.

use lava_common::error_type::ErrorType;
use lava_common::state::{DeviceHealth, DeviceState, JobHealth, JobState};

use crate::{Db, Error, jobs, notify, transitions};

/// How a job ended, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending<'a> {
    /// Complete, incomplete or canceled.
    pub health: JobHealth,
    /// LAVA's error type, if it failed.
    pub error_type: Option<ErrorType>,
    /// Why it failed.
    pub comment: Option<&'a str>,
    /// Why this is recorded (who reported it).
    pub reason: &'a str,
}

/// The device health a job's end implies, if it implies one.
fn judged(health_check: bool, ending: &Ending<'_>, current: DeviceHealth) -> Option<DeviceHealth> {
    if matches!(current, DeviceHealth::Maintenance | DeviceHealth::Retired) {
        // An admin took it out meanwhile: that stands.
        return None;
    }
    let infrastructure = ending.error_type == Some(ErrorType::Infrastructure);
    match (health_check, ending.health) {
        (true, JobHealth::Complete) if current == DeviceHealth::Looping => None,
        (true, JobHealth::Complete) => Some(DeviceHealth::Good),
        // The lab failed, not the board: check it again rather than condemn it.
        (true, JobHealth::Incomplete) if infrastructure => Some(DeviceHealth::Unknown),
        (true, JobHealth::Incomplete) => Some(DeviceHealth::Bad),
        (true, JobHealth::Canceled) => Some(DeviceHealth::Unknown),
        (false, JobHealth::Incomplete) if infrastructure => Some(DeviceHealth::Unknown),
        _ => None,
    }
}

/// Ends a job (from scheduled, running or canceling) and frees its device. A job that is
/// already finished is left alone and `Ok(false)` returned, so a repeated report is harmless.
pub async fn finish(c: &impl Db, id: i64, ending: &Ending<'_>) -> Result<bool, Error> {
    let job = jobs::get(c, id).await?.ok_or_else(|| Error::NotFound {
        what: "job",
        key: id.to_string(),
    })?;
    if job.state == JobState::Finished {
        return Ok(false);
    }
    // A job that was being canceled ends canceled, whatever the worker says.
    let health = if job.state == JobState::Canceling && ending.health != JobHealth::Incomplete {
        JobHealth::Canceled
    } else {
        ending.health
    };
    let n = c
        .execute(
            "UPDATE jobs SET state = 'finished', health = $3, end_time = now(),
                start_time = coalesce(start_time, now()), error_type = $4, failure_comment = $5
             WHERE id = $1 AND state = $2",
            &[
                &id,
                &job.state,
                &health,
                &ending.error_type,
                &ending.comment,
            ],
        )
        .await?;
    if n == 0 {
        return Err(Error::Conflict(format!(
            "job {id} changed meanwhile; try again"
        )));
    }
    transitions::record_job(
        c,
        id,
        (job.state, job.health),
        (JobState::Finished, health),
        job.device.as_deref(),
        None,
        ending.reason,
    )
    .await?;
    if let Some(device) = &job.device {
        let row = c
            .query_opt(
                "SELECT state, health FROM devices WHERE hostname = $1 AND current_job_id = $2 FOR UPDATE",
                &[device, &id],
            )
            .await?;
        if let Some(row) = row {
            let (state, old_health): (DeviceState, DeviceHealth) =
                (row.try_get("state")?, row.try_get("health")?);
            let ending = Ending {
                health,
                ..ending.clone()
            };
            let new_health = judged(job.health_check, &ending, old_health).unwrap_or(old_health);
            c.execute(
                "UPDATE devices SET state = 'idle', current_job_id = NULL, health = $2,
                    last_health_report_job = CASE WHEN $3 THEN $4 ELSE last_health_report_job END
                 WHERE hostname = $1",
                &[device, &new_health, &job.health_check, &id],
            )
            .await?;
            let reason = match (job.health_check, new_health != old_health) {
                (true, _) => format!("health check job {id} ended {health}"),
                (false, true) => format!(
                    "job {id} ended {health}: {}",
                    ending.error_type.map(ErrorType::as_str).unwrap_or("")
                ),
                (false, false) => format!("job {id} ended {health}"),
            };
            let change = transitions::DeviceChange {
                device,
                state: (state, DeviceState::Idle),
                health: (old_health, new_health),
                job: Some(id),
                actor: None,
                reason: &reason,
            };
            transitions::record_device(c, &change).await?;
        }
    }
    notify::send(c, notify::SCHEDULER, &format!("finished {id}")).await?;
    Ok(true)
}

/// Turns a job that finished complete into an incomplete one, after its end (when filing its
/// results fails, for example), recording why.
pub async fn fail_after_end(
    c: &impl Db,
    id: i64,
    error_type: ErrorType,
    comment: &str,
) -> Result<(), Error> {
    let n = c
        .execute(
            "UPDATE jobs SET health = 'incomplete', error_type = $2, failure_comment = $3
             WHERE id = $1 AND state = 'finished' AND health = 'complete'",
            &[&id, &error_type, &comment],
        )
        .await?;
    if n == 1 {
        transitions::record_job(
            c,
            id,
            (JobState::Finished, JobHealth::Complete),
            (JobState::Finished, JobHealth::Incomplete),
            None,
            None,
            comment,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_health_after_a_job() {
        let e = |health, error_type| Ending {
            health,
            error_type,
            comment: None,
            reason: "",
        };
        use DeviceHealth::*;
        assert_eq!(
            judged(true, &e(JobHealth::Complete, None), Unknown),
            Some(Good)
        );
        assert_eq!(
            judged(true, &e(JobHealth::Incomplete, Some(ErrorType::Job)), Good),
            Some(Bad)
        );
        assert_eq!(
            judged(
                true,
                &e(JobHealth::Incomplete, Some(ErrorType::Infrastructure)),
                Good
            ),
            Some(Unknown)
        );
        assert_eq!(judged(true, &e(JobHealth::Complete, None), Looping), None);
        assert_eq!(
            judged(
                false,
                &e(JobHealth::Incomplete, Some(ErrorType::Infrastructure)),
                Good
            ),
            Some(Unknown)
        );
        assert_eq!(
            judged(
                false,
                &e(JobHealth::Incomplete, Some(ErrorType::Test)),
                Good
            ),
            None
        );
        assert_eq!(
            judged(true, &e(JobHealth::Incomplete, None), Maintenance),
            None
        );
        assert_eq!(judged(false, &e(JobHealth::Complete, None), Good), None);
    }
}
