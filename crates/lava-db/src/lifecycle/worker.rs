//! A worker's state (online from its heartbeats, offline after silence, taking its jobs with
//! it) and its health (an admin's or a fixture's), each change recorded as a worker
//! transition.

use lava_common::error_type::ErrorType;
use lava_common::fixture::WorkerRecord;
use lava_common::ids::{JobId, WorkerName};
use lava_common::state::{JobHealth, WorkerHealth, WorkerState};

use super::Illegal;
use super::finish::{Ending, finish};
use crate::{Db, Error, jobs, notify, workers};

/// Refuses a change the worker state machines do not allow.
fn check<T: Copy + PartialEq + std::fmt::Display>(
    hostname: &WorkerName,
    (from, to): (T, T),
    allowed: impl Fn(T, T) -> bool,
) -> Result<(), Illegal> {
    if from == to || allowed(from, to) {
        Ok(())
    } else {
        Err(Illegal {
            what: format!("worker '{hostname}'"),
            from: from.to_string(),
            to: to.to_string(),
        })
    }
}

async fn record(
    c: &impl Db,
    hostname: &WorkerName,
    state: (WorkerState, WorkerState),
    health: (WorkerHealth, WorkerHealth),
    actor: Option<i64>,
    reason: &str,
) -> Result<(), Error> {
    check(hostname, state, WorkerState::can_transition_to)?;
    check(hostname, health, WorkerHealth::can_transition_to)?;
    c.execute(
        "INSERT INTO worker_transitions (worker, old_state, new_state, old_health, new_health,
            actor_id, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &hostname, &state.0, &state.1, &health.0, &health.1, &actor, &reason,
        ],
    )
    .await?;
    Ok(())
}

/// Records a heartbeat: last ping now, online, version, in one statement (every poll makes
/// one). Returns the previous state; a worker coming online is recorded and wakes the
/// scheduler.
pub async fn heartbeat(
    c: &impl Db,
    hostname: &WorkerName,
    version: &str,
) -> Result<WorkerState, Error> {
    let row = c
        .query_one(
            "UPDATE workers w SET last_ping = now(), state = 'online', version = $2
             FROM (SELECT state FROM workers WHERE hostname = $1 FOR UPDATE) old
             WHERE w.hostname = $1 RETURNING old.state AS old_state, w.health",
            &[&hostname, &version],
        )
        .await?;
    let old: WorkerState = row.try_get("old_state")?;
    if old != WorkerState::Online {
        let health: WorkerHealth = row.try_get("health")?;
        let state = (old, WorkerState::Online);
        record(c, hostname, state, (health, health), None, "heartbeat").await?;
        let payload = format!("worker {hostname} online");
        notify::send(c, notify::SCHEDULER, &payload).await?;
    }
    Ok(old)
}

/// Marks a worker offline (heartbeat timeout) and records why.
pub async fn mark_offline(c: &impl Db, hostname: &WorkerName, reason: &str) -> Result<(), Error> {
    let row = c
        .query_opt(
            "UPDATE workers SET state = 'offline' WHERE hostname = $1 AND state = 'online' RETURNING health",
            &[&hostname],
        )
        .await?;
    if let Some(row) = row {
        let health: WorkerHealth = row.try_get("health")?;
        let state = (WorkerState::Online, WorkerState::Offline);
        record(c, hostname, state, (health, health), None, reason).await?;
    }
    Ok(())
}

/// A worker gone silent: offline, and every job it held ends incomplete, the lab's fault
/// (its devices are checked again before their next job). Returns those jobs.
pub async fn lost(c: &impl Db, hostname: &WorkerName, reason: &str) -> Result<Vec<JobId>, Error> {
    mark_offline(c, hostname, reason).await?;
    let ending = Ending {
        health: JobHealth::Incomplete,
        error_type: Some(ErrorType::Infrastructure),
        comment: Some(reason),
        reason,
    };
    let mut ended = Vec::new();
    for jobs::WorkerJob { id, .. } in jobs::of_worker(c, hostname).await? {
        finish(c, id, &ending).await?;
        ended.push(id);
    }
    Ok(ended)
}

/// The admin-editable fields of a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerUpdate<'a> {
    /// Admin health.
    pub health: WorkerHealth,
    /// Free text.
    pub description: &'a str,
    /// Jobs it may run at once (0: no limit).
    pub job_limit: i32,
}

/// Applies an admin's `u` to worker `hostname`; returns the health it had. The update names
/// the health it read, so a concurrent change shows as a conflict instead of being
/// overwritten. A worker back to active, or with a higher limit, may take queued jobs now, so
/// the scheduler is woken.
pub async fn update(
    c: &impl Db,
    hostname: &WorkerName,
    u: &WorkerUpdate<'_>,
    actor: Option<i64>,
    reason: &str,
) -> Result<WorkerHealth, Error> {
    if u.job_limit < 0 {
        return Err(Error::Invalid(format!(
            "job limit {} is negative: use 0 for no limit",
            u.job_limit
        )));
    }
    let w = workers::get(c, hostname)
        .await?
        .ok_or_else(|| Error::not_found("worker", hostname))?;
    check(
        hostname,
        (w.health, u.health),
        WorkerHealth::can_transition_to,
    )?;
    let n = c
        .execute(
            "UPDATE workers SET health = $3, description = $4, job_limit = $5
             WHERE hostname = $1 AND health = $2",
            &[
                &hostname,
                &w.health,
                &u.health,
                &u.description,
                &u.job_limit,
            ],
        )
        .await?;
    if n == 0 {
        return Err(Error::Conflict(format!(
            "worker '{hostname}' changed meanwhile; try again"
        )));
    }
    if w.health != u.health {
        let state = (w.state, w.state);
        record(c, hostname, state, (w.health, u.health), actor, reason).await?;
    }
    notify::send(c, notify::SCHEDULER, &format!("worker {hostname} changed")).await?;
    Ok(w.health)
}

/// Inserts or updates a worker from a fixture record (its token is left alone); a change of
/// health is recorded with `reason`.
pub async fn load(c: &impl Db, w: &WorkerRecord, reason: &str) -> Result<(), Error> {
    let before = workers::get(c, &w.hostname).await?;
    let row = c
        .query_one(
            "INSERT INTO workers (hostname, description, health, job_limit) VALUES ($1, $2, $3, $4)
             ON CONFLICT (hostname) DO UPDATE SET description = EXCLUDED.description,
                health = EXCLUDED.health, job_limit = EXCLUDED.job_limit
             RETURNING state",
            &[&w.hostname, &w.description, &w.health, &w.job_limit],
        )
        .await?;
    if let Some(old) = before.filter(|old| old.health != w.health) {
        let state: WorkerState = row.try_get("state")?;
        record(
            c,
            &w.hostname,
            (state, state),
            (old.health, w.health),
            None,
            reason,
        )
        .await?;
    }
    Ok(())
}
