//! Notify callbacks waiting to be sent, and how their attempts went.

use chrono::{DateTime, Utc};
use lava_common::ids::JobId;
use lava_common::state::{CallbackState, JobState};

use crate::{Db, Error};

/// A queued callback change: the job entered `trigger`.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    /// The row's id.
    pub id: i64,
    /// The job whose change queued it.
    pub job_id: JobId,
    /// The state the job entered.
    pub trigger: JobState,
    /// Attempts made so far.
    pub attempts: i32,
    /// Indexes of the callbacks already delivered.
    pub delivered: Vec<i32>,
    /// How long ago the job's change queued it (by the database's clock), which the retry
    /// window is measured from.
    pub age: std::time::Duration,
}

/// A callback row as shown to admins and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The state the job entered.
    pub trigger: JobState,
    /// Pending, sent, failed (its retry window ran out) or skipped.
    pub state: CallbackState,
    /// Attempts made.
    pub attempts: i32,
    /// Why the last attempt failed; `None` when none has.
    pub last_error: Option<String>,
    /// When it ended (sent, failed or skipped).
    pub done: Option<DateTime<Utc>>,
}

/// Queues the callbacks of job `job` for its change to `trigger`, if its plan has a notify
/// block (called by the transition that makes the change, in its transaction).
pub async fn queue(c: &impl Db, job: JobId, trigger: JobState) -> Result<(), Error> {
    c.execute(
        "INSERT INTO job_callbacks (job_id, trigger) SELECT id, $2 FROM jobs
         WHERE id = $1 AND jsonb_typeof(plan -> 'notify') = 'object'",
        &[&job, &trigger],
    )
    .await?;
    Ok(())
}

/// Pending rows whose time has come, oldest first.
pub async fn due(c: &impl Db, limit: i64) -> Result<Vec<Due>, Error> {
    let rows = c
        .query(
            "SELECT id, job_id, trigger, attempts, delivered,
                extract(epoch FROM now() - created)::float8 AS age
             FROM job_callbacks
             WHERE state = 'pending' AND next_attempt <= now() ORDER BY next_attempt, id LIMIT $1",
            &[&limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Due {
                id: r.try_get("id")?,
                job_id: r.try_get("job_id")?,
                trigger: r.try_get("trigger")?,
                attempts: r.try_get("attempts")?,
                delivered: r.try_get("delivered")?,
                age: std::time::Duration::from_secs_f64(r.try_get::<_, f64>("age")?.max(0.0)),
            })
        })
        .collect()
}

/// Records an attempt: the callbacks delivered so far, the new state, the error of the last
/// failure, and when to try again (for a row still pending).
pub async fn record_attempt(
    c: &impl Db,
    id: i64,
    state: CallbackState,
    delivered: &[i32],
    error: Option<&str>,
    retry_in: std::time::Duration,
) -> Result<(), Error> {
    let retry_ms = retry_in.as_millis() as f64;
    c.execute(
        "UPDATE job_callbacks SET state = $2, delivered = $3, last_error = $4,
            attempts = attempts + 1,
            next_attempt = now() + make_interval(secs => $5::float8 / 1000),
            done = CASE WHEN $2 = 'pending'::callback_state THEN NULL ELSE now() END
         WHERE id = $1",
        &[&id, &state, &delivered, &error, &retry_ms],
    )
    .await?;
    Ok(())
}

/// Marks a row skipped (the criteria did not match), without counting an attempt.
pub async fn skip(c: &impl Db, id: i64) -> Result<(), Error> {
    c.execute(
        "UPDATE job_callbacks SET state = 'skipped', done = now() WHERE id = $1",
        &[&id],
    )
    .await?;
    Ok(())
}

/// The callback rows of a job, oldest first.
pub async fn of_job(c: &impl Db, job: JobId) -> Result<Vec<Record>, Error> {
    let rows = c
        .query(
            "SELECT trigger, state, attempts, last_error, done FROM job_callbacks
             WHERE job_id = $1 ORDER BY id",
            &[&job],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Record {
                trigger: r.try_get("trigger")?,
                state: r.try_get("state")?,
                attempts: r.try_get("attempts")?,
                last_error: r.try_get("last_error")?,
                done: r.try_get("done")?,
            })
        })
        .collect()
}
