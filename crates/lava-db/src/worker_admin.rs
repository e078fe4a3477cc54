//! Admin changes to a worker: its health (active, maintenance, retired), description and job
//! limit. A health change is recorded as a worker transition with who made it and why.

use lava_common::state::WorkerHealth;

use crate::{Db, Error, notify};

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

/// Applies `u` to worker `hostname`; returns the health it had. The update names the health
/// it read, so a concurrent change shows as a conflict instead of being overwritten.
pub async fn update(
    c: &impl Db,
    hostname: &str,
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
    let w = crate::workers::get(c, hostname)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "worker",
            key: hostname.to_string(),
        })?;
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
        c.execute(
            "INSERT INTO worker_transitions (worker, old_state, new_state, old_health, new_health,
                actor_id, reason) VALUES ($1, $2, $2, $3, $4, $5, $6)",
            &[&hostname, &w.state, &w.health, &u.health, &actor, &reason],
        )
        .await?;
    }
    // A worker back to active, or with a higher limit, may take queued jobs now.
    notify::send(c, notify::SCHEDULER, &format!("worker {hostname} changed")).await?;
    Ok(w.health)
}

/// A worker's health changes, newest first: (old, new, actor's username, reason).
pub async fn health_history(
    c: &impl Db,
    hostname: &str,
    limit: i64,
) -> Result<Vec<(WorkerHealth, WorkerHealth, Option<String>, String)>, Error> {
    let rows = c
        .query(
            "SELECT t.old_health, t.new_health, u.username, t.reason
             FROM worker_transitions t LEFT JOIN users u ON u.id = t.actor_id
             WHERE t.worker = $1 AND t.old_health <> t.new_health ORDER BY t.id DESC LIMIT $2",
            &[&hostname, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("old_health")?,
                r.try_get("new_health")?,
                r.try_get("username")?,
                r.try_get("reason")?,
            ))
        })
        .collect()
}
