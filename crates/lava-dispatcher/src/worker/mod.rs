//! The worker daemon, `lava-dispatcher worker`: the client side of the worker API.
//!
//! It long-polls the server (`/api/worker/v1/poll`) with its devices (the `*.conf` files
//! of `/etc/lava-dispatcher/devices/`) and its running jobs; it starts each job it is sent
//! as a child `lava-dispatch` in its own process group, under `WORK/jobs/ID/`; it streams
//! `output.yaml` up in batches numbered by their first line, forwards cancels as SIGTERM,
//! and reports each job's end. Everything needed to carry on after a restart is in the job
//! directory, so a restarted worker re-attaches to its still-running jobs or reports them
//! lost.
//!
//! Code map: [`daemon`] (poll loop, signals, drain, reload) → [`jobs`] (the job table) →
//! [`task`] (one job: [`tail`] the log, upload through a [`Reporter`], [`outcome`] at the
//! end) with [`process`] and [`jobdir`] below; [`client`] is the HTTP side of [`Reporter`];
//! [`devices`] scans the device files; [`retry`] paces retries and their log lines.

pub mod client;
pub mod daemon;
pub mod devices;
pub mod error;
pub mod jobdir;
pub mod jobs;
pub mod options;
pub mod outcome;
pub mod process;
pub mod report;
pub mod retry;
pub mod tail;
pub mod task;

pub use client::Api;
pub use daemon::{Exit, run};
pub use error::WorkerError;
pub use options::WorkerOptions;
pub use report::{FinishReply, Reporter};
