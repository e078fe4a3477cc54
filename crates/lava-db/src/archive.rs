//! The job archive: finished jobs older than a cut-off deleted in small batches, each its own
//! short transaction, so a lab with a million jobs of history can shed the old ones while the
//! scheduler, workers and web app go on (`lava-server manage jobs rm --older-than DAYS`).
//!
//! Deleting a job deletes what only it owns through the schema's `ON DELETE CASCADE`: its
//! test suites and cases, transitions, log index, callbacks and their tokens, viewing groups.
//! Rows that outlive it (bundles filed into streams, device transitions) keep their place
//! with no job. The log files on disk are the caller's to remove once a batch is committed.

use chrono::{DateTime, Utc};
use lava_common::ids::JobId;

use crate::{Db, Error};

/// One batch of old jobs: their ids and how many test cases they hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The jobs, by id.
    pub jobs: Vec<JobId>,
    /// How many test cases those jobs held (deleted with them).
    pub test_cases: i64,
}

/// Which of `ids` are jobs in the database (the rest are log directories whose job is
/// gone).
pub async fn existing(c: &impl Db, ids: &[i64]) -> Result<Vec<i64>, Error> {
    let rows = c
        .query("SELECT id FROM jobs WHERE id = ANY($1)", &[&ids])
        .await?;
    rows.iter()
        .map(|r| r.try_get::<_, i64>("id").map_err(Error::from))
        .collect()
}

/// The cut-off `days` days before the database's clock now: jobs that ended before it are
/// old. Taken once per run, so a long run does not chase a moving line.
pub async fn cutoff(c: &impl Db, days: i32) -> Result<DateTime<Utc>, Error> {
    let row = c
        .query_one(
            "SELECT now() - make_interval(days => $1) AS cutoff",
            &[&days],
        )
        .await?;
    Ok(row.try_get("cutoff")?)
}

/// How many finished jobs ended before `cutoff`.
pub async fn count_old(c: &impl Db, cutoff: DateTime<Utc>) -> Result<i64, Error> {
    let row = c
        .query_one(
            "SELECT count(*) AS n FROM jobs WHERE state = 'finished' AND end_time < $1",
            &[&cutoff],
        )
        .await?;
    Ok(row.try_get("n")?)
}

/// The next `limit` finished jobs that ended before `cutoff`, with ids above `after`, by id,
/// and their test cases: what [`delete_old`] would delete (for `--dry-run`).
pub async fn peek_old(
    c: &impl Db,
    cutoff: DateTime<Utc>,
    after: JobId,
    limit: i64,
) -> Result<Batch, Error> {
    let rows = c
        .query(
            "WITH old AS (
                 SELECT id FROM jobs WHERE state = 'finished' AND end_time < $1 AND id > $2
                 ORDER BY id LIMIT $3)
             SELECT o.id, (SELECT count(*) FROM test_suites s JOIN test_cases tc
                           ON tc.suite_id = s.id WHERE s.job_id = o.id) AS cases
             FROM old o ORDER BY o.id",
            &[&cutoff, &after, &limit],
        )
        .await?;
    batch(&rows)
}

/// Deletes the next `limit` finished jobs (lowest ids first) that ended before `cutoff`, with
/// everything that belongs to them only; rows another transaction holds are left for a later
/// batch. Returns what it deleted. Run it in a transaction of its own per batch.
pub async fn delete_old(c: &impl Db, cutoff: DateTime<Utc>, limit: i64) -> Result<Batch, Error> {
    let rows = c.query(DELETE_OLD, &[&cutoff, &limit]).await?;
    batch(&rows)
}

/// The plan of [`delete_old`] (`EXPLAIN`, which does not run it), so a test can check that a
/// batch reads its jobs and their test cases by index.
pub async fn plan_delete_old(
    c: &impl Db,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> Result<String, Error> {
    let rows = c
        .query(&format!("EXPLAIN {DELETE_OLD}"), &[&cutoff, &limit])
        .await?;
    let lines: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<_, String>(0))
        .collect::<Result<_, _>>()?;
    Ok(lines.join("\n"))
}

/// One batch of [`delete_old`]: `$1` the cut-off, `$2` the batch size.
const DELETE_OLD: &str = "WITH old AS (
                 SELECT id FROM jobs WHERE state = 'finished' AND end_time < $1
                 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED),
             cases AS (
                 SELECT s.job_id, count(*) AS n FROM test_suites s
                 JOIN test_cases tc ON tc.suite_id = s.id
                 WHERE s.job_id IN (SELECT id FROM old) GROUP BY s.job_id),
             gone AS (
                 DELETE FROM jobs j USING old WHERE j.id = old.id RETURNING j.id)
             SELECT g.id, coalesce(k.n, 0) AS cases
             FROM gone g LEFT JOIN cases k ON k.job_id = g.id ORDER BY g.id";

fn batch(rows: &[tokio_postgres::Row]) -> Result<Batch, Error> {
    let mut out = Batch::default();
    for r in rows {
        out.jobs.push(r.try_get("id")?);
        out.test_cases += r.try_get::<_, i64>("cases")?;
    }
    Ok(out)
}
