//! One scheduling pass, in one transaction: silent workers declared offline (their jobs end
//! incomplete, their devices go unknown), stale queued jobs canceled, devices whose health
//! checks keep failing made bad, due health checks created and assigned, then queued jobs given to idle devices by priority and age.

use std::time::Duration;

use lava_common::backoff_settings::Backoff;
use lava_common::ids::{DeviceName, JobId, WorkerName};
use lava_common::job::parse_job;

/// Scheduler tunables.
#[derive(Debug, Clone)]
pub struct Options {
    /// A worker silent for this long is offline.
    pub worker_timeout: Duration,
    /// Queued jobs older than this are canceled (None: never).
    pub queue_timeout: Option<Duration>,
    /// `[health_checks]`: the wait before retrying a failed health check, and how many
    /// failures in a row make a device bad (the settings file's, read again on SIGHUP).
    pub backoff: Backoff,
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Jobs given a device: (job, device).
    pub assigned: Vec<(JobId, DeviceName)>,
    /// Health check jobs created.
    pub health_checks: usize,
    /// Workers found silent.
    pub workers_offline: Vec<WorkerName>,
    /// Queued jobs canceled for their age (the server's queue timeout or their own).
    pub stale: usize,
    /// Devices made bad for failing health checks in a row.
    pub gave_up: Vec<DeviceName>,
}

/// Runs one pass.
pub async fn run(client: &mut lava_db::Client, opts: &Options) -> Result<Report, lava_db::Error> {
    let tx = client.transaction().await?;
    lava_db::scheduler::begin_pass(&tx).await?;
    let mut report = Report::default();
    for worker in lava_db::scheduler::silent_workers(&tx, opts.worker_timeout.as_secs_f64()).await?
    {
        let reason = format!(
            "worker '{worker}' sent no heartbeat for {}s",
            opts.worker_timeout.as_secs()
        );
        for id in lava_db::lifecycle::worker::lost(&tx, &worker, &reason).await? {
            tracing::warn!(job = %id, %worker, "job lost with its worker");
        }
        report.workers_offline.push(worker);
    }
    if let Some(q) = opts.queue_timeout {
        for id in lava_db::scheduler::stale_jobs(&tx, q.as_secs_f64() / 3600.0).await? {
            let reason = format!("canceled: queued for longer than {}s", q.as_secs());
            lava_db::lifecycle::job::cancel(&tx, id, None, &reason).await?;
            report.stale += 1;
        }
    }
    for (id, secs) in lava_db::scheduler::queue_deadlines_passed(&tx).await? {
        let reason = format!(
            "canceled: no device within the job's timeouts.queue ({}s)",
            secs.round()
        );
        lava_db::lifecycle::job::cancel(&tx, id, None, &reason).await?;
        report.stale += 1;
    }
    let failures = opts.backoff.health_check_failures_to_bad as i32;
    for (device, last) in lava_db::lifecycle::device::give_up_failing(&tx, failures).await? {
        let last = last.map(|j| j.to_string()).unwrap_or_default();
        tracing::warn!(%device, last_check = %last, failures, "health checks failed in a row: device bad");
        report.gave_up.push(device);
    }
    let b = &opts.backoff;
    let due = lava_db::lifecycle::assign::health_checks_due(
        &tx,
        b.health_check_retry_delay,
        b.health_check_retry_delay_max,
    );
    for due in due.await? {
        let plan = match parse_job(&due.definition) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(device_type = %due.device_type, error = %e, "the health check of this device type is invalid; its devices get no jobs until it is fixed");
                continue;
            }
        };
        let mut job = match crate::submit::prepare(
            &due.definition,
            plan,
            None,
            true,
            &crate::submit::Kept::default(),
        ) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(device_type = %due.device_type, error = %e, "the health check of this device type is invalid; its devices get no jobs until it is fixed");
                continue;
            }
        };
        job.job.device = Some(due.device.clone());
        job.job.device_type = Some(due.device_type.clone());
        let id = crate::submit::insert(&tx, &job).await?;
        if lava_db::lifecycle::assign::assign(&tx, id, &due.device, &due.worker).await? {
            report.health_checks += 1;
            report.assigned.push((id, due.device.clone()));
        }
    }
    for a in lava_db::lifecycle::assign::queued(&tx).await? {
        report.assigned.push((a.job, a.device));
    }
    tx.commit().await?;
    Ok(report)
}
