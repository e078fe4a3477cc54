//! LISTEN/NOTIFY channels: how the scheduler and the web app wake each other.

use crate::{Db, Error};
use lava_common::ids::JobId;

/// Wakes the scheduler (payload: what happened, for the log).
pub const SCHEDULER: &str = "lava_scheduler";

/// Wakes a worker's pending long poll (payload: the worker's hostname).
pub const WORKER: &str = "lava_worker";

/// Sends a notification; it is delivered when the surrounding transaction commits.
pub async fn send(c: &impl Db, channel: &str, payload: &str) -> Result<(), Error> {
    c.execute("SELECT pg_notify($1, $2)", &[&channel, &payload])
        .await?;
    Ok(())
}

/// The payload on [`WORKER`] that says job `job`'s log grew: the web app's LISTEN connection
/// wakes whoever follows that log (worker hostnames never contain a `/`, so no clash).
pub fn log_payload(job: JobId) -> String {
    format!("log/{job}")
}

/// Every change of a job's, device's or worker's state or health (payload: the row's fields
/// as JSON, with `topic`), sent by the triggers of migration V10; the event publisher of
/// `lava-server web` turns them into LAVA's events.
pub const EVENTS: &str = "lava_events";
