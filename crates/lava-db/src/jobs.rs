//! Jobs: submission, the life cycle (scheduled, running, canceling, finished), and reads.

use chrono::{DateTime, Utc};
use lava_common::error_type::ErrorType;
use lava_common::state::{DeviceHealth, DeviceState, JobHealth, JobState, JobVisibility};
use tokio_postgres::Row;

use crate::{Db, Error, notify, transitions};

/// A job to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// The submitting user, if any (health checks have none).
    pub submitter: Option<i64>,
    /// The job's name.
    pub description: String,
    /// The definition exactly as submitted.
    pub definition: String,
    /// The parsed plan (JSON).
    pub plan: serde_json::Value,
    /// A health check job.
    pub health_check: bool,
    /// The requested device type.
    pub device_type: Option<String>,
    /// A requested device.
    pub device: Option<String>,
    /// Tags every candidate device must have.
    pub tags: Vec<String>,
    /// 0–100.
    pub priority: i32,
    /// Who may see it.
    pub visibility: JobVisibility,
    /// The groups whose members may see a group-visible job (each must exist).
    pub viewing_groups: Vec<String>,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Its id.
    pub id: i64,
    /// The submitter's username.
    pub submitter: Option<String>,
    /// The submitter's id.
    pub submitter_id: Option<i64>,
    /// The job's name.
    pub description: String,
    /// The definition as submitted.
    pub definition: String,
    /// The parsed plan.
    pub plan: serde_json::Value,
    /// A health check.
    pub health_check: bool,
    /// Requested device type.
    pub device_type: Option<String>,
    /// Requested device.
    pub requested_device: Option<String>,
    /// Required tags.
    pub tags: Vec<String>,
    /// Priority.
    pub priority: i32,
    /// Visibility.
    pub visibility: JobVisibility,
    /// State.
    pub state: JobState,
    /// Health.
    pub health: JobHealth,
    /// The device it ran on.
    pub device: Option<String>,
    /// The worker of that device.
    pub worker: Option<String>,
    /// When it was submitted.
    pub submit_time: DateTime<Utc>,
    /// When it started.
    pub start_time: Option<DateTime<Utc>>,
    /// When it ended.
    pub end_time: Option<DateTime<Utc>>,
    /// Why it failed.
    pub failure_comment: Option<String>,
    /// LAVA's error type of the failure.
    pub error_type: Option<ErrorType>,
    /// Lines in its log.
    pub log_lines: i64,
}

/// The columns [`from_row`] reads, from `jobs j` joined to the submitter `u`; shared with
/// `job_list` so both read jobs one way.
pub(crate) const SELECT: &str =
    "SELECT j.id, u.username, j.submitter_id, j.description, j.original_definition,
        j.plan, j.health_check, j.requested_device_type, j.requested_device, j.tags, j.priority,
        j.visibility, j.state, j.health, j.actual_device, j.worker_host, j.submit_time,
        j.start_time, j.end_time, j.failure_comment, j.error_type, j.log_lines
    FROM jobs j LEFT JOIN users u ON u.id = j.submitter_id";

/// One row of [`SELECT`] as a [`Job`].
pub(crate) fn from_row(r: &Row) -> Result<Job, Error> {
    Ok(Job {
        id: r.try_get("id")?,
        submitter: r.try_get("username")?,
        submitter_id: r.try_get("submitter_id")?,
        description: r.try_get("description")?,
        definition: r.try_get("original_definition")?,
        plan: r.try_get("plan")?,
        health_check: r.try_get("health_check")?,
        device_type: r.try_get("requested_device_type")?,
        requested_device: r.try_get("requested_device")?,
        tags: r.try_get("tags")?,
        priority: r.try_get("priority")?,
        visibility: r.try_get("visibility")?,
        state: r.try_get("state")?,
        health: r.try_get("health")?,
        device: r.try_get("actual_device")?,
        worker: r.try_get("worker_host")?,
        submit_time: r.try_get("submit_time")?,
        start_time: r.try_get("start_time")?,
        end_time: r.try_get("end_time")?,
        failure_comment: r.try_get("failure_comment")?,
        error_type: r.try_get("error_type")?,
        log_lines: r.try_get("log_lines")?,
    })
}

/// Stores a job and wakes the scheduler. Returns its id.
pub async fn insert(c: &impl Db, j: &NewJob) -> Result<i64, Error> {
    if !j.viewing_groups.is_empty() {
        let known: Vec<String> = c
            .query(
                "SELECT name FROM groups WHERE name = ANY($1)",
                &[&j.viewing_groups],
            )
            .await?
            .iter()
            .map(|r| r.try_get("name"))
            .collect::<Result<_, _>>()?;
        if let Some(missing) = j.viewing_groups.iter().find(|g| !known.contains(g)) {
            return Err(Error::Invalid(format!(
                "visibility: group '{missing}' does not exist"
            )));
        }
    }
    let row = c
        .query_one(
            "INSERT INTO jobs (submitter_id, description, original_definition, plan, health_check,
                requested_device_type, requested_device, tags, priority, visibility)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &[
                &j.submitter,
                &j.description,
                &j.definition,
                &j.plan,
                &j.health_check,
                &j.device_type,
                &j.device,
                &j.tags,
                &j.priority,
                &j.visibility,
            ],
        )
        .await?;
    let id: i64 = row.try_get("id")?;
    if !j.viewing_groups.is_empty() {
        c.execute(
            "INSERT INTO job_viewing_groups (job_id, group_id)
             SELECT $1, id FROM groups WHERE name = ANY($2)",
            &[&id, &j.viewing_groups],
        )
        .await?;
    }
    notify::send(c, notify::SCHEDULER, &format!("submitted {id}")).await?;
    Ok(id)
}

/// One job, if it exists.
pub async fn get(c: &impl Db, id: i64) -> Result<Option<Job>, Error> {
    let row = c
        .query_opt(&format!("{SELECT} WHERE j.id = $1"), &[&id])
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Jobs, newest first, optionally in one state.
pub async fn list(
    c: &impl Db,
    state: Option<JobState>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Job>, Error> {
    let rows = c
        .query(
            &format!("{SELECT} WHERE $1::job_state IS NULL OR j.state = $1 ORDER BY j.id DESC LIMIT $2 OFFSET $3"),
            &[&state, &limit, &offset],
        )
        .await?;
    rows.iter().map(from_row).collect()
}

/// How many jobs wait in the queue.
pub async fn queue_length(c: &impl Db) -> Result<i64, Error> {
    Ok(c.query_one(
        "SELECT count(*) AS n FROM jobs WHERE state = 'submitted'",
        &[],
    )
    .await?
    .try_get("n")?)
}

/// Test case counts of a job: (pass, fail, skip, unknown).
pub async fn result_counts(c: &impl Db, id: i64) -> Result<[i64; 4], Error> {
    let row = c
        .query_one(
            "SELECT count(*) FILTER (WHERE result = 'pass') AS pass,
                    count(*) FILTER (WHERE result = 'fail') AS fail,
                    count(*) FILTER (WHERE result = 'skip') AS skip,
                    count(*) FILTER (WHERE result = 'unknown') AS unknown
             FROM test_cases tc JOIN test_suites s ON s.id = tc.suite_id
             WHERE s.job_id = $1 AND s.name <> 'lava'",
            &[&id],
        )
        .await?;
    Ok([
        row.try_get("pass")?,
        row.try_get("fail")?,
        row.try_get("skip")?,
        row.try_get("unknown")?,
    ])
}

/// Moves a job from `old` to `new` state (and health), naming the old state so a lost race
/// changes nothing; records the transition. Returns whether the row changed.
#[allow(clippy::too_many_arguments)]
async fn transition(
    c: &impl Db,
    id: i64,
    old: (JobState, JobHealth),
    new: (JobState, JobHealth),
    device: Option<&str>,
    actor: Option<i64>,
    reason: &str,
    extra_sql: &str,
) -> Result<bool, Error> {
    let n = c
        .execute(
            &format!(
                "UPDATE jobs SET state = $3, health = $4 {extra_sql} WHERE id = $1 AND state = $2"
            ),
            &[&id, &old.0, &new.0, &new.1],
        )
        .await?;
    if n == 0 {
        return Ok(false);
    }
    transitions::record_job(c, id, old, new, device, actor, reason).await?;
    Ok(true)
}

/// Gives a queued job to a device: job `scheduled`, device `reserved`, in the caller's
/// transaction. Returns false (and changes nothing) when either moved meanwhile.
pub async fn assign(c: &impl Db, job: i64, device: &str, worker: &str) -> Result<bool, Error> {
    let n = c
        .execute(
            "UPDATE jobs SET state = 'scheduled', actual_device = $2, worker_host = $3
             WHERE id = $1 AND state = 'submitted'",
            &[&job, &device, &worker],
        )
        .await?;
    if n == 0 {
        return Ok(false);
    }
    let d = c
        .execute(
            "UPDATE devices SET state = 'reserved', current_job_id = $2
             WHERE hostname = $1 AND state = 'idle'",
            &[&device, &job],
        )
        .await?;
    if d == 0 {
        return Err(Error::Conflict(format!(
            "device '{device}' is no longer idle"
        )));
    }
    let health: DeviceHealth = c
        .query_one("SELECT health FROM devices WHERE hostname = $1", &[&device])
        .await?
        .try_get("health")?;
    let reason = format!("job {job} scheduled");
    transitions::record_job(
        c,
        job,
        (JobState::Submitted, JobHealth::Unknown),
        (JobState::Scheduled, JobHealth::Unknown),
        Some(device),
        None,
        &reason,
    )
    .await?;
    let change = transitions::DeviceChange {
        device,
        state: (DeviceState::Idle, DeviceState::Reserved),
        health: (health, health),
        job: Some(job),
        actor: None,
        reason: &reason,
    };
    transitions::record_device(c, &change).await?;
    notify::send(c, notify::WORKER, worker).await?;
    Ok(true)
}

/// The worker started the job: job `running`, device `running`.
pub async fn mark_running(c: &impl Db, id: i64, worker: &str) -> Result<(), Error> {
    let job = get(c, id).await?.ok_or_else(|| Error::NotFound {
        what: "job",
        key: id.to_string(),
    })?;
    if job.worker.as_deref() != Some(worker) {
        return Err(Error::Conflict(format!(
            "job {id} is not assigned to worker '{worker}'"
        )));
    }
    if job.state == JobState::Running {
        return Ok(());
    }
    let changed = transition(
        c,
        id,
        (JobState::Scheduled, JobHealth::Unknown),
        (JobState::Running, JobHealth::Unknown),
        job.device.as_deref(),
        None,
        "started by the worker",
        ", start_time = now()",
    )
    .await?;
    if !changed {
        return Err(Error::Conflict(format!(
            "job {id} is {} and cannot start",
            job.state
        )));
    }
    if let Some(device) = &job.device {
        c.execute(
            "UPDATE devices SET state = 'running' WHERE hostname = $1 AND state = 'reserved' AND current_job_id = $2",
            &[device, &id],
        )
        .await?;
        let health: DeviceHealth = c
            .query_one("SELECT health FROM devices WHERE hostname = $1", &[device])
            .await?
            .try_get("health")?;
        let reason = format!("job {id} running");
        let change = transitions::DeviceChange {
            device,
            state: (DeviceState::Reserved, DeviceState::Running),
            health: (health, health),
            job: Some(id),
            actor: None,
            reason: &reason,
        };
        transitions::record_device(c, &change).await?;
    }
    Ok(())
}

/// Asks for a job to stop. A queued job ends canceled at once; a scheduled or running one goes
/// to `canceling` until its worker reports; a finished or canceling one is left as it is.
/// Returns the job's new state.
pub async fn cancel(
    c: &impl Db,
    id: i64,
    actor: Option<i64>,
    reason: &str,
) -> Result<JobState, Error> {
    let job = get(c, id).await?.ok_or_else(|| Error::NotFound {
        what: "job",
        key: id.to_string(),
    })?;
    match job.state {
        JobState::Submitted => {
            let done = transition(
                c,
                id,
                (JobState::Submitted, JobHealth::Unknown),
                (JobState::Finished, JobHealth::Canceled),
                None,
                actor,
                reason,
                ", start_time = now(), end_time = now()",
            )
            .await?;
            if !done {
                return Err(Error::Conflict(format!(
                    "job {id} changed meanwhile; try again"
                )));
            }
            notify::send(c, notify::SCHEDULER, &format!("canceled {id}")).await?;
            Ok(JobState::Finished)
        }
        JobState::Scheduled | JobState::Running => {
            let done = transition(
                c,
                id,
                (job.state, JobHealth::Unknown),
                (JobState::Canceling, JobHealth::Unknown),
                job.device.as_deref(),
                actor,
                reason,
                "",
            )
            .await?;
            if !done {
                return Err(Error::Conflict(format!(
                    "job {id} changed meanwhile; try again"
                )));
            }
            if let Some(w) = &job.worker {
                notify::send(c, notify::WORKER, w).await?;
            }
            Ok(JobState::Canceling)
        }
        other => Ok(other),
    }
}

/// The jobs a worker should be running, with their state: (id, device, state).
pub async fn of_worker(
    c: &impl Db,
    worker: &str,
) -> Result<Vec<(i64, String, JobState, String, i64)>, Error> {
    let rows = c
        .query(
            "SELECT id, actual_device, state, original_definition, log_lines FROM jobs
             WHERE worker_host = $1 AND state IN ('scheduled', 'running', 'canceling') ORDER BY id",
            &[&worker],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get::<_, Option<String>>("actual_device")?
                    .unwrap_or_default(),
                r.try_get("state")?,
                r.try_get("original_definition")?,
                r.try_get("log_lines")?,
            ))
        })
        .collect()
}

/// Bulk-loads `n` finished, public jobs of `device_type` submitted by `submitter` in one
/// statement, then refreshes the table's statistics. For benchmarks and tests that need a big
/// table fast; real jobs go through [`insert`]. Returns the number of rows inserted.
pub async fn insert_many_for_bench(
    c: &impl Db,
    n: i64,
    device_type: &str,
    submitter: Option<i64>,
) -> Result<u64, Error> {
    let rows = c
        .execute(
            "INSERT INTO jobs (submitter_id, description, original_definition, requested_device_type,
                state, health, submit_time, start_time, end_time)
             SELECT $1, 'bench ' || g, 'actions: []', $2, 'finished',
                 (CASE WHEN g % 10 = 0 THEN 'incomplete' ELSE 'complete' END)::job_health,
                 now() - make_interval(secs => ($3 - g)::float8),
                 now() - make_interval(secs => ($3 - g)::float8),
                 now() - make_interval(secs => ($3 - g)::float8) + interval '1 second'
             FROM generate_series(1::bigint, $3::bigint) AS g",
            &[&submitter, &device_type, &n],
        )
        .await?;
    c.execute("ANALYZE jobs", &[]).await?;
    Ok(rows)
}
