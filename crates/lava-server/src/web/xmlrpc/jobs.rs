//! `scheduler.jobs.*` (and the seed-era `submit_job`/`cancel_job`, which take the same
//! arguments and give the same answers).

use chrono::{Duration, Utc};
use lava_common::ids::{DeviceName, DeviceTypeName, JobId};
use lava_common::state::{JobHealth, JobState, JobVisibility};
use lava_db::job_list::{self, JobFilter, JobOrder};
use lava_db::jobs::Job;

use axum::body::{Body, Bytes};
use futures_util::StreamExt as _;
use serde::Serialize;

use super::args::Args;
use super::codec::{self, Value};
use super::ser::DateTime;
use super::{Ctx, Fault};
use crate::submit::{SubmitError, submit as store};
use crate::web::rest::format;

/// The job `id` if the caller may see it; otherwise the 404 fault, whether or not it exists.
async fn visible(ctx: &Ctx, id: JobId) -> Result<Job, Fault> {
    let c = ctx.db().await?;
    job_list::get(&c, &ctx.viewer(), id)
        .await?
        .ok_or_else(|| Fault::job_not_found(id))
}

/// A refused submission as LAVA's fault.
pub fn submit_fault(e: SubmitError) -> Fault {
    match e {
        SubmitError::Invalid(_) | SubmitError::Notify(_) | SubmitError::HealthCheck => {
            Fault::new(400, e.to_string())
        }
        SubmitError::NotYourTokens(_) => Fault::new(403, e.to_string()),
        SubmitError::DeviceTypeUnavailable(t) => Fault::new(
            400,
            format!("Device unavailable: Device type '{t}' is unavailable."),
        ),
        SubmitError::DeviceNotFound => Fault::new(404, e.to_string()),
        SubmitError::Db(lava_db::Error::Invalid(m)) => {
            Fault::new(400, format!("Problem with submitted job data: {m}"))
        }
        SubmitError::Db(e) => e.into(),
    }
}

/// `scheduler.jobs.submit(definition)` → the new job's id.
pub async fn submit(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let user = ctx.user()?.id;
    let definition = a.string(0, "definition")?;
    let c = ctx.db().await?;
    let id = store(&c, &definition, Some(user))
        .await
        .map_err(submit_fault)?;
    tracing::info!(job = %id, user, "submitted through XML-RPC");
    Ok(Value::Int(id.0))
}

/// `scheduler.jobs.resubmit(job_id)`: the same definition again, submitted by the caller.
pub async fn resubmit(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let user = ctx.user()?.clone();
    let job = visible(ctx, a.job_id(0, "job_id")?).await?;
    let c = ctx.db().await?;
    let id = crate::submit::resubmit(&c, &job, user.id, user.is_superuser)
        .await
        .map_err(submit_fault)?;
    Ok(Value::Int(id.0))
}

/// `Public`, `Personal` or `Group (g1, g2)`.
pub async fn visibility_text(ctx: &Ctx, job: &Job) -> Result<String, Fault> {
    Ok(match job.visibility {
        JobVisibility::Group => {
            let c = ctx.db().await?;
            let groups = job_list::viewing_groups(&c, job.id).await?;
            let names: Vec<String> = groups.into_iter().map(|(_, n)| n).collect();
            format!("Group ({})", names.join(", "))
        }
        v => v.display_name().to_string(),
    })
}

/// `scheduler.jobs.show`: the members lavacli reads, in LAVA's order.
#[derive(Serialize)]
struct JobShow<'a> {
    id: JobId,
    description: &'a str,
    device: &'a Option<DeviceName>,
    device_type: &'a Option<DeviceTypeName>,
    health_check: bool,
    /// Always true: every job here is a pipeline job.
    pipeline: bool,
    health: &'static str,
    state: &'static str,
    /// `""` for a job without a submitter.
    submitter: &'a str,
    submit_time: DateTime,
    start_time: Option<DateTime>,
    end_time: Option<DateTime>,
    tags: &'a [String],
    /// See [`visibility_text`].
    visibility: String,
    failure_comment: &'a Option<String>,
}

/// `scheduler.jobs.show(job_id)`.
pub async fn show(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let job = visible(ctx, a.job_id(0, "job_id")?).await?;
    let visibility = visibility_text(ctx, &job).await?;
    Ok(Value::from_serialize(&JobShow {
        id: job.id,
        description: &job.description,
        device: &job.device,
        device_type: &job.device_type,
        health_check: job.health_check,
        pipeline: true,
        health: job.health.display_name(),
        state: job.state.display_name(),
        submitter: job.submitter.as_deref().unwrap_or_default(),
        submit_time: job.submit_time.into(),
        start_time: job.start_time.map(DateTime::from),
        end_time: job.end_time.map(DateTime::from),
        tags: &job.tags,
        visibility,
        failure_comment: &job.failure_comment,
    })?)
}

/// A state name from lavacli (upper case) or a script; LAVA's `Scheduling` is our `Scheduled`.
fn parse_state(s: &str) -> Result<JobState, Fault> {
    if s.eq_ignore_ascii_case("scheduling") {
        return Ok(JobState::Scheduled);
    }
    s.parse()
        .map_err(|_| Fault::new(400, format!("Invalid state '{s}'")))
}

fn parse_health(s: &str) -> Result<JobHealth, Fault> {
    s.parse()
        .map_err(|_| Fault::new(400, format!("Invalid health '{s}'")))
}

/// A row of `scheduler.jobs.list`.
#[derive(Serialize)]
struct JobRow<'a> {
    id: JobId,
    description: &'a str,
    device_type: &'a Option<DeviceTypeName>,
    health: &'static str,
    state: &'static str,
    /// `""` for a job without a submitter.
    submitter: &'a str,
    /// The members `verbose=True` adds.
    #[serde(flatten)]
    verbose: Option<JobRowVerbose<'a>>,
}

/// The members of a verbose `scheduler.jobs.list` row; times as Python's `str(datetime)`.
#[derive(Serialize)]
struct JobRowVerbose<'a> {
    actual_device: &'a Option<DeviceName>,
    start_time: Option<String>,
    end_time: Option<String>,
    error_msg: &'a Option<String>,
    error_type: Option<&'static str>,
}

/// `scheduler.jobs.list(state, health, start, limit, since, verbose)`: newest first, at most
/// 100, `since` in minutes of end time.
pub async fn list(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let state = a
        .opt_string(0, "state")?
        .map(|s| parse_state(&s))
        .transpose()?;
    let health = a
        .opt_string(1, "health")?
        .map(|s| parse_health(&s))
        .transpose()?;
    let start = a.opt_int(2, "start")?.unwrap_or(0).max(0);
    let limit = a.opt_int(3, "limit")?.unwrap_or(25).clamp(0, 100);
    let since = a.opt_int(4, "since")?.unwrap_or(0);
    let verbose = a.flag(5, "verbose", false)?;
    let filter = JobFilter {
        state,
        health,
        ended_since: (since > 0).then(|| Utc::now() - Duration::minutes(since)),
        order: JobOrder::IdDesc,
        limit,
        offset: start,
        ..Default::default()
    };
    if limit == 0 {
        return Ok(Value::Array(vec![]));
    }
    let c = ctx.db().await?;
    let jobs = job_list::list(&c, &ctx.viewer(), &filter).await?;
    let py = |t: Option<chrono::DateTime<Utc>>| t.map(|t| format::python(&t));
    let rows: Vec<JobRow> = jobs
        .iter()
        .map(|j| JobRow {
            id: j.id,
            description: &j.description,
            device_type: &j.device_type,
            health: j.health.display_name(),
            state: j.state.display_name(),
            submitter: j.submitter.as_deref().unwrap_or_default(),
            verbose: verbose.then(|| JobRowVerbose {
                actual_device: &j.device,
                start_time: py(j.start_time),
                end_time: py(j.end_time),
                error_msg: &j.failure_comment,
                error_type: j.error_type.map(|t| t.as_str()),
            }),
        })
        .collect();
    Ok(Value::from_serialize(&rows)?)
}

/// `scheduler.jobs.cancel(job_id)` → true. The submitter or a superuser may cancel; a job
/// already over is a silent success.
pub async fn cancel(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let user = ctx.user()?.clone();
    let job = visible(ctx, a.job_id(0, "job_id")?).await?;
    if !user.is_superuser && job.submitter_id != Some(user.id) {
        return Err(Fault::new(403, "Permission denied."));
    }
    let c = ctx.db().await?;
    let reason = format!("canceled by {} through the API", user.username);
    lava_db::lifecycle::job::cancel(&c, job.id, Some(user.id), &reason).await?;
    Ok(Value::Bool(true))
}

/// `scheduler.jobs.logs(job_id, start=0, end=None)` → `[finished, base64 of lines]`; the
/// two bytes `[]` before the job has a log. The reply is streamed: the log is read and
/// encoded a piece at a time as the client takes it, so its size does not matter.
pub async fn logs(ctx: &Ctx, a: Args) -> Result<Body, Fault> {
    let job = visible(ctx, a.job_id(0, "job_id")?).await?;
    let start = a.opt_int(1, "start_line")?.unwrap_or(0).max(0) as u64;
    let end = a.opt_int(2, "end_line")?.map(|e| e.max(0) as u64);
    let finished = Value::Bool(job.state == JobState::Finished);
    let slice = {
        let c = ctx.db().await?;
        ctx.state
            .logs
            .slice(&c, job.id, start, end)
            .await
            .map_err(Fault::internal)?
    };
    let Some(slice) = slice else {
        let reply = codec::response(&Value::Array(vec![finished, Value::Base64(b"[]".to_vec())]));
        return Ok(Body::from(reply));
    };
    let (head, tail) = codec::base64_reply_parts(&finished);
    let job_id = job.id;
    let payload = slice.stream(codec::BASE64_PIECE).map(move |piece| {
        piece
            .map(|bytes| {
                let mut text = String::with_capacity(bytes.len() * 4 / 3 + bytes.len() / 57 + 4);
                codec::base64_lines(&bytes, &mut text);
                Bytes::from(text)
            })
            .inspect_err(|e| {
                tracing::error!(job = %job_id, error = %e, "job log read failed while streaming");
            })
    });
    let body = futures_util::stream::once(async move { Ok(Bytes::from(head)) })
        .chain(payload)
        .chain(futures_util::stream::once(async move {
            Ok(Bytes::from_static(tail.as_bytes()))
        }));
    Ok(Body::from_stream(body))
}

/// `scheduler.jobs.definition(job_id)`: the definition as submitted.
pub async fn definition(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let job = visible(ctx, a.job_id(0, "job_id")?).await?;
    Ok(Value::Str(job.definition))
}

/// `scheduler.jobs.validate`: the problems by field, empty for a valid job.
#[derive(Serialize)]
struct Problems {
    #[serde(skip_serializing_if = "Option::is_none")]
    definition: Option<String>,
}

/// `scheduler.jobs.validate(definition)`: an empty struct when the job is valid, otherwise
/// the problem under `definition`.
pub fn validate(a: Args) -> Result<Value, Fault> {
    let text = a.string(0, "definition")?;
    let problems = Problems {
        definition: lava_common::job::parse_job(&text)
            .err()
            .map(|e| e.to_string()),
    };
    Ok(Value::from_serialize(&problems)?)
}

#[derive(Serialize)]
struct QueuedReply {
    id: i64,
    description: String,
    requested_device_type: Option<String>,
    submitter: Option<String>,
}

/// `scheduler.jobs.queue(device_types=None, start=0, limit=25)`: queued jobs the caller may
/// see, newest first, at most 100.
pub async fn queue(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let types: Option<Vec<String>> = match a.get(0) {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| match v {
                    Value::Str(s) => Ok(s.clone()),
                    _ => Err(Fault::new(400, "device_types must be a list of names")),
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => return Err(Fault::new(400, "device_types must be a list of names")),
    };
    let start = a.opt_int(1, "start")?.unwrap_or(0).max(0);
    let limit = a.opt_int(2, "limit")?.unwrap_or(25).clamp(0, 100);
    let c = ctx.db().await?;
    let jobs = lava_db::queue::list(&c, &ctx.viewer(), types.as_deref(), start, limit).await?;
    let reply: Vec<QueuedReply> = jobs
        .into_iter()
        .map(|j| QueuedReply {
            id: j.id,
            description: j.description,
            requested_device_type: j.requested_device_type,
            submitter: j.submitter,
        })
        .collect();
    Ok(Value::from_serialize(&reply)?)
}
