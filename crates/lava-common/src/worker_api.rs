//! The wire types between the server and its workers (`/api/worker/v1/…`, JSON).
//!
//! Workers dial out to the server over HTTP(S) and never touch the database. Every request
//! carries `Authorization: Token <worker token>` and the [`PROTOCOL_HEADER`]; a worker and a
//! server of different releases work together as long as [`PROTOCOL_VERSION`] matches, and
//! refuse each other with a clear message otherwise.
//!
//! - `POST poll` ([`PollRequest`] → [`PollResponse`]): the heartbeat, the device report and
//!   the long poll in one; it returns as soon as there is a job to start or to cancel.
//! - `POST jobs/{id}/started` (empty → [`Ack`]).
//! - `POST jobs/{id}/logs` ([`LogBatch`] → [`LogAck`]): lines with the number of the first,
//!   so a retried batch is neither duplicated nor lost.
//! - `POST jobs/{id}/finished` ([`JobFinished`] → [`Ack`], or 409 [`LogAck`] when lines
//!   are missing).

use serde::{Deserialize, Serialize};

use crate::ids::{DeviceName, DeviceTypeName, JobId};
use crate::job::SecretValues;

/// The protocol spoken by this release.
pub const PROTOCOL_VERSION: u32 = 1;

/// The header that carries [`PROTOCOL_VERSION`].
pub const PROTOCOL_HEADER: &str = "lava-worker-protocol";

/// The URL prefix of the worker API.
pub const PREFIX: &str = "/api/worker/v1";

/// A device the worker has a configuration file for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceReport {
    /// The device's hostname (the `.conf` file's name).
    pub hostname: DeviceName,
    /// The device type its configuration file names.
    pub device_type: DeviceTypeName,
}

/// A job the worker is running (or has found running after a restart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningJob {
    /// The job's id, as its [`JobStart`] gave it.
    pub id: JobId,
    /// How many log lines the worker has (the server answers with what it has).
    pub log_lines: u64,
}

/// Heartbeat, device report and long poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollRequest {
    /// The worker's release, for the admin's eyes.
    pub version: String,
    /// The devices configured on the worker.
    pub devices: Vec<DeviceReport>,
    /// The jobs it runs now.
    pub running: Vec<RunningJob>,
    /// How long the server may hold the request when there is nothing to do.
    pub wait_ms: u64,
}

/// A job for the worker to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStart {
    /// The job's id: the worker names the job by it in every later call.
    pub id: JobId,
    /// The device to run it on (one of the worker's).
    pub device: DeviceName,
    /// The job definition as stored (its secrets masked).
    pub definition: String,
    /// The values of its `secrets` block, which the stored definition masks.
    #[serde(default, skip_serializing_if = "SecretValues::is_empty")]
    pub secrets: SecretValues,
}

/// What the worker must do now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollResponse {
    /// Jobs to start.
    pub start: Vec<JobStart>,
    /// Jobs to cancel (SIGTERM to their `lava-dispatch`).
    pub cancel: Vec<JobId>,
    /// Jobs the worker reports running that the server considers over: stop them quietly.
    pub forget: Vec<JobId>,
    /// Where the server's copy of each running job's log ends (line count), so a worker
    /// that restarted resumes its uploads there.
    pub log_lines: Vec<RunningJob>,
}

/// The most bytes of `output.yaml` a worker puts in one [`LogBatch`]. A longer single line is
/// cut to this size by the worker, so no batch is ever bigger and the server's body limit
/// (`limits.log_batch_bytes`, at least [`crate::limits::MIN_LOG_BATCH_BYTES`]) always takes it.
pub const LOG_BATCH_LINES_BYTES: usize = 1 << 20;

/// A batch of log lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogBatch {
    /// The number (0-based) of the first line in `lines`.
    pub offset: u64,
    /// Whole lines of `output.yaml`, each ending in `\n`.
    pub lines: String,
}

/// The server's line count after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogAck {
    /// The number of lines the server holds; the next batch starts there.
    pub lines: u64,
}

/// How a job ended on the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishedHealth {
    /// `lava-dispatch` exited 0.
    Complete,
    /// It ended incomplete (or could not run).
    Incomplete,
    /// It was canceled.
    Canceled,
}

/// The end of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFinished {
    /// How it ended.
    pub health: FinishedHealth,
    /// LAVA's error type (`Infrastructure`, `Job`, `Test`, `LAVATimeout`, …), if it failed.
    pub error_type: Option<crate::error_type::ErrorType>,
    /// The error message, if it failed.
    pub error_msg: Option<String>,
    /// How many log lines the job wrote; the server refuses to finish with fewer.
    pub log_lines: u64,
}

/// A plain acknowledgement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// Always true.
    pub ok: bool,
}

/// An error from the worker API (any non-2xx status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong, naming the value at fault.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_round_trips() {
        let r = PollRequest {
            version: "0.1.0".into(),
            devices: vec![DeviceReport {
                hostname: "kvm01".into(),
                device_type: "kvm".into(),
            }],
            running: vec![RunningJob {
                id: JobId(7),
                log_lines: 12,
            }],
            wait_ms: 20_000,
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<PollRequest>(&text).unwrap(), r);
        let f: JobFinished = serde_json::from_str(
            r#"{"health": "incomplete", "error_type": "Infrastructure", "error_msg": "x", "log_lines": 3}"#,
        )
        .unwrap();
        assert_eq!(f.health, FinishedHealth::Incomplete);
        assert_eq!(
            f.error_type,
            Some(crate::error_type::ErrorType::Infrastructure)
        );
    }
}
