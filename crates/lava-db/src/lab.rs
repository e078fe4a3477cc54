//! The lab summary of the home page: devices by health and the size of the queue and of the
//! running set, counting only the jobs the caller may see.

use lava_common::state::DeviceHealth;

use crate::viewer::Viewer;
use crate::{Db, Error};

/// The numbers of the home page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Devices per health, every health listed (zero included), in declaration order.
    pub health: Vec<(DeviceHealth, i64)>,
    /// Queued jobs the caller may see.
    pub queued: i64,
    /// Scheduled, running or canceling jobs the caller may see.
    pub running: i64,
}

/// The lab summary for `viewer`.
pub async fn summary(c: &impl Db, viewer: &Viewer) -> Result<Summary, Error> {
    let rows = c
        .query(
            "SELECT health, count(*) AS n FROM devices GROUP BY health",
            &[],
        )
        .await?;
    let mut counted = Vec::new();
    for r in &rows {
        counted.push((
            r.try_get::<_, DeviceHealth>("health")?,
            r.try_get::<_, i64>("n")?,
        ));
    }
    let health = DeviceHealth::ALL
        .iter()
        .map(|h| {
            let n = counted.iter().find(|(k, _)| k == h).map_or(0, |(_, n)| *n);
            (*h, n)
        })
        .collect();
    let (user, su) = viewer.params();
    // Both counts use the jobs_state index (state, id) and never scan finished jobs.
    let sql = format!(
        "SELECT count(*) FILTER (WHERE j.state = 'submitted') AS queued,
                count(*) FILTER (WHERE j.state <> 'submitted') AS running
         FROM jobs j WHERE j.state IN ('submitted', 'scheduled', 'running', 'canceling') AND {}",
        Viewer::job_condition("j", 1)
    );
    let row = c.query_one(&sql, &[&user, &su]).await?;
    Ok(Summary {
        health,
        queued: row.try_get("queued")?,
        running: row.try_get("running")?,
    })
}
