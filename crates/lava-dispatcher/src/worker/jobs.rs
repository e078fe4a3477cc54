//! The worker's table of jobs: start, re-attach after a restart, cancel, forget.
//!
//! Each job runs as a [`JobTask`] in its own tokio task under a `job` span; the table keeps
//! what the poll loop needs (the process group to signal, the local line count to report)
//! and hears from each task when it is over.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lava_common::ids::JobId;
use lava_common::worker_api::{JobStart, RunningJob};
use nix::sys::signal::Signal;
use tokio::sync::{mpsc, watch};
use tracing::Instrument as _;

use super::devices::DeviceScan;
use super::error::WorkerError;
use super::jobdir::JobDir;
use super::process::{JobProcess, signal_group};
use super::report::Reporter;
use super::tail::LogTail;
use super::task::{Control, JobEnd, JobTask};

/// A job that ended: its id and how.
pub type Done = (JobId, JobEnd);

/// A running job, as the poll loop sees it.
#[derive(Debug)]
struct Handle {
    pgid: i32,
    /// Whether SIGTERM was sent already (the server repeats a cancel until the job ends).
    canceled: bool,
    lines: Arc<AtomicU64>,
    control: watch::Sender<Control>,
}

/// A job found after a restart, waiting for the server's line count.
#[derive(Debug)]
struct Found {
    dir: JobDir,
    pid: i32,
    lines: u64,
}

/// The jobs of one worker.
#[derive(Debug)]
pub struct Jobs<R> {
    work: PathBuf,
    lava_dispatch: PathBuf,
    reporter: R,
    running: HashMap<JobId, Handle>,
    found: Vec<Found>,
    done: mpsc::UnboundedSender<Done>,
}

impl<R: Reporter> Jobs<R> {
    /// An empty table; the receiver hears of every job that ends.
    pub fn new(
        work: PathBuf,
        lava_dispatch: PathBuf,
        reporter: R,
    ) -> (Jobs<R>, mpsc::UnboundedReceiver<Done>) {
        let (done, rx) = mpsc::unbounded_channel();
        let jobs = Jobs {
            work,
            lava_dispatch,
            reporter,
            running: HashMap::new(),
            found: Vec::new(),
            done,
        };
        (jobs, rx)
    }

    /// Finds the jobs a previous run of the worker left in the work dir; they are reported
    /// in `running` and followed once [`Jobs::resume`] has the server's line counts.
    pub fn recover(&mut self) -> Result<usize, WorkerError> {
        for dir in JobDir::scan(&self.work)? {
            let mut tail = LogTail::new(dir.output());
            let lines = tail.refresh().unwrap_or(0);
            let pid = dir.read_pid().unwrap_or(0);
            let _span = tracing::info_span!("job", id = %dir.id).entered();
            tracing::info!(pid, lines, "found from a previous run of the worker");
            self.found.push(Found { dir, pid, lines });
        }
        Ok(self.found.len())
    }

    /// Whether jobs found at start-up wait for the server's line counts.
    pub fn has_found(&self) -> bool {
        !self.found.is_empty()
    }

    /// Follows the jobs found at start-up, each from the line the server holds (`server`,
    /// from a poll's `log_lines`; 0 if it does not say, and a 409 corrects it).
    pub fn resume(&mut self, server: &[RunningJob]) {
        let counts: BTreeMap<JobId, u64> = server.iter().map(|r| (r.id, r.log_lines)).collect();
        for found in std::mem::take(&mut self.found) {
            let from = counts.get(&found.dir.id).copied().unwrap_or(0);
            let device = found.dir.read_device().unwrap_or_default();
            let process = JobProcess::adopted(found.pid);
            self.follow(found.dir, device, process, false, from);
        }
    }

    /// The jobs to report in a poll, with the local line counts.
    pub fn running_report(&self) -> Vec<RunningJob> {
        let mut out: Vec<RunningJob> = self
            .running
            .iter()
            .map(|(id, h)| RunningJob {
                id: *id,
                log_lines: h.lines.load(Ordering::Relaxed),
            })
            .chain(self.found.iter().map(|f| RunningJob {
                id: f.dir.id,
                log_lines: f.lines,
            }))
            .collect();
        out.sort_by_key(|r| r.id);
        out
    }

    /// Whether no job is followed. Jobs found at start-up and not resumed yet do not count:
    /// they stay on disk for the next start, so a drain need not wait for the server.
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// How many jobs are followed.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    /// Starts a job the server sent on one of the devices of `scan`.
    pub fn start(&mut self, job: &JobStart, scan: &DeviceScan) {
        let id = job.id;
        if self.running.contains_key(&id) || self.found.iter().any(|f| f.dir.id == id) {
            tracing::debug!(id = %id, "start of a job that runs already: ignored");
            return;
        }
        let span = tracing::info_span!("job", id = %id, device = %job.device);
        let _entered = span.enter();
        let Some(conf) = scan.file_of(&job.device) else {
            let why = format!(
                "device '{}' is not configured on this worker (no {}/{}.conf or .jinja2, and no .conf there says hostname = {})",
                job.device,
                scan.dir.display(),
                job.device,
                job.device,
            );
            return self.refuse(job, why);
        };
        let launched = JobDir::create(&self.work, id, &job.device, &job.definition, &job.secrets)
            .and_then(|(dir, file)| {
                let process = JobProcess::launch(&dir, &file, &self.lava_dispatch, conf)?;
                Ok((dir, process))
            });
        match launched {
            Ok((dir, process)) => {
                tracing::info!(pid = process.pid(), "job started");
                self.follow(dir, job.device.to_string(), process, true, 0);
            }
            Err(e) => self.refuse(job, e.to_string()),
        }
    }

    /// Reports a job the worker will not run as incomplete (an infrastructure error), e.g.
    /// a start received while draining.
    pub fn refuse(&mut self, job: &JobStart, why: String) {
        tracing::error!("job not started: {why}");
        let dir = JobDir::new(&self.work, job.id);
        self.follow(
            dir,
            job.device.to_string(),
            JobProcess::not_started(why),
            false,
            0,
        );
    }

    /// Sends SIGTERM to a job's process group: `lava-dispatch` finalizes and exits 3.
    pub fn cancel(&mut self, id: JobId) {
        match self.running.get_mut(&id) {
            Some(h) if h.canceled => tracing::debug!(id = %id, "cancel again: already sent"),
            Some(h) => {
                h.canceled = true;
                tracing::info!(
                    id = %id,
                    pgid = h.pgid,
                    "canceling: SIGTERM to the job's process group"
                );
                signal_group(h.pgid, Signal::SIGTERM);
            }
            None => tracing::debug!(id = %id, "cancel of a job that is not running here: ignored"),
        }
    }

    /// Stops a job quietly: the server considers it over.
    pub fn forget(&mut self, id: JobId) {
        if let Some(pos) = self.found.iter().position(|f| f.dir.id == id) {
            let found = self.found.remove(pos);
            let device = found.dir.read_device().unwrap_or_default();
            self.follow(found.dir, device, JobProcess::adopted(found.pid), false, 0);
        }
        match self.running.get(&id) {
            Some(h) => {
                let _ = h.control.send(Control::Forget);
            }
            None => tracing::debug!(id = %id, "forget of a job that is not running here: ignored"),
        }
    }

    /// Removes a job that ended from the table.
    pub fn finished(&mut self, id: JobId) {
        self.running.remove(&id);
    }

    fn follow(
        &mut self,
        dir: JobDir,
        device: String,
        process: JobProcess,
        announce: bool,
        from: u64,
    ) {
        let id = dir.id;
        let lines = Arc::new(AtomicU64::new(from));
        let (control, rx) = watch::channel(Control::Run);
        let handle = Handle {
            pgid: process.pid(),
            canceled: false,
            lines: lines.clone(),
            control,
        };
        let task = JobTask {
            dir,
            process,
            reporter: self.reporter.clone(),
            announce,
            server_lines: from,
            lines,
            control: rx,
        };
        let done = self.done.clone();
        let span = tracing::info_span!(parent: None, "job", id = %id, device = %device);
        tokio::spawn(
            async move {
                let end = task.run().await;
                let _ = done.send((id, end));
            }
            .instrument(span),
        );
        self.running.insert(id, handle);
    }
}
