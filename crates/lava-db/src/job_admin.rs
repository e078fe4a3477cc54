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
