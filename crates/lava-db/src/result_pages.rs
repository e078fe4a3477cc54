//! Results as the web pages list them: the jobs that filed test cases, newest first, each with
//! its pass and fail counts, paged by id (`before`) so a deep page costs what the first does.

use chrono::{DateTime, Utc};
use lava_common::ids::{DeviceName, DeviceTypeName, JobId};
use lava_common::state::{JobHealth, JobState};

use crate::viewer::Viewer;
use crate::{Db, Error};

/// One job in the results list.
#[derive(Debug, Clone, PartialEq)]
pub struct JobResults {
    /// The job's id.
    pub id: JobId,
    /// Its name.
    pub description: String,
    /// The device it ran on.
    pub device: Option<DeviceName>,
    /// The device type it asked for.
    pub device_type: Option<DeviceTypeName>,
    /// Its state: a job with test suites is listed whether it has finished or not.
    pub state: JobState,
    /// Its health: `unknown` until it finishes.
    pub health: JobHealth,
    /// When it ended.
    pub end_time: Option<DateTime<Utc>>,
    /// Passed cases.
    pub pass: i64,
    /// Failed cases.
    pub fail: i64,
    /// Other cases (skip, unknown).
    pub other: i64,
}

/// Jobs with results that `viewer` may see, ids below `before` (if set), newest first.
pub async fn list(
    c: &impl Db,
    viewer: &Viewer,
    before: Option<JobId>,
    limit: i64,
) -> Result<Vec<JobResults>, Error> {
    let (user, su) = viewer.params();
    // Driven by the suites' (job_id, name) index, walked backwards from `before`: only jobs
    // that have results are visited, however many jobs have none.
    let sql = format!(
        "SELECT j.id, j.description, j.actual_device, j.requested_device_type, j.state, j.health,
                j.end_time, n.pass, n.fail, n.other
         FROM (SELECT DISTINCT s.job_id FROM test_suites s
               WHERE $3::bigint IS NULL OR s.job_id < $3
               ORDER BY s.job_id DESC) r
         JOIN jobs j ON j.id = r.job_id
         CROSS JOIN LATERAL (
             SELECT count(*) FILTER (WHERE tc.result = 'pass') AS pass,
                    count(*) FILTER (WHERE tc.result = 'fail') AS fail,
                    count(*) FILTER (WHERE tc.result NOT IN ('pass', 'fail')) AS other
             FROM test_suites s JOIN test_cases tc ON tc.suite_id = s.id
             WHERE s.job_id = j.id) n
         WHERE {}
         ORDER BY j.id DESC LIMIT $4",
        Viewer::job_condition("j", 1)
    );
    let rows = c.query(&sql, &[&user, &su, &before, &limit]).await?;
    rows.iter()
        .map(|r| {
            Ok(JobResults {
                id: r.try_get("id")?,
                description: r.try_get("description")?,
                device: r.try_get("actual_device")?,
                device_type: r.try_get("requested_device_type")?,
                state: r.try_get("state")?,
                health: r.try_get("health")?,
                end_time: r.try_get("end_time")?,
                pass: r.try_get("pass")?,
                fail: r.try_get("fail")?,
                other: r.try_get("other")?,
            })
        })
        .collect()
}
