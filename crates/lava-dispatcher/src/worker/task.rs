//! One job's life on the worker after its start: follow the log, upload it in batches,
//! notice the end, report it, clean up.
//!
//! The same task serves a job the worker just started and one it found after a restart;
//! only the [`JobProcess`] differs (own child, or a pid watched through `/proc`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lava_common::worker_api::JobFinished;
use nix::sys::signal::Signal;
use tokio::sync::watch;

use super::error::WorkerError;
use super::jobdir::JobDir;
use super::outcome;
use super::process::{Ended, JobProcess};
use super::report::{FinishReply, Reporter};
use super::retry::Retry;
use super::tail::LogTail;

/// How often the log is read and uploaded, at most.
pub const TICK: Duration = Duration::from_millis(100);

/// How long a forgotten job gets to finalize after SIGTERM before SIGKILL.
const FORGET_GRACE: Duration = Duration::from_secs(10);

/// What the poll loop tells a running job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Carry on.
    Run,
    /// The server considers the job over: stop it quietly, report nothing.
    Forget,
}

/// How a job task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEnd {
    /// The server acknowledged this report; the job directory is gone.
    Reported(JobFinished),
    /// Forgotten at the server's request; stopped and removed without a report.
    Forgotten,
}

/// A job to follow to its end.
#[derive(Debug)]
pub struct JobTask<R> {
    /// Its directory, where its exit status is written even if the worker restarts.
    pub dir: JobDir,
    /// Its process (`sh` around `lava-dispatch`, leader of its process group), to wait for
    /// or signal.
    pub process: JobProcess,
    /// Where its progress goes.
    pub reporter: R,
    /// Whether `started` is still to be sent (a new job, not a re-attached one).
    pub announce: bool,
    /// The server's line count: the first batch starts there.
    pub server_lines: u64,
    /// Where the task publishes its local line count (for the poll's `running`).
    pub lines: Arc<AtomicU64>,
    /// Orders from the poll loop.
    pub control: watch::Receiver<Control>,
}

impl<R: Reporter> JobTask<R> {
    /// Follows the job to its end.
    pub async fn run(mut self) -> JobEnd {
        let id = self.dir.id;
        let mut retry = Retry::new();
        while self.announce {
            match self.reporter.started(id).await {
                Ok(()) => {
                    retry.succeeded("reporting the start");
                    self.announce = false;
                }
                Err(e) => {
                    if self.pause(retry.failed("reporting the start", &e)).await {
                        return self.forget().await;
                    }
                }
            }
        }
        let mut tail = LogTail::new(self.dir.output());
        let mut acked = self.server_lines;
        let mut ended: Option<Ended> = None;
        loop {
            if *self.control.borrow() == Control::Forget {
                return self.forget().await;
            }
            if ended.is_none() {
                // Checked before reading, so every line written before the end is read.
                ended = self.process.poll_end(&self.dir);
            }
            if let Err(e) = tail.refresh() {
                tracing::warn!("cannot read the job log: {e}");
            }
            self.lines.store(tail.lines(), Ordering::Relaxed);
            if acked < tail.lines() {
                let result = match tail.batch(acked) {
                    Ok(Some(batch)) => self.reporter.logs(id, &batch).await,
                    Ok(None) => Ok(lava_common::worker_api::LogAck { lines: acked }),
                    Err(e) => Err(e),
                };
                let wait = match result {
                    Ok(ack) => {
                        retry.succeeded("uploading the log");
                        acked = ack.lines;
                        TICK
                    }
                    Err(e) => retry.failed("uploading the log", &e),
                };
                if self.pause(wait).await {
                    return self.forget().await;
                }
                continue;
            }
            let Some(end) = &ended else {
                if self.pause(TICK).await {
                    return self.forget().await;
                }
                continue;
            };
            if tail.has_partial_line() {
                tracing::warn!("the log ends with an unfinished line, which is not uploaded");
            }
            let report = outcome::finished(end, &self.dir, tail.lines());
            let wait = match self.reporter.finished(id, &report).await {
                Ok(FinishReply::Done) => {
                    retry.succeeded("reporting the end");
                    tracing::info!(health = ?report.health, error_type = ?report.error_type, error_msg = ?report.error_msg, "job finished");
                    self.dir.remove();
                    return JobEnd::Reported(report);
                }
                Ok(FinishReply::NeedLines(n)) if n < tail.lines() => {
                    tracing::info!(
                        "the server holds {n} of {} lines; uploading the rest",
                        tail.lines()
                    );
                    acked = n;
                    continue;
                }
                Ok(FinishReply::NeedLines(n)) => {
                    let e = WorkerError::Rejected {
                        url: format!("jobs/{id}/finished"),
                        status: 409,
                        message: format!(
                            "the server wants lines from {n} but the log has {}",
                            tail.lines()
                        ),
                    };
                    retry.failed("reporting the end", &e)
                }
                Err(e) => retry.failed("reporting the end", &e),
            };
            if self.pause(wait).await {
                return self.forget().await;
            }
        }
    }

    /// Waits `d`; true when the job was forgotten meanwhile.
    async fn pause(&mut self, d: Duration) -> bool {
        if *self.control.borrow() == Control::Forget {
            return true;
        }
        let sleep = tokio::time::sleep(d);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return false,
                changed = self.control.changed() => {
                    if changed.is_err() {
                        // The poll loop is gone (second SIGTERM): just wait out the pause.
                        (&mut sleep).await;
                        return false;
                    }
                    if *self.control.borrow() == Control::Forget {
                        return true;
                    }
                }
            }
        }
    }

    /// Stops the job (SIGTERM to its group, SIGKILL after a grace period) and removes it.
    async fn forget(mut self) -> JobEnd {
        tracing::info!("the server forgot the job: stopping it without a report");
        self.process.signal(Signal::SIGTERM);
        let deadline = tokio::time::Instant::now() + FORGET_GRACE;
        while self.process.poll_end(&self.dir).is_none() {
            if tokio::time::Instant::now() >= deadline {
                self.process.signal(Signal::SIGKILL);
                break;
            }
            tokio::time::sleep(TICK).await;
        }
        self.dir.remove();
        JobEnd::Forgotten
    }
}
