//! A job starts on its worker, or is canceled. (It is given a device in [`super::assign`] and
//! ends in [`super::finish`].)

use lava_common::ids::{JobId, WorkerName};
use lava_common::state::{DeviceState, JobHealth, JobState};

use super::moves::{DeviceMove, JobMove};
use crate::{Db, Error, jobs, notify};

fn not_found(id: JobId) -> Error {
    Error::not_found("job", id)
}

fn changed_meanwhile(id: JobId) -> Error {
    Error::Conflict(format!("job {id} changed meanwhile; try again"))
}

/// The worker started the job: job `running`, device `running`. Starting a running job
/// again is harmless; a job of another worker, or one that cannot start, is a conflict.
pub async fn start(c: &impl Db, id: JobId, worker: &WorkerName) -> Result<(), Error> {
    let job = jobs::get(c, id).await?.ok_or_else(|| not_found(id))?;
    if job.worker.as_ref() != Some(worker) {
        return Err(Error::Conflict(format!(
            "job {id} is not assigned to worker '{worker}'"
        )));
    }
    if job.state == JobState::Running {
        return Ok(());
    }
    let refused = || Error::Conflict(format!("job {id} is {} and cannot start", job.state));
    let to_running = JobMove::of_job(id, (job.state, job.health), (JobState::Running, job.health))
        .map_err(|_| refused())?;
    let device = job.device.as_ref();
    let sets = (", start_time = now()", "", &[][..]);
    if !to_running
        .write(c, id, sets, device, None, "started by the worker")
        .await?
    {
        return Err(refused());
    }
    if let Some(device) = device
        && let Some(d) = crate::devices::get(c, device).await?
        && d.info.state == DeviceState::Reserved
        && d.current_job == Some(id)
    {
        let to = (DeviceState::Running, d.info.health);
        let reason = format!("job {id} running");
        DeviceMove::new(device, (d.info.state, d.info.health), to)?
            .write(
                c,
                device,
                ("", " AND current_job_id = $6", &[&id]),
                Some(id),
                None,
                &reason,
            )
            .await?;
    }
    Ok(())
}

/// Asks for a job to stop. A queued job ends canceled at once; a scheduled or running one goes
/// to `canceling` until its worker reports; a finished or canceling one is left as it is.
/// Returns the job's new state.
pub async fn cancel(
    c: &impl Db,
    id: JobId,
    actor: Option<i64>,
    reason: &str,
) -> Result<JobState, Error> {
    let job = jobs::get(c, id).await?.ok_or_else(|| not_found(id))?;
    match job.state {
        JobState::Submitted => {
            let mv = JobMove::of_job(
                id,
                (job.state, job.health),
                (JobState::Finished, JobHealth::Canceled),
            )?;
            let sets = (", start_time = now(), end_time = now()", "", &[][..]);
            if !mv.write(c, id, sets, None, actor, reason).await? {
                return Err(changed_meanwhile(id));
            }
            notify::send(c, notify::SCHEDULER, &format!("canceled {id}")).await?;
            Ok(JobState::Finished)
        }
        JobState::Scheduled | JobState::Running => {
            let mv = JobMove::of_job(
                id,
                (job.state, job.health),
                (JobState::Canceling, job.health),
            )?;
            let device = job.device.as_ref();
            if !mv
                .write(c, id, ("", "", &[]), device, actor, reason)
                .await?
            {
                return Err(changed_meanwhile(id));
            }
            if let Some(w) = &job.worker {
                notify::send(c, notify::WORKER, w).await?;
            }
            Ok(JobState::Canceling)
        }
        other => Ok(other),
    }
}
