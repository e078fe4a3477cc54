//! The history behind the charts, derived from what is already stored: jobs' submit, start
//! and end times (queue length), device transitions (device health) and test cases (pass
//! rates). Every query counts only the jobs the caller may see.

use chrono::{DateTime, Utc};
use lava_common::ids::DeviceTypeName;
use lava_common::state::DeviceHealth;

use crate::viewer::Viewer;
use crate::{Db, Error};

/// Passes and fails of one suite on one device type on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct PassRate {
    /// The device type (requested, or that of the device the job ran on).
    pub device_type: DeviceTypeName,
    /// The suite (test definition).
    pub suite: String,
    /// The day (midnight UTC).
    pub day: DateTime<Utc>,
    /// Passed cases.
    pub pass: i64,
    /// Failed cases.
    pub fail: i64,
}

/// Daily pass and fail counts per device type and suite since `from`.
pub async fn pass_rates(
    c: &impl Db,
    viewer: &Viewer,
    from: DateTime<Utc>,
) -> Result<Vec<PassRate>, Error> {
    let (user, su) = viewer.params();
    let sql = format!(
        "SELECT coalesce(j.requested_device_type, d.device_type, '') AS device_type,
                s.name AS suite, date_trunc('day', tc.logged) AS day,
                count(*) FILTER (WHERE tc.result = 'pass') AS pass,
                count(*) FILTER (WHERE tc.result = 'fail') AS fail
         FROM test_cases tc JOIN test_suites s ON s.id = tc.suite_id
         JOIN jobs j ON j.id = s.job_id LEFT JOIN devices d ON d.hostname = j.actual_device
         WHERE tc.logged >= $3 AND {}
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        Viewer::job_condition("j", 1)
    );
    let rows = c.query(&sql, &[&user, &su, &from]).await?;
    rows.iter()
        .map(|r| {
            Ok(PassRate {
                device_type: r.try_get("device_type")?,
                suite: r.try_get("suite")?,
                day: r.try_get("day")?,
                pass: r.try_get("pass")?,
                fail: r.try_get("fail")?,
            })
        })
        .collect()
}

/// The queue length at each of `points` instants from `from` to `to`: jobs submitted by then
/// and not yet started (a job canceled in the queue has its start and end set when it ends).
///
/// One read finds the jobs queued at some point of the window, through the start-time index
/// (started after `from`, or not started); each job then counts from the first instant at or
/// after its submission to the first at or after its start, found by binary search among the
/// instants (`width_bucket`), and a running sum over the instants adds up what reached each.
/// The cost follows the jobs of the window, not the history: sampling each instant against
/// every job read a million-job history 96 times (seconds). Both steps are `MATERIALIZED`:
/// PostgreSQL inlines a CTE used once, which put the whole read back inside each instant.
pub async fn queue_length(
    c: &impl Db,
    viewer: &Viewer,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    points: i32,
) -> Result<Vec<(DateTime<Utc>, i64)>, Error> {
    let (user, su) = viewer.params();
    let sql = format!(
        "WITH p AS (
             SELECT g, $3::timestamptz + (($4::timestamptz - $3::timestamptz) / greatest($5::int - 1, 1)) * g AS t
             FROM generate_series(0, $5::int - 1) g),
         ps AS (SELECT array_agg(t ORDER BY g) AS ts FROM p),
         q AS MATERIALIZED (
             SELECT j.submit_time AS t0, coalesce(j.start_time, j.end_time, 'infinity') AS t1
             FROM jobs j
             WHERE j.submit_time <= $4::timestamptz
               AND (j.start_time > $3::timestamptz OR j.start_time IS NULL)
               AND coalesce(j.start_time, j.end_time, 'infinity') > $3::timestamptz
               AND {}),
         -- k: how many instants come before the event, so it counts from instant k on.
         ev AS MATERIALIZED (
             SELECT e.k, sum(e.d) AS d
             FROM q CROSS JOIN ps CROSS JOIN LATERAL (VALUES
                 (width_bucket(q.t0, ps.ts) - coalesce(ps.ts[width_bucket(q.t0, ps.ts)] = q.t0, false)::int, 1),
                 (width_bucket(q.t1, ps.ts) - coalesce(ps.ts[width_bucket(q.t1, ps.ts)] = q.t1, false)::int, -1)
             ) AS e(k, d)
             GROUP BY e.k)
         SELECT p.t, (sum(coalesce(ev.d, 0)) OVER (ORDER BY p.g))::bigint AS n
         FROM p LEFT JOIN ev ON ev.k = p.g ORDER BY p.g",
        Viewer::job_condition("j", 1)
    );
    let rows = c.query(&sql, &[&user, &su, &from, &to, &points]).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("t")?, r.try_get("n")?)))
        .collect()
}

/// How many devices had each health at each of `points` instants from `from` to `to`: the
/// health of a device at an instant is the new health of its last transition before it, or
/// the old health of its first one after it, or its health now when it never changed.
pub async fn device_health(
    c: &impl Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    points: i32,
) -> Result<Vec<(DateTime<Utc>, DeviceHealth, i64)>, Error> {
    let rows = c
        .query(
            "WITH p AS (SELECT $1::timestamptz + (($2::timestamptz - $1::timestamptz) / greatest($3::int - 1, 1)) * g AS t
                        FROM generate_series(0, $3::int - 1) g)
             SELECT p.t, h.health, count(*) AS n
             FROM p CROSS JOIN devices d
             CROSS JOIN LATERAL (SELECT coalesce(
                 (SELECT t.new_health FROM device_transitions t
                  WHERE t.device = d.hostname AND t.created <= p.t ORDER BY t.id DESC LIMIT 1),
                 (SELECT t.old_health FROM device_transitions t
                  WHERE t.device = d.hostname AND t.created > p.t ORDER BY t.id LIMIT 1),
                 d.health) AS health) h
             GROUP BY p.t, h.health ORDER BY p.t, h.health",
            &[&from, &to, &points],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("t")?, r.try_get("health")?, r.try_get("n")?)))
        .collect()
}
