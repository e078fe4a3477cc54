//! What the scheduler's pass ends: workers gone silent and jobs queued too long. Rows are
//! locked with `FOR UPDATE SKIP LOCKED`, so two passes at once (which the advisory lock
//! prevents anyway) never handle one twice. Assignment is in [`crate::lifecycle::assign`].

use lava_common::ids::{JobId, WorkerName};

use crate::{Db, Error};

/// Workers online whose last heartbeat is older than `timeout_secs`.
pub async fn silent_workers(c: &impl Db, timeout_secs: f64) -> Result<Vec<WorkerName>, Error> {
    let rows = c
        .query(
            "SELECT hostname FROM workers WHERE state = 'online'
               AND last_ping < now() - make_interval(secs => $1) FOR UPDATE SKIP LOCKED",
            &[&timeout_secs],
        )
        .await?;
    rows.iter().map(|r| Ok(r.try_get("hostname")?)).collect()
}

/// Queued jobs older than `hours` (the queue timeout).
pub async fn stale_jobs(c: &impl Db, hours: f64) -> Result<Vec<JobId>, Error> {
    let rows = c
        .query(
            "SELECT id FROM jobs WHERE state = 'submitted'
               AND submit_time < now() - make_interval(secs => $1::float8 * 3600) FOR UPDATE SKIP LOCKED",
            &[&hours],
        )
        .await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// Queued jobs whose own queue timeout (`timeouts.queue`) has passed, with that timeout in
/// seconds.
pub async fn queue_deadlines_passed(c: &impl Db) -> Result<Vec<(JobId, f64)>, Error> {
    let rows = c
        .query(
            "SELECT id, extract(epoch FROM queue_deadline - submit_time)::float8 AS secs
             FROM jobs WHERE state = 'submitted' AND queue_deadline IS NOT NULL
               AND queue_deadline < now() FOR UPDATE SKIP LOCKED",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("secs")?)))
        .collect()
}

/// Readies the pass's transaction: no JIT compilation for the rest of it. The pass is a few
/// short queries, but over a big queue the planner's cost estimates cross `jit_above_cost`,
/// and compiling then costs more than running: measured at 50,000 queued jobs and 2,000
/// idle devices, the candidates query took 50 ms instead of 12 without statistics, and
/// 260-340 ms instead of 13 with them (as autovacuum leaves a real lab). `SET LOCAL` ends
/// with the transaction, so the connection's setting is untouched afterwards.
pub async fn begin_pass(c: &impl Db) -> Result<(), Error> {
    c.execute("SET LOCAL jit = off", &[]).await?;
    Ok(())
}
