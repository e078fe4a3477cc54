//! A realistic job history made in a few statements, for tests and benchmarks that need a
//! big lab's tables (the plans of the job lists at scale); real jobs go through
//! [`crate::jobs::insert`] and the lifecycle.
//!
//! The shape: 10 device types of 10 devices each, 20 submitters, jobs submitted evenly over
//! the past year (the newest 1% still queued or running), 5% health checks, 85% complete,
//! 10% incomplete, 5% canceled, 3% private (personal or group), a definition of about 1 KiB,
//! one test suite with three test cases per finished job, and each job's state transitions
//! (submitted → scheduled → running → finished, as far as it got). Statistics are refreshed
//! at the end (`VACUUM ANALYZE`), as autovacuum keeps them on a lab's server. Logs are the
//! caller's (files are not this crate's): [`record_logs`] records what it wrote.

use crate::{Db, Error};

/// What [`fill`] made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filled {
    /// How many jobs were made (the `n` asked for).
    pub jobs: u64,
    /// How many test cases those jobs hold.
    pub test_cases: u64,
    /// How many state transitions were recorded for them.
    pub transitions: u64,
}

/// Fills an empty database (device types `type-0`…, devices `dev-00`… (`dev-TD`: type T, number D), users `user-0`…)
/// with `n` jobs of history. Not for a database a lab uses: it makes names of its own.
pub async fn fill(c: &impl Db, n: i64) -> Result<Filled, Error> {
    for sql in [
        "INSERT INTO device_types (name) SELECT 'type-' || t FROM generate_series(0, 9) t",
        "INSERT INTO devices (hostname, device_type, health)
             SELECT 'dev-' || (d % 10) || (d / 10), 'type-' || (d % 10), 'good'
             FROM generate_series(0, 99) d",
        "INSERT INTO users (username) SELECT 'user-' || u FROM generate_series(0, 19) u",
    ] {
        c.execute(sql, &[]).await?;
    }
    let jobs = c
        .execute(
            "INSERT INTO jobs (submitter_id, description, original_definition, plan, health_check,
                 requested_device_type, actual_device, priority, visibility, state, health,
                 submit_time, start_time, end_time, failure_comment)
             SELECT (SELECT id FROM users WHERE username = 'user-' || (g % 20)),
                 'job ' || g,
                 'job_name: job ' || g || E'\\ndevice_type: type-' || (g % 10) ||
                     E'\\ntimeouts: {job: {minutes: 30}}\\nvisibility: public\\nactions:\\n' ||
                     repeat(E'- test: {definitions: [{from: git, path: smoke.yaml}]}\\n', 18),
                 jsonb_build_object('job_name', 'job ' || g, 'device_type', 'type-' || (g % 10)),
                 g % 20 = 7,
                 'type-' || (g % 10),
                 CASE WHEN late THEN NULL ELSE 'dev-' || (g % 10) || ((g / 10) % 10) END,
                 50,
                 (CASE WHEN g % 100 = 3 THEN 'personal' WHEN g % 100 = 4 THEN 'group'
                       ELSE 'public' END)::job_visibility,
                 (CASE WHEN NOT late THEN 'finished' WHEN g % 2 = 0 THEN 'submitted'
                       ELSE 'running' END)::job_state,
                 (CASE WHEN late THEN 'unknown' WHEN g % 20 < 2 THEN 'incomplete'
                       WHEN g % 20 = 2 THEN 'canceled' ELSE 'complete' END)::job_health,
                 at, at + interval '1 minute',
                 CASE WHEN late THEN NULL ELSE at + interval '1 minute' + (g % 600) * interval '1 second' END,
                 CASE WHEN g % 20 < 2 THEN 'an error' END
             FROM (SELECT g, g > $1 - $1 / 100 AS late,
                          now() - (($1 - g)::float8 / $1) * interval '365 days' AS at
                   FROM generate_series(1::bigint, $1::bigint) AS g) s",
            &[&n],
        )
        .await?;
    for sql in [
        "INSERT INTO test_suites (job_id, name) SELECT id, '0_smoke' FROM jobs WHERE state = 'finished'",
        "INSERT INTO test_cases (suite_id, name, result, logged)
             SELECT s.id, 'case-' || k, (CASE WHEN k = 2 AND s.id % 10 = 0 THEN 'fail' ELSE 'pass' END)::test_result,
                 j.end_time
             FROM test_suites s JOIN jobs j ON j.id = s.job_id, generate_series(0, 2) k",
    ] {
        c.execute(sql, &[]).await?;
    }
    // Scheduled five seconds before it started; each step on its device, by the scheduler
    // (no actor).
    let transitions = c
        .execute(
            "INSERT INTO job_transitions (job_id, created, old_state, new_state, old_health,
                 new_health, device, reason)
             SELECT j.id, t.at, t.old::job_state, t.new::job_state, 'unknown',
                 (CASE WHEN t.new = 'finished' THEN j.health ELSE 'unknown' END)::job_health,
                 j.actual_device, t.reason
             FROM jobs j, LATERAL (VALUES
                 (1, j.start_time - interval '5 seconds', 'submitted', 'scheduled', 'assigned'),
                 (2, j.start_time, 'scheduled', 'running', 'started by the worker'),
                 (3, j.end_time, 'running', 'finished', 'ended by the worker')
             ) AS t(step, at, old, new, reason)
             WHERE j.state <> 'submitted' AND (t.step < 3 OR j.state = 'finished')
             ORDER BY j.id, t.step",
            &[],
        )
        .await?;
    let cases = c
        .query_one("SELECT count(*) AS n FROM test_cases", &[])
        .await?;
    c.execute(
        "VACUUM ANALYZE jobs, job_transitions, test_suites, test_cases, users, devices",
        &[],
    )
    .await?;
    Ok(Filled {
        jobs,
        test_cases: cases.try_get::<_, i64>("n")? as u64,
        transitions,
    })
}

/// Whether the database holds any job (a fill needs an empty one).
pub async fn has_jobs(c: &impl Db) -> Result<bool, Error> {
    let row = c
        .query_one("SELECT EXISTS (SELECT 1 FROM jobs) AS any", &[])
        .await?;
    Ok(row.try_get("any")?)
}

/// Up to `limit` ids of jobs that have started, above `after`, in order: the jobs a filled
/// history has logs for.
pub async fn started_jobs_after(c: &impl Db, after: i64, limit: i64) -> Result<Vec<i64>, Error> {
    let rows = c
        .query(
            "SELECT id FROM jobs WHERE id > $1 AND state <> 'submitted' ORDER BY id LIMIT $2",
            &[&after, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| r.try_get::<_, i64>("id").map_err(Error::from))
        .collect()
}

/// Records the logs a filler wrote, `(job, lines, bytes)` each: the end of each log and the
/// first entry of its line index (line 0 at byte 0; readers seek forward from there). Jobs
/// that have a log already are left alone.
pub async fn record_logs(c: &impl Db, logs: &[(i64, i64, i64)]) -> Result<u64, Error> {
    let ids: Vec<i64> = logs.iter().map(|l| l.0).collect();
    let lines: Vec<i64> = logs.iter().map(|l| l.1).collect();
    let bytes: Vec<i64> = logs.iter().map(|l| l.2).collect();
    let n = c
        .execute(
            "WITH l AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])
                            AS l(id, lines, bytes)),
                  done AS (UPDATE jobs j SET log_lines = l.lines, log_bytes = l.bytes FROM l
                           WHERE j.id = l.id AND j.log_lines = 0 AND j.log_bytes = 0
                           RETURNING j.id)
             INSERT INTO job_log_index (job_id, line, byte_offset)
             SELECT id, 0, 0 FROM done ON CONFLICT (job_id, line) DO NOTHING",
            &[&ids, &lines, &bytes],
        )
        .await?;
    Ok(n)
}
