//! Admin changes to queued jobs. Cancelling lives in `jobs.rs` with the rest of the life
//! cycle; changing the priority is only meaningful before the scheduler has picked a job.

use lava_common::ids::JobId;
use lava_common::state::JobState;

use crate::{Db, Error, notify};

/// The highest priority a job can have (the lowest is 0), as the schema's check says.
pub const MAX_PRIORITY: i32 = 100;

/// Sets the priority of a queued job and wakes the scheduler (the queue order changed).
/// A job that has left the queue is refused with a conflict naming its state, so the
/// change cannot silently apply to a job that already runs.
pub async fn set_priority(c: &impl Db, id: JobId, priority: i32) -> Result<(), Error> {
    if !(0..=MAX_PRIORITY).contains(&priority) {
        return Err(Error::Invalid(format!(
            "priority {priority} is out of range: it must be 0 to {MAX_PRIORITY}"
        )));
    }
    let n = c
        .execute(
            "UPDATE jobs SET priority = $2 WHERE id = $1 AND state = 'submitted'",
            &[&id, &priority],
        )
        .await?;
    if n == 0 {
        let row = c
            .query_opt("SELECT state FROM jobs WHERE id = $1", &[&id])
            .await?;
        return match row {
            None => Err(Error::not_found("job", id)),
            Some(r) => {
                let state: JobState = r.try_get("state")?;
                Err(Error::Conflict(format!(
                    "job {id} is {state}: only a queued job's priority can change"
                )))
            }
        };
    }
    notify::send(c, notify::SCHEDULER, &format!("priority {id}")).await?;
    Ok(())
}

/// One recorded change of a job, as the admin pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobChange {
    /// The state it left.
    pub old_state: JobState,
    /// The state it reached.
    pub new_state: JobState,
    /// Its health after the change.
    pub new_health: lava_common::state::JobHealth,
    /// The user who made the change, if a person did.
    pub actor: Option<String>,
    /// Why the change was made (the admin's words or the daemon's).
    pub reason: String,
}

/// A job's transitions, oldest first.
pub async fn transitions(c: &impl Db, id: JobId) -> Result<Vec<JobChange>, Error> {
    let rows = c
        .query(
            "SELECT t.old_state, t.new_state, t.new_health, u.username, t.reason
             FROM job_transitions t LEFT JOIN users u ON u.id = t.actor_id
             WHERE t.job_id = $1 ORDER BY t.id",
            &[&id],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(JobChange {
                old_state: r.try_get("old_state")?,
                new_state: r.try_get("new_state")?,
                new_health: r.try_get("new_health")?,
                actor: r.try_get("username")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect()
}
