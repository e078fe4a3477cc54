//! `lava-server scheduler` (the `lava-server` service): one active instance holds a
//! PostgreSQL advisory lock; another waits as a hot standby and takes over within a second of
//! the lock's release (the holder's connection closing when it dies). The active one runs a
//! pass whenever LISTEN/NOTIFY says something changed, and every `interval` anyway.

pub mod pass;

use std::time::Duration;

use lava_common::settings::Settings;
use tokio::sync::watch;

pub use pass::Options;

/// Sleeps `d`, or less when `stop` turns true; returns whether to stop.
async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    let stopped = tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = stop.wait_for(|s| *s) => true,
    };
    stopped || *stop.borrow()
}

/// Runs until `stop` turns true. Database failures are retried with backoff; new settings
/// (SIGHUP) take effect by reconnecting.
pub async fn run(
    mut settings: watch::Receiver<Settings>,
    opts: Options,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut backoff = Duration::from_millis(200);
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let (url, logs, callbacks, opts) = {
            let s = settings.borrow_and_update();
            let logs = crate::logstore::LogStore::with_limits(s.jobs_dir(), s.limits);
            let callbacks = crate::callbacks::Options {
                allow_local_targets: s.safety.callbacks_allow_local_targets,
                retry_window: s.backoff.callback_retry_window,
                email: s.email.clone(),
                ..Default::default()
            };
            let opts = Options {
                backoff: s.backoff,
                ..opts.clone()
            };
            (s.database_url.clone(), logs, callbacks, opts)
        };
        let led = tokio::select! {
            r = lead(&url, &logs, &callbacks, &opts, interval, &mut stop) => Some(r),
            _ = settings.changed() => None,
        };
        match led {
            None => {
                tracing::info!("settings changed: reconnecting");
                continue;
            }
            Some(Ok(())) => return Ok(()),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "scheduling failed (database unreachable or refused a query); retrying in {backoff:?}")
            }
        }
        if pause(&mut stop, backoff).await {
            return Ok(());
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// A task that ends with its owner.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends notify callbacks until stopped, reconnecting with backoff when the database fails.
async fn send_callbacks(
    url: String,
    logs: crate::logstore::LogStore,
    opts: crate::callbacks::Options,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let opts = opts.clone();
        match crate::callbacks::run(url.clone(), logs.clone(), opts, stop.clone()).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, "sending callbacks failed; retrying in {backoff:?}")
            }
        }
        if pause(&mut stop, backoff).await {
            return;
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// Becomes the active scheduler (waiting as standby meanwhile) and schedules until stopped;
/// returns an error when the database connection is lost.
async fn lead(
    url: &str,
    logs: &crate::logstore::LogStore,
    callbacks: &crate::callbacks::Options,
    opts: &Options,
    interval: Duration,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), lava_db::Error> {
    let lock = lava_db::connect(url).await?;
    let mut said_standby = false;
    while !lava_db::try_advisory_lock(&lock, lava_db::SCHEDULER_LOCK).await? {
        if !said_standby {
            tracing::info!("standing by: another scheduler is active");
            said_standby = true;
        }
        if pause(stop, Duration::from_millis(500)).await {
            return Ok(());
        }
    }
    tracing::info!("active scheduler");
    // Only the active scheduler sends notify callbacks, so none goes out twice.
    let _callbacks = AbortOnDrop(tokio::spawn(send_callbacks(
        url.to_string(),
        logs.clone(),
        callbacks.clone(),
        stop.clone(),
    )));
    let (_listener, mut events) = lava_db::listen(url, &[lava_db::notify::SCHEDULER]).await?;
    let mut work = lava_db::connect(url).await?;
    loop {
        if lock.is_closed() || work.is_closed() {
            return Err(lava_db::Error::Invalid(
                "the database connection closed".into(),
            ));
        }
        let started = std::time::Instant::now();
        let report = pass::run(&mut work, opts).await?;
        // Keep the job counters' pending deltas few, so counting stays cheap.
        lava_db::job_list::fold_counts(&work).await?;
        if report != pass::Report::default() {
            tracing::info!(
                assigned = report.assigned.len(),
                health_checks = report.health_checks,
                offline = ?report.workers_offline,
                stale = report.stale,
                took_ms = started.elapsed().as_millis() as u64,
                "scheduling pass"
            );
        }
        let next = tokio::select! {
            e = events.recv() => e.is_some(),
            _ = tokio::time::sleep(interval) => true,
            _ = stop.wait_for(|s| *s) => return Ok(()),
        };
        if !next {
            return Err(lava_db::Error::Invalid(
                "the LISTEN connection closed".into(),
            ));
        }
        // Several events may have queued up: one pass covers them all.
        while events.try_recv().is_ok() {}
    }
}
