//! Where a job's progress goes: the server ([`super::Api`]), or a recorder in tests.
//!
//! The job task ([`super::task`]) is generic over this trait so the whole job life cycle
//! (launch, tail, upload, finish, re-attach) runs against real `lava-dispatch` processes
//! without an HTTP server.

use lava_common::ids::JobId;
use std::future::Future;

use lava_common::worker_api::{JobFinished, LogAck, LogBatch};

use super::error::WorkerError;

/// The server's answer to `finished`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReply {
    /// The job is over on the server too; the job directory can go.
    Done,
    /// The server holds only this many lines: upload from there, then finish again.
    NeedLines(u64),
}

/// The three job endpoints of the worker API.
pub trait Reporter: Clone + Send + Sync + 'static {
    /// The job's `lava-dispatch` is running.
    fn started(&self, job: JobId) -> impl Future<Output = Result<(), WorkerError>> + Send;

    /// A batch of lines; the answer is the server's line count, where the next batch starts
    /// (a 409 is an answer too, not an error).
    fn logs(
        &self,
        job: JobId,
        batch: &LogBatch,
    ) -> impl Future<Output = Result<LogAck, WorkerError>> + Send;

    /// The end of the job.
    fn finished(
        &self,
        job: JobId,
        f: &JobFinished,
    ) -> impl Future<Output = Result<FinishReply, WorkerError>> + Send;
}
