//! One scheduling pass, in one transaction: silent workers declared offline (their jobs end
//! incomplete, their devices go unknown), stale queued jobs canceled, due health checks
//! created and assigned, then queued jobs given to idle devices by priority and age.

use std::collections::HashMap;
use std::time::Duration;

use lava_common::error_type::ErrorType;
use lava_common::job::parse_job;
use lava_common::state::JobHealth;
use tracing::Instrument as _;

/// Scheduler tunables.
#[derive(Debug, Clone)]
pub struct Options {
    /// A worker silent for this long is offline.
    pub worker_timeout: Duration,
    /// Queued jobs older than this are canceled (None: never).
    pub queue_timeout: Option<Duration>,
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Jobs given a device: (job, device).
    pub assigned: Vec<(i64, String)>,
    /// Health check jobs created.
    pub health_checks: usize,
    /// Workers found silent.
    pub workers_offline: Vec<String>,
    /// Queued jobs canceled for their age.
    pub stale: usize,
}

async fn lose_worker(
    c: &impl lava_db::Db,
    worker: &str,
    silent: Duration,
) -> Result<(), lava_db::Error> {
    let reason = format!(
        "worker '{worker}' sent no heartbeat for {}s",
        silent.as_secs()
    );
    lava_db::workers::mark_offline(c, worker, &reason).await?;
    for (id, ..) in lava_db::jobs::of_worker(c, worker).await? {
        let ending = lava_db::finish::Ending {
            health: JobHealth::Incomplete,
            error_type: Some(ErrorType::Infrastructure),
            comment: Some(&reason),
            reason: &reason,
        };
        lava_db::finish::finish(c, id, &ending).await?;
        tracing::warn!(job = id, %worker, "job lost with its worker");
    }
    Ok(())
}

/// Runs one pass.
pub async fn run(client: &mut lava_db::Client, opts: &Options) -> Result<Report, lava_db::Error> {
    let tx = client.transaction().await?;
    let mut report = Report::default();
    for worker in lava_db::scheduler::silent_workers(&tx, opts.worker_timeout.as_secs_f64()).await?
    {
        lose_worker(&tx, &worker, opts.worker_timeout).await?;
        report.workers_offline.push(worker);
    }
    if let Some(q) = opts.queue_timeout {
        for id in lava_db::scheduler::stale_jobs(&tx, q.as_secs_f64() / 3600.0).await? {
            let reason = format!("canceled: queued for longer than {}s", q.as_secs());
            lava_db::jobs::cancel(&tx, id, None, &reason).await?;
            report.stale += 1;
        }
    }
    // Jobs each worker holds, for job limits.
    let mut busy: HashMap<String, i64> = HashMap::new();
    for due in lava_db::scheduler::health_checks_due(&tx).await? {
        let plan = match parse_job(&due.definition) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(device_type = %due.device_type, error = %e, "the health check of this device type is invalid; its devices get no jobs until it is fixed");
                continue;
            }
        };
        let mut job = match crate::submit::prepare(&due.definition, plan, None, true, &[]) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(device_type = %due.device_type, error = %e, "the health check of this device type is invalid; its devices get no jobs until it is fixed");
                continue;
            }
        };
        job.job.device = Some(due.device.clone());
        job.job.device_type = Some(due.device_type.clone());
        let id = crate::submit::insert(&tx, &job).await?;
        if lava_db::jobs::assign(&tx, id, &due.device, &due.worker).await? {
            *busy.entry(due.worker.clone()).or_default() += 1;
            report.health_checks += 1;
            report.assigned.push((id, due.device.clone()));
        }
    }
    for (job, device, worker) in lava_db::scheduler::assign_plain(&tx).await? {
        tracing::debug!(job, %device, %worker, "job scheduled");
        report.assigned.push((job, device));
    }
    for device in lava_db::scheduler::idle_devices(&tx).await? {
        let held = busy.get(&device.worker).copied().unwrap_or(0) + device.busy_on_worker;
        if device.job_limit > 0 && held >= i64::from(device.job_limit) {
            continue;
        }
        let Some(job) = lava_db::scheduler::best_job(&tx, &device).await? else {
            continue;
        };
        let span =
            tracing::info_span!("assign", job, device = %device.hostname, worker = %device.worker);
        let assigned = lava_db::jobs::assign(&tx, job, &device.hostname, &device.worker)
            .instrument(span.clone())
            .await?;
        if assigned {
            span.in_scope(|| tracing::debug!("job scheduled"));
            *busy.entry(device.worker.clone()).or_default() += 1;
            report.assigned.push((job, device.hostname.clone()));
        }
    }
    tx.commit().await?;
    Ok(report)
}
