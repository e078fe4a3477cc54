//! `scheduler.jobs.*` (and the seed-era `submit_job`/`cancel_job`, which take the same
//! arguments and give the same answers).

use chrono::{Duration, Utc};
use lava_common::ids::JobId;
use lava_common::state::{JobHealth, JobState, JobVisibility};
use lava_db::job_list::{self, JobFilter, JobOrder};
use lava_db::jobs::Job;

use axum::body::{Body, Bytes};
use futures_util::StreamExt as _;

use super::args::Args;
use super::codec::{self, Value};
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

fn time(t: Option<chrono::DateTime<Utc>>) -> Value {
    t.map(|t| Value::DateTime(t.naive_utc()))
        .unwrap_or(Value::Nil)
}

/// `scheduler.jobs.show(job_id)`: the members lavacli reads, in LAVA's order.
pub async fn show(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let job = visible(ctx, a.job_id(0, "job_id")?).await?;
    let visibility = visibility_text(ctx, &job).await?;
    Ok(Value::structure([
        ("id", Value::Int(job.id.0)),
        ("description", Value::str(&job.description)),
        ("device", Value::opt_str(job.device.clone())),
        ("device_type", Value::opt_str(job.device_type.clone())),
        ("health_check", Value::Bool(job.health_check)),
        ("pipeline", Value::Bool(true)),
        ("health", Value::str(job.health.display_name())),
        ("state", Value::str(job.state.display_name())),
        (
            "submitter",
            Value::str(job.submitter.clone().unwrap_or_default()),
        ),
        ("submit_time", time(Some(job.submit_time))),
        ("start_time", time(job.start_time)),
        ("end_time", time(job.end_time)),
        (
            "tags",
            Value::Array(job.tags.iter().map(Value::str).collect()),
        ),
        ("visibility", Value::str(visibility)),
        (
            "failure_comment",
            Value::opt_str(job.failure_comment.clone()),
        ),
    ]))
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
    let py = |t: Option<chrono::DateTime<Utc>>| Value::opt_str(t.map(|t| format::python(&t)));
    Ok(Value::Array(
        jobs.into_iter()
            .map(|j| {
                let mut m = vec![
                    ("id".to_string(), Value::Int(j.id.0)),
                    ("description".into(), Value::str(&j.description)),
                    ("device_type".into(), Value::opt_str(j.device_type.clone())),
                    ("health".into(), Value::str(j.health.display_name())),
                    ("state".into(), Value::str(j.state.display_name())),
                    (
                        "submitter".into(),
                        Value::str(j.submitter.clone().unwrap_or_default()),
                    ),
                ];
                if verbose {
                    m.push(("actual_device".into(), Value::opt_str(j.device.clone())));
                    m.push(("start_time".into(), py(j.start_time)));
                    m.push(("end_time".into(), py(j.end_time)));
                    m.push((
                        "error_msg".into(),
                        Value::opt_str(j.failure_comment.clone()),
                    ));
                    m.push((
                        "error_type".into(),
                        Value::opt_str(j.error_type.map(|t| t.as_str())),
                    ));
                }
                Value::Struct(m)
            })
            .collect(),
    ))
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

/// `scheduler.jobs.validate(definition)`: an empty struct when the job is valid, otherwise
/// the problem under `definition`.
pub fn validate(a: Args) -> Result<Value, Fault> {
    let text = a.string(0, "definition")?;
    Ok(match lava_common::job::parse_job(&text) {
        Ok(_) => Value::Struct(vec![]),
        Err(e) => Value::structure([("definition", Value::str(e.to_string()))]),
    })
}

#[derive(serde::Serialize)]
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
