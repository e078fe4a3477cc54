//! The worker daemon: the poll loop and its life cycle.
//!
//! Each poll reports the devices (re-read from disk every time, so a moved `.conf` file
//! moves its device at once) and the running jobs, and is held by the server until there is
//! something to do; the answer is handled at once and the next poll follows immediately,
//! so a scheduled job starts within milliseconds. SIGTERM/SIGINT drain (no new jobs; the
//! running ones finish and report; a second signal exits at once and leaves them running
//! for the next start to re-attach); SIGHUP reloads the settings and the token file,
//! keeping the old ones when the new ones are bad.

use std::future::Future;

use lava_common::host_paths::HostPaths;
use lava_common::worker_api::{PollRequest, PollResponse};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

use super::client::Api;
use super::devices::{self, DeviceScan};
use super::error::WorkerError;
use super::jobdir::{create_private_dir, jobs_root};
use super::jobs::{Done, Jobs};
use super::options::{WorkerOptions, read_token_file};
use super::retry::Retry;

/// Why the daemon stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Asked to stop; every job it ran has finished and been reported.
    Drained,
    /// Asked twice; jobs were left running, to be re-attached at the next start.
    Abandoned,
}

/// The message a job gets when its start arrives while the worker drains.
const DRAINING: &str = "the worker was shutting down and did not start the job";

struct Daemon {
    opts: WorkerOptions,
    host: HostPaths,
    api: Api,
    jobs: Jobs<Api>,
    done: mpsc::UnboundedReceiver<Done>,
    scan: DeviceScan,
    draining: bool,
    term: Signal,
    int: Signal,
    hup: Signal,
}

/// Runs the worker until it is told to stop.
pub async fn run(opts: WorkerOptions, host: HostPaths) -> Result<Exit, WorkerError> {
    let api = Api::new(&opts.url, &opts.name, &opts.token)?;
    let sig = |kind| signal(kind).map_err(WorkerError::Signals);
    let (term, int, hup) = (
        sig(SignalKind::terminate())?,
        sig(SignalKind::interrupt())?,
        sig(SignalKind::hangup())?,
    );
    create_private_dir(&opts.work_dir)?;
    create_private_dir(&jobs_root(&opts.work_dir))?;
    let (mut jobs, done) = Jobs::new(
        opts.work_dir.clone(),
        opts.lava_dispatch.clone(),
        api.clone(),
    );
    let found = jobs.recover()?;
    devices::sweep_tftp(&host);
    tracing::info!(
        "worker '{}' polling {} (work dir {}, {found} job(s) from a previous run)",
        opts.name,
        opts.url,
        opts.work_dir.display()
    );
    let mut daemon = Daemon {
        opts,
        host,
        api,
        jobs,
        done,
        scan: DeviceScan::default(),
        draining: false,
        term,
        int,
        hup,
    };
    Ok(daemon.poll_loop().await)
}

impl Daemon {
    async fn poll_loop(&mut self) -> Exit {
        let mut retry = Retry::new();
        let mut connected = false;
        loop {
            if self.draining && self.jobs.is_empty() {
                tracing::info!("drained: every job is over");
                return Exit::Drained;
            }
            let now = devices::scan(&self.host);
            devices::log_changes(&self.scan, &now);
            self.scan = now;
            let req = PollRequest {
                version: env!("CARGO_PKG_VERSION").to_string(),
                devices: if self.draining {
                    Vec::new()
                } else {
                    self.scan.devices.clone()
                },
                running: self.jobs.running_report(),
                // Jobs found at start-up need the server's line counts now.
                wait_ms: if self.jobs.has_found() {
                    0
                } else {
                    self.opts.poll_wait.as_millis() as u64
                },
            };
            let api = self.api.clone();
            let answer = match self.wait_on(async move { api.poll(&req).await }).await {
                Ok(a) => a,
                Err(exit) => return exit,
            };
            match answer {
                Ok(resp) => {
                    retry.succeeded("polling");
                    if !connected {
                        connected = true;
                        tracing::info!("connected to {}", self.api.url());
                    }
                    self.handle(resp);
                }
                Err(e) => {
                    let pause = retry.failed("polling", &e);
                    if let Err(exit) = self.wait_on(tokio::time::sleep(pause)).await {
                        return exit;
                    }
                }
            }
        }
    }

    fn handle(&mut self, resp: PollResponse) {
        for id in &resp.forget {
            self.jobs.forget(*id);
        }
        if self.jobs.has_found() {
            self.jobs.resume(&resp.log_lines);
        }
        for id in &resp.cancel {
            self.jobs.cancel(*id);
        }
        for job in &resp.start {
            if self.draining {
                self.jobs.refuse(job, DRAINING.into());
            } else {
                self.jobs.start(job, &self.scan);
            }
        }
    }

    /// Awaits `fut` while handling signals and ended jobs; `Err` when the daemon must stop.
    async fn wait_on<F: Future>(&mut self, fut: F) -> Result<F::Output, Exit> {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                out = &mut fut => return Ok(out),
                _ = self.term.recv() => self.stop("SIGTERM")?,
                _ = self.int.recv() => self.stop("SIGINT")?,
                _ = self.hup.recv() => self.reload(),
                Some((id, _end)) = self.done.recv() => {
                    self.jobs.finished(id);
                    devices::sweep_tftp(&self.host);
                    if self.draining && self.jobs.is_empty() {
                        tracing::info!("drained: every job is over");
                        return Err(Exit::Drained);
                    }
                }
            }
        }
    }

    fn stop(&mut self, signal: &str) -> Result<(), Exit> {
        let n = self.jobs.len();
        if self.draining {
            tracing::warn!(
                "{signal} again: exiting now; {n} job(s) keep running and are re-attached when the worker starts again"
            );
            return Err(Exit::Abandoned);
        }
        self.draining = true;
        if n == 0 {
            tracing::info!("{signal}: no job running; exiting");
            return Err(Exit::Drained);
        }
        tracing::info!(
            "{signal}: draining: no new jobs; waiting for {n} running job(s) (send {signal} again to exit at once)"
        );
        Ok(())
    }

    /// SIGHUP: the token file again. The paths come from the environment, which a signal
    /// does not change; `dispatcher.toml` is read by every `lava-dispatch` anyway.
    fn reload(&mut self) {
        if let Some(path) = &self.opts.token_file {
            match read_token_file(path) {
                Ok(token) => {
                    self.api.set_token(&token);
                    self.opts.token = token;
                    tracing::info!("SIGHUP: token reloaded from {}", path.display());
                }
                Err(e) => tracing::error!("SIGHUP: keeping the previous token: {e}"),
            }
        }
    }
}
