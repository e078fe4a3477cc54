//! The transition tables as history: every state and health change with its reason (written
//! by [`crate::lifecycle`]).

use chrono::{DateTime, Utc};
use lava_common::ids::{DeviceName, JobId};
use lava_common::state::{DeviceHealth, DeviceState};

use crate::{Db, Error};

/// A recorded device transition.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceTransition {
    /// When the change was written.
    pub created: DateTime<Utc>,
    /// (before, after); equal when only the health changed.
    pub state: (DeviceState, DeviceState),
    /// (before, after); equal when only the state changed.
    pub health: (DeviceHealth, DeviceHealth),
    /// The user's name, if a person made the change.
    pub actor: Option<String>,
    /// Why the change was made (the admin's words or the daemon's).
    pub reason: String,
}

fn device_transition(r: &tokio_postgres::Row) -> Result<DeviceTransition, Error> {
    Ok(DeviceTransition {
        created: r.try_get("created")?,
        state: (r.try_get("old_state")?, r.try_get("new_state")?),
        health: (r.try_get("old_health")?, r.try_get("new_health")?),
        actor: r.try_get("username")?,
        reason: r.try_get("reason")?,
    })
}

/// A device's transitions, newest first.
pub async fn device_history(
    c: &impl Db,
    device: &DeviceName,
    limit: i64,
) -> Result<Vec<DeviceTransition>, Error> {
    let rows = c
        .query(
            "SELECT t.created, t.old_state, t.new_state, t.old_health, t.new_health, u.username,
                    t.reason
             FROM device_transitions t LEFT JOIN users u ON u.id = t.actor_id
             WHERE t.device = $1 ORDER BY t.id DESC LIMIT $2",
            &[&device, &limit],
        )
        .await?;
    rows.iter().map(device_transition).collect()
}

/// A device's transitions for `viewer`, newest first: a change made for a job the viewer may
/// not see keeps its states but not its reason (which names the job).
pub async fn device_history_for(
    c: &impl Db,
    viewer: &crate::viewer::Viewer,
    device: &DeviceName,
    limit: i64,
) -> Result<Vec<DeviceTransition>, Error> {
    let (user, su) = viewer.params();
    let sql = format!(
        "SELECT t.created, t.old_state, t.new_state, t.old_health, t.new_health, u.username,
                CASE WHEN t.job_id IS NULL OR EXISTS (SELECT 1 FROM jobs j WHERE j.id = t.job_id AND {})
                     THEN t.reason ELSE 'a job you cannot see' END AS reason
         FROM device_transitions t LEFT JOIN users u ON u.id = t.actor_id
         WHERE t.device = $3 ORDER BY t.id DESC LIMIT $4",
        crate::viewer::Viewer::job_condition("j", 1)
    );
    let rows = c.query(&sql, &[&user, &su, &device, &limit]).await?;
    rows.iter().map(device_transition).collect()
}

/// A recorded job transition.
#[derive(Debug, Clone, PartialEq)]
pub struct JobTransition {
    /// When the change was written.
    pub created: DateTime<Utc>,
    /// (before, after); equal when only the health changed.
    pub state: (lava_common::state::JobState, lava_common::state::JobState),
    /// (before, after); equal when only the state changed.
    pub health: (lava_common::state::JobHealth, lava_common::state::JobHealth),
    /// The job's device at the change; `None` while it had none (queued).
    pub device: Option<DeviceName>,
    /// The user's name, if a person made the change.
    pub actor: Option<String>,
    /// Why the change was made (the admin's words or the daemon's).
    pub reason: String,
}

/// A job's transitions, oldest first (its timeline).
pub async fn job_history(c: &impl Db, job: JobId) -> Result<Vec<JobTransition>, Error> {
    let rows = c
        .query(
            "SELECT t.created, t.old_state, t.new_state, t.old_health, t.new_health, t.device,
                    u.username, t.reason
             FROM job_transitions t LEFT JOIN users u ON u.id = t.actor_id
             WHERE t.job_id = $1 ORDER BY t.id",
            &[&job],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(JobTransition {
                created: r.try_get("created")?,
                state: (r.try_get("old_state")?, r.try_get("new_state")?),
                health: (r.try_get("old_health")?, r.try_get("new_health")?),
                device: r.try_get("device")?,
                actor: r.try_get("username")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect()
}
