//! The end of a job: its health, its device freed (and judged, after a health check or an
//! infrastructure error), its results filed into bundle streams when its worker reports the
//! end, its callbacks queued; every change recorded, all in the caller's transaction.

use lava_common::bundle::{self, Bundle, BundleResult};
use lava_common::error_type::ErrorType;
use lava_common::ids::{DeviceName, JobId, WorkerName};
use lava_common::job::JobPlan;
use lava_common::state::{DeviceHealth, DeviceState, JobHealth, JobState};

use super::moves::{DeviceMove, JobMove};
use crate::{Db, Error, bundles, jobs, notify, results};
use postgres_types::ToSql;

/// How a job ended.
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
pub async fn finish(c: &impl Db, id: JobId, ending: &Ending<'_>) -> Result<bool, Error> {
    let job = jobs::get(c, id)
        .await?
        .ok_or_else(|| Error::not_found("job", id))?;
    Ok(end(c, &job, ending, None).await?.is_some())
}

/// Writes the end of `job`: `run` is how it ran (it judges the device); `filing`, when its
/// results could not all be filed, turns a complete job incomplete with that comment.
/// Returns the health it stored, or `None` for a job that had ended already.
async fn end(
    c: &impl Db,
    job: &jobs::Job,
    run: &Ending<'_>,
    filing: Option<&str>,
) -> Result<Option<JobHealth>, Error> {
    let id = job.id;
    if job.state == JobState::Finished {
        return Ok(None);
    }
    // A job that was being canceled ends canceled, whatever the worker says.
    let health = if job.state == JobState::Canceling && run.health != JobHealth::Incomplete {
        JobHealth::Canceled
    } else {
        run.health
    };
    let (stored, error_type, comment) = match filing {
        Some(why) if health == JobHealth::Complete => {
            (JobHealth::Incomplete, Some(ErrorType::Job), Some(why))
        }
        _ => (health, run.error_type, run.comment),
    };
    let mv = JobMove::of_job(id, (job.state, job.health), (JobState::Finished, stored))?;
    let sets = (
        ", end_time = now(), start_time = coalesce(start_time, now()),
           error_type = $6, failure_comment = $7",
        "",
        &[&error_type as &(dyn ToSql + Sync), &comment][..],
    );
    let device = job.device.as_ref();
    if !mv.write(c, id, sets, device, None, run.reason).await? {
        return Err(Error::Conflict(format!(
            "job {id} changed meanwhile; try again"
        )));
    }
    if let Some(device) = device {
        let run = Ending {
            health,
            ..run.clone()
        };
        free_device(c, device, job, &run).await?;
    }
    notify::send(c, notify::SCHEDULER, &format!("finished {id}")).await?;
    Ok(Some(stored))
}

/// Frees the device `job` held (if it still does) and judges its health by how the job ran.
async fn free_device(
    c: &impl Db,
    device: &DeviceName,
    job: &jobs::Job,
    run: &Ending<'_>,
) -> Result<(), Error> {
    let id = job.id;
    let row = c
        .query_opt(
            "SELECT state, health FROM devices WHERE hostname = $1 AND current_job_id = $2 FOR UPDATE",
            &[&device, &id],
        )
        .await?;
    let Some(row) = row else { return Ok(()) };
    let (state, old): (DeviceState, DeviceHealth) = (row.try_get("state")?, row.try_get("health")?);
    let new = judged(job.health_check, run, old).unwrap_or(old);
    let health = run.health;
    let reason = match (job.health_check, new != old) {
        (true, _) => format!("health check job {id} ended {health}"),
        (false, true) => format!(
            "job {id} ended {health}: {}",
            run.error_type.map(ErrorType::as_str).unwrap_or("")
        ),
        (false, false) => format!("job {id} ended {health}"),
    };
    // Failed health checks in a row: a complete one starts the count again, a canceled one
    // leaves it (the board was not judged); the scheduler acts on it (see
    // `super::device::give_up_failing` and the retry delay in `assign::health_checks_due`).
    let (reset, failed) = match (job.health_check, health) {
        (true, JobHealth::Complete) => (true, 0),
        (true, JobHealth::Incomplete) => (false, 1),
        _ => (false, 0),
    };
    let sets = (
        ", current_job_id = NULL,
           last_health_report_job = CASE WHEN $6 THEN $7 ELSE last_health_report_job END,
           health_check_failures = CASE WHEN $8 THEN 0 ELSE health_check_failures + $9 END",
        " AND current_job_id = $7",
        &[
            &job.health_check as &(dyn ToSql + Sync),
            &id,
            &reset,
            &failed,
        ][..],
    );
    DeviceMove::new(device, (state, old), (DeviceState::Idle, new))?
        .write(c, device, sets, Some(id), None, &reason)
        .await?;
    Ok(())
}

/// A worker's report that a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report<'a> {
    /// The worker that reports it.
    pub worker: &'a WorkerName,
    /// How the job ran.
    pub ending: Ending<'a>,
    /// The lines its log has on the worker.
    pub log_lines: u64,
}

/// What came of a worker's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// The job ended now.
    Finished,
    /// It had ended already; nothing changed.
    AlreadyFinished,
    /// No such job.
    Unknown,
    /// The job is not the reporting worker's.
    OtherWorker,
    /// The server holds fewer log lines than the worker wrote: send the rest first.
    LinesMissing {
        /// The lines the server holds.
        have: u64,
    },
}

/// A worker reports the end of job `id`: checked against the job (its worker, its log's
/// length), then the job ends as [`finish`] ends it and its results are filed into every
/// bundle stream its plan names. A stream that does not exist (outside `/anonymous/`, which
/// is made on first use) makes a complete job incomplete, naming the stream.
pub async fn reported(c: &impl Db, id: JobId, report: &Report<'_>) -> Result<Reported, Error> {
    let Some(job) = jobs::get_for_update(c, id).await? else {
        return Ok(Reported::Unknown);
    };
    if job.worker.as_deref() != Some(report.worker) {
        return Ok(Reported::OtherWorker);
    }
    let have = job.log_lines as u64;
    if have < report.log_lines {
        return Ok(Reported::LinesMissing { have });
    }
    if job.state == JobState::Finished {
        return Ok(Reported::AlreadyFinished);
    }
    let plan = serde_json::from_value::<JobPlan>(job.plan.clone()).ok();
    let wanted = plan.as_ref().map(bundle::streams).unwrap_or_default();
    let mut streams = Vec::new();
    let mut missing = None;
    for pathname in &wanted {
        match bundles::stream_for_job(c, pathname).await? {
            Some(stream) => streams.push((pathname, stream)),
            None => {
                missing.get_or_insert_with(|| format!(
                    "bundle stream {pathname} does not exist: create it with `lava-server manage streams add {pathname}`"
                ));
            }
        }
    }
    let Some(health) = end(c, &job, &report.ending, missing.as_deref()).await? else {
        return Ok(Reported::AlreadyFinished);
    };
    if !streams.is_empty() {
        let test_results = results::of_job(c, id)
            .await?
            .into_iter()
            .map(|t| BundleResult {
                test_id: t.suite,
                test_case_id: t.name,
                result: t.result,
                measurement: t.measurement,
                units: t.units,
                set: t.set,
            })
            .collect();
        let (content, sha) = Bundle {
            format: bundle::FORMAT,
            job: id,
            description: job.description.clone(),
            health,
            device: job.device.clone(),
            test_results,
        }
        .content();
        for (pathname, stream) in streams {
            let bundle = bundles::file(c, stream, id, &content, &sha).await?;
            tracing::info!(job = %id, stream = %pathname, bundle, "results filed");
        }
    }
    Ok(Reported::Finished)
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
        use ErrorType as T;
        assert_eq!(
            judged(true, &e(JobHealth::Complete, None), Unknown),
            Some(Good)
        );
        assert_eq!(
            judged(true, &e(JobHealth::Incomplete, Some(T::Job)), Good),
            Some(Bad)
        );
        assert_eq!(
            judged(
                true,
                &e(JobHealth::Incomplete, Some(T::Infrastructure)),
                Good
            ),
            Some(Unknown)
        );
        assert_eq!(judged(true, &e(JobHealth::Complete, None), Looping), None);
        assert_eq!(
            judged(
                false,
                &e(JobHealth::Incomplete, Some(T::Infrastructure)),
                Good
            ),
            Some(Unknown)
        );
        assert_eq!(
            judged(false, &e(JobHealth::Incomplete, Some(T::Test)), Good),
            None
        );
        assert_eq!(
            judged(true, &e(JobHealth::Incomplete, None), Maintenance),
            None
        );
        assert_eq!(judged(false, &e(JobHealth::Complete, None), Good), None);
    }
}
