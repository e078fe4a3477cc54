//! Jobs: submission and reads. Their state changes are in [`crate::lifecycle`].

use chrono::{DateTime, Utc};
use lava_common::error_type::ErrorType;
use lava_common::ids::{DeviceName, DeviceTypeName, JobId, WorkerName};
use lava_common::state::{JobHealth, JobState, JobVisibility};
use tokio_postgres::Row;

use crate::{Db, Error, notify};

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
    /// Made by the scheduler's pass for one device; never from a user's submission.
    pub health_check: bool,
    /// The device type whose devices may take it.
    pub device_type: Option<DeviceTypeName>,
    /// The one device that may take it, when the definition names one.
    pub device: Option<DeviceName>,
    /// Tags every candidate device must have.
    pub tags: Vec<String>,
    /// 0–100.
    pub priority: i32,
    /// Who may see it.
    pub visibility: JobVisibility,
    /// The groups whose members may see a group-visible job (each must exist).
    pub viewing_groups: Vec<String>,
    /// How long it may stay queued before it is canceled (`timeouts.queue`).
    pub queue_timeout: Option<std::time::Duration>,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The id pages, REST and lavacli know the job by.
    pub id: JobId,
    /// The submitter's username; `None` for health checks, which the scheduler makes.
    pub submitter: Option<String>,
    /// The submitter's user id, `None` exactly when `submitter` is.
    pub submitter_id: Option<i64>,
    /// The job's name (`job_name`).
    pub description: String,
    /// The definition as submitted, with callback tokens and `secrets` values masked (the
    /// values are kept apart, see [`crate::callback_tokens`] and [`crate::job_secrets`]).
    pub definition: String,
    /// The parsed plan as JSON, masked like `definition`.
    pub plan: serde_json::Value,
    /// Made by the scheduler for one device; how it ends judges that device's health.
    pub health_check: bool,
    /// The device type whose devices may take it.
    pub device_type: Option<DeviceTypeName>,
    /// The one device that may take it, when the definition names one (`device` is the
    /// device it was given).
    pub requested_device: Option<DeviceName>,
    /// Tags a device must all have to take it.
    pub tags: Vec<String>,
    /// 0 to [`crate::job_admin::MAX_PRIORITY`]; higher goes first, then the older job.
    pub priority: i32,
    /// Who may see it: [`crate::viewer`] turns it into the one SQL condition every read uses.
    pub visibility: JobVisibility,
    /// Where it is in its life; changed only in [`crate::lifecycle`].
    pub state: JobState,
    /// How it ended (`unknown` until it has); set only in [`crate::lifecycle`].
    pub health: JobHealth,
    /// The device it was given; `None` while it is queued.
    pub device: Option<DeviceName>,
    /// The worker that runs it: the given device's worker when it was assigned.
    pub worker: Option<WorkerName>,
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
    /// The ids of the failure tags staff put on it (see [`crate::failure_tags`]).
    pub failure_tags: Vec<i32>,
    /// The lines of its log the server holds; a worker's next upload starts from here.
    pub log_lines: i64,
}

/// The columns [`from_row`] reads, from `jobs j` joined to the submitter `u`; shared with
/// `job_list` so both read jobs one way.
pub(crate) const SELECT: &str =
    "SELECT j.id, u.username, j.submitter_id, j.description, j.original_definition,
        j.plan, j.health_check, j.requested_device_type, j.requested_device, j.tags, j.priority,
        j.visibility, j.state, j.health, j.actual_device, j.worker_host, j.submit_time,
        j.start_time, j.end_time, j.failure_comment, j.error_type, j.failure_tags, j.log_lines
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
        failure_tags: r.try_get("failure_tags")?,
        log_lines: r.try_get("log_lines")?,
    })
}

/// Stores a job and wakes the scheduler. Returns its id.
pub async fn insert(c: &impl Db, j: &NewJob) -> Result<JobId, Error> {
    insert_keeping(c, j, &[], &std::collections::BTreeMap::new()).await
}

/// Stores a job with what its definition holds masked, kept apart (its callback tokens by
/// place, its `secrets` by name), and wakes the scheduler. One statement: no reader ever
/// sees the job without its groups, tokens or secrets. Returns its id.
pub async fn insert_keeping(
    c: &impl Db,
    j: &NewJob,
    tokens: &[(i32, String)],
    secrets: &std::collections::BTreeMap<String, String>,
) -> Result<JobId, Error> {
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
    let (places, token_values): (Vec<i32>, Vec<&str>) =
        tokens.iter().map(|(p, t)| (*p, t.as_str())).unzip();
    let (names, secret_values): (Vec<&str>, Vec<&str>) = secrets
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .unzip();
    let row = c
        .query_one(
            "WITH j AS (
                INSERT INTO jobs (submitter_id, description, original_definition, plan,
                    health_check, requested_device_type, requested_device, tags, priority,
                    visibility, queue_deadline)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                    now() + make_interval(secs => $11::float8))
                RETURNING id),
             g AS (INSERT INTO job_viewing_groups (job_id, group_id)
                SELECT j.id, groups.id FROM j, groups WHERE groups.name = ANY($12)),
             t AS (INSERT INTO job_callback_tokens (job_id, position, token)
                SELECT j.id, x.p, x.v FROM j, unnest($13::int4[], $14::text[]) AS x(p, v)),
             s AS (INSERT INTO job_secrets (job_id, name, value)
                SELECT j.id, x.n, x.v FROM j, unnest($15::text[], $16::text[]) AS x(n, v))
             SELECT id FROM j",
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
                &j.queue_timeout.map(|t| t.as_secs_f64()),
                &j.viewing_groups,
                &places,
                &token_values,
                &names,
                &secret_values,
            ],
        )
        .await?;
    let id: JobId = row.try_get("id")?;
    notify::send(c, notify::SCHEDULER, &format!("submitted {id}")).await?;
    Ok(id)
}

/// One job, if it exists.
pub async fn get(c: &impl Db, id: JobId) -> Result<Option<Job>, Error> {
    let row = c
        .query_opt(&format!("{SELECT} WHERE j.id = $1"), &[&id])
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// One job, its row locked until the transaction ends (the end of a job reads and changes
/// it under this lock).
pub async fn get_for_update(c: &impl Db, id: JobId) -> Result<Option<Job>, Error> {
    let row = c
        .query_opt(&format!("{SELECT} WHERE j.id = $1 FOR UPDATE OF j"), &[&id])
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
pub async fn result_counts(c: &impl Db, id: JobId) -> Result<[i64; 4], Error> {
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

/// A job a worker should be running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerJob {
    /// The job.
    pub id: JobId,
    /// The device it was given, one of the worker's.
    pub device: DeviceName,
    /// Scheduled (to start), running, or canceling (to stop).
    pub state: JobState,
    /// The definition to run, masked: the secrets reach the worker apart, in `JobStart`.
    pub definition: String,
    /// The lines of its log the server holds.
    pub log_lines: i64,
}

/// The jobs a worker should be running (scheduled, running or canceling), by id.
pub async fn of_worker(c: &impl Db, worker: &WorkerName) -> Result<Vec<WorkerJob>, Error> {
    let rows = c
        .query(
            "SELECT id, actual_device, state, original_definition, log_lines FROM jobs
             WHERE worker_host = $1 AND state IN ('scheduled', 'running', 'canceling') ORDER BY id",
            &[&worker],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(WorkerJob {
                id: r.try_get("id")?,
                device: r
                    .try_get::<_, Option<DeviceName>>("actual_device")?
                    .unwrap_or_else(|| DeviceName::from("")),
                state: r.try_get("state")?,
                definition: r.try_get("original_definition")?,
                log_lines: r.try_get("log_lines")?,
            })
        })
        .collect()
}

/// Bulk-loads `n` finished, public jobs of `device_type` submitted by `submitter` in one
/// statement, then refreshes the table's statistics. For benchmarks and tests that need a big
/// table fast; real jobs go through [`insert`]. Returns the number of rows inserted.
pub async fn insert_many_for_bench(
    c: &impl Db,
    n: i64,
    device_type: &DeviceTypeName,
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
