//! The queue: submitted jobs waiting for a device, as `scheduler.jobs.queue` lists them and
//! as lab tools (KernelCI) count them per device type.

use lava_common::state::JobState;

use crate::job_list::{self, JobFilter};
use crate::viewer::Viewer;
use crate::{Db, Error};

/// A job in state `submitted`, waiting for a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedJob {
    /// The job id that `scheduler.jobs.show` and the job's page take.
    pub id: i64,
    /// The job's name (`job_name` in its definition).
    pub description: String,
    /// The device type it asked for (none when it named a device).
    pub requested_device_type: Option<String>,
    /// Who submitted it (none when the account is gone).
    pub submitter: Option<String>,
}

/// The queued jobs `viewer` may see, newest first, of the given device types (all when
/// `None`), `limit` of them from `start`.
pub async fn list(
    c: &impl Db,
    viewer: &Viewer,
    device_types: Option<&[String]>,
    start: i64,
    limit: i64,
) -> Result<Vec<QueuedJob>, Error> {
    let (user, su) = viewer.params();
    let types: Option<Vec<String>> = device_types.map(<[String]>::to_vec);
    let sql = format!(
        "SELECT j.id, j.description, j.requested_device_type, u.username
         FROM jobs j LEFT JOIN users u ON u.id = j.submitter_id
         WHERE j.state = 'submitted' AND {}
           AND ($3::text[] IS NULL OR j.requested_device_type = ANY($3))
         ORDER BY j.id DESC OFFSET $4 LIMIT $5",
        Viewer::job_condition("j", 1)
    );
    let rows = c
        .query(&sql, &[&user, &su, &types, &start.max(0), &limit.max(0)])
        .await?;
    rows.iter()
        .map(|r| {
            Ok(QueuedJob {
                id: r.try_get("id")?,
                description: r.try_get("description")?,
                requested_device_type: r.try_get("requested_device_type")?,
                submitter: r.try_get("username")?,
            })
        })
        .collect()
}

/// How many queued jobs of `device_type` `viewer` may see, from the counters: a few rows
/// read whatever the size of the jobs table.
pub async fn depth(c: &impl Db, viewer: &Viewer, device_type: &str) -> Result<i64, Error> {
    let f = JobFilter {
        state: Some(JobState::Submitted),
        device_type: Some(device_type.into()),
        ..JobFilter::default()
    };
    job_list::count(c, viewer, &f).await
}

/// Queues `n` public jobs of `device_type` in one statement (benchmarks only: no plan, no
/// definition worth the name, and one event notification per row).
pub async fn insert_many_for_bench(c: &impl Db, n: i64, device_type: &str) -> Result<u64, Error> {
    let rows = c
        .execute(
            "INSERT INTO jobs (description, original_definition, requested_device_type)
             SELECT 'queued ' || g, 'actions: []', $1 FROM generate_series(1::bigint, $2::bigint) AS g",
            &[&device_type, &n],
        )
        .await?;
    c.execute("ANALYZE jobs", &[]).await?;
    Ok(rows)
}
