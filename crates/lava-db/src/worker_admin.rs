//! What admins see of a worker's history. Their changes (health, description, job limit)
//! are made by [`crate::lifecycle::worker::update`].

use lava_common::ids::WorkerName;
use lava_common::state::WorkerHealth;

use crate::{Db, Error};

/// A worker's health changes, newest first: (old, new, actor's username, reason).
pub async fn health_history(
    c: &impl Db,
    hostname: &WorkerName,
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
