//! `/api/v0.2/jobs/`: list, detail, submit, cancel, resubmit, validate.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lava_common::error_type::ErrorType;
use lava_common::ids::{DeviceName, DeviceTypeName, JobId};
use lava_common::state::{JobHealth, JobState, JobVisibility};
use lava_db::job_list::{self, JobFilter, JobOrder};
use lava_db::jobs::Job;
use serde::Serialize;
use serde_json::Value;

use super::super::AppState;
use super::super::auth::Auth;
use super::super::error::{ApiError, Detail, Message};
use super::{Paging, format, no_credentials, no_permission, not_found, ok};
use crate::submit::{SubmitError, submit};

/// A job, keys in LAVA's order. `token` is left out: this server keeps no per-job secret to
/// show.
#[derive(Serialize)]
struct JobReply<'a> {
    id: JobId,
    /// `""` for a job without a submitter.
    submitter: &'a str,
    /// Group ids, empty unless the visibility is `group`.
    viewing_groups: Vec<i64>,
    description: &'a str,
    health_check: bool,
    requested_device_type: &'a Option<DeviceTypeName>,
    tags: &'a [String],
    actual_device: &'a Option<DeviceName>,
    submit_time: String,
    start_time: Option<String>,
    end_time: Option<String>,
    state: &'static str,
    health: &'static str,
    priority: i32,
    definition: &'a str,
    /// The definition again: this server does not rewrite definitions.
    original_definition: &'a str,
    /// Always `""`: multinode is not supported.
    multinode_definition: &'static str,
    failure_tags: &'a [i32],
    failure_comment: &'a Option<String>,
    error_type: &'a Option<ErrorType>,
}

/// The reply for job `j`.
async fn job_json<'a>(c: &impl lava_db::Db, j: &'a Job) -> Result<JobReply<'a>, ApiError> {
    let groups: Vec<i64> = if j.visibility == JobVisibility::Group {
        job_list::viewing_groups(c, j.id)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    } else {
        Vec::new()
    };
    Ok(JobReply {
        id: j.id,
        submitter: j.submitter.as_deref().unwrap_or_default(),
        viewing_groups: groups,
        description: &j.description,
        health_check: j.health_check,
        requested_device_type: &j.device_type,
        tags: &j.tags,
        actual_device: &j.device,
        submit_time: format::rest(&j.submit_time),
        start_time: format::rest_opt(&j.start_time),
        end_time: format::rest_opt(&j.end_time),
        state: j.state.display_name(),
        health: j.health.display_name(),
        priority: j.priority,
        definition: &j.definition,
        original_definition: &j.definition,
        multinode_definition: "",
        failure_tags: &j.failure_tags,
        failure_comment: &j.failure_comment,
        error_type: &j.error_type,
    })
}

fn bad_filter(name: &str, value: &str) -> ApiError {
    ApiError::field(
        name,
        format!("Select a valid choice. {value} is not one of the available choices."),
    )
}

/// A time filter's value: ISO 8601 with an offset, or without one (UTC), or a date.
fn time(name: &str, v: &str) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    use chrono::{NaiveDate, NaiveDateTime, Utc};
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, f) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    Err(ApiError::field(name, "Enter a valid date/time."))
}

/// The list filters LAVA's clients use, from the query string.
fn filter(params: &[(String, String)], paging: &Paging) -> Result<JobFilter, ApiError> {
    let mut f = JobFilter {
        limit: paging.limit,
        offset: paging.offset,
        ..Default::default()
    };
    let state = |v: &str| {
        if v.eq_ignore_ascii_case("scheduling") {
            return Ok(JobState::Scheduled);
        }
        v.parse::<JobState>().map_err(|_| bad_filter("state", v))
    };
    let health = |v: &str| v.parse::<JobHealth>().map_err(|_| bad_filter("health", v));
    let id = |k: &str, v: &str| {
        v.parse::<i64>()
            .map_err(|_| ApiError::field(k, "Enter a number."))
    };
    for (k, v) in params {
        match k.as_str() {
            "state" => f.state = Some(state(v)?),
            "health" => f.health = Some(health(v)?),
            "state__in" => f.states = v.split(',').map(state).collect::<Result<_, _>>()?,
            "health__in" => f.healths = v.split(',').map(health).collect::<Result<_, _>>()?,
            "id__gt" => f.id_gt = Some(JobId(id(k, v)?)),
            "id__lt" => f.id_lt = Some(JobId(id(k, v)?)),
            "id__in" => {
                f.ids = v
                    .split(',')
                    .map(|i| id(k, i.trim()).map(JobId))
                    .collect::<Result<_, _>>()?
            }
            "submit_time__gt" => f.submitted_after = Some(time(k, v)?),
            "submit_time__lt" => f.submitted_before = Some(time(k, v)?),
            "end_time__gt" => f.ended_after = Some(time(k, v)?),
            "end_time__lt" => f.ended_before = Some(time(k, v)?),
            "health_check" => {
                f.health_check = Some(match v.as_str() {
                    "true" | "True" | "1" => true,
                    "false" | "False" | "0" => false,
                    _ => return Err(bad_filter(k, v)),
                })
            }
            "requested_device_type" => f.device_type = Some(v.as_str().into()),
            "actual_device" => f.device = Some(v.as_str().into()),
            "submitter" => f.submitter = Some(v.clone()),
            "ordering" => {
                f.order = match v.as_str() {
                    "id" => JobOrder::IdAsc,
                    "-id" => JobOrder::IdDesc,
                    "submit_time" => JobOrder::SubmitTimeAsc,
                    "-submit_time" => JobOrder::SubmitTimeDesc,
                    "start_time" => JobOrder::StartTimeAsc,
                    "-start_time" => JobOrder::StartTimeDesc,
                    "end_time" => JobOrder::EndTimeAsc,
                    "-end_time" => JobOrder::EndTimeDesc,
                    // As LAVA (DRF) does: an unknown field is ignored.
                    _ => f.order,
                }
            }
            _ => {}
        }
    }
    Ok(f)
}

/// `GET /api/v0.2/jobs/`: the jobs the caller may see, ascending id unless `ordering`.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    paging: Paging,
) -> Result<Response, ApiError> {
    let f = filter(paging.params(), &paging)?;
    let c = state.db().await?;
    let viewer = auth.viewer();
    let count = job_list::count(&c, &viewer, &f).await?;
    let jobs = if paging.limit == 0 {
        Vec::new()
    } else {
        job_list::list(&c, &viewer, &f).await?
    };
    let mut results = Vec::with_capacity(jobs.len());
    for j in &jobs {
        results.push(job_json(&c, j).await?);
    }
    Ok(ok(paging.envelope(count, results)))
}

/// The job `id` if the caller may see it, else 404.
pub async fn visible(state: &AppState, auth: &Auth, id: &str) -> Result<Job, ApiError> {
    let id = JobId(id.parse().map_err(|_| not_found())?);
    let c = state.db().await?;
    job_list::get(&c, &auth.viewer(), id)
        .await?
        .ok_or_else(not_found)
}

/// `GET /api/v0.2/jobs/<id>/`.
pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let job = visible(&state, &auth, &id).await?;
    let c = state.db().await?;
    Ok(ok(job_json(&c, &job).await?))
}

/// The definition of a submission: a JSON body's `definition`, a form field `definition`, or
/// (for a YAML content type) the body itself.
fn definition(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if kind.starts_with("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
        return pairs
            .into_iter()
            .find(|(k, _)| k == "definition")
            .map(|(_, v)| v);
    }
    if kind.contains("yaml") {
        return Some(String::from_utf8_lossy(body).into_owned());
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("definition")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn submit_error(e: SubmitError) -> ApiError {
    let message = match e {
        SubmitError::Db(lava_db::Error::Invalid(m)) => format!("job submission failed: {m}."),
        SubmitError::Db(e) => return e.into(),
        SubmitError::DeviceTypeUnavailable(t) => {
            format!("Devices unavailable: Device type '{t}' is unavailable.")
        }
        e @ SubmitError::NotYourTokens(_) => {
            return ApiError::with_body(
                StatusCode::FORBIDDEN,
                Detail {
                    detail: &e.to_string(),
                },
            );
        }
        e => e.to_string(),
    };
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// LAVA's 201 for a submission.
#[derive(Serialize)]
struct Created {
    message: &'static str,
    job_ids: [JobId; 1],
}

fn created(id: JobId) -> Response {
    (
        StatusCode::CREATED,
        axum::Json(Created {
            message: "job(s) successfully submitted",
            job_ids: [id],
        }),
    )
        .into_response()
}

/// `POST /api/v0.2/jobs/`.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let user = auth.caller.as_ref().ok_or_else(no_credentials)?.id;
    let Some(text) = definition(&headers, &body) else {
        return Err(ApiError::field("definition", "This field is required."));
    };
    let c = state.db().await?;
    let id = submit(&c, text.trim(), Some(user))
        .await
        .map_err(submit_error)?;
    tracing::info!(job = %id, user, "submitted through REST");
    Ok(created(id))
}

/// `POST /api/v0.2/jobs/<id>/resubmit/`: the job's definition again, as the caller (its
/// callback tokens go with it only for its submitter or a superuser).
pub async fn resubmit(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = auth.caller.clone().ok_or_else(no_credentials)?;
    let job = visible(&state, &auth, &id).await?;
    let c = state.db().await?;
    let id = crate::submit::resubmit(&c, &job, user.id, user.is_superuser)
        .await
        .map_err(submit_error)?;
    tracing::info!(job = %id, user = user.id, "resubmitted through REST");
    Ok(created(id))
}

/// `GET …/cancel/` and other reads of a write-only route: 405 in DRF's words. LAVA 2023.01
/// cancels on GET; a link, an image tag or a prefetching browser must not cancel jobs, so
/// here only a POST does.
pub async fn method_not_allowed(method: axum::http::Method) -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, "POST, OPTIONS")],
        axum::Json(Detail {
            detail: &format!("Method \"{method}\" not allowed."),
        }),
    )
        .into_response()
}

/// `POST /api/v0.2/jobs/<id>/cancel/`: the submitter or a superuser.
pub async fn cancel(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = auth.caller.clone().ok_or_else(no_credentials)?;
    let job = visible(&state, &auth, &id).await?;
    if !user.is_superuser && job.submitter_id != Some(user.id) {
        return Err(no_permission());
    }
    let c = state.db().await?;
    let reason = format!("canceled by {} through the API", user.username);
    lava_db::lifecycle::job::cancel(&c, job.id, Some(user.id), &reason).await?;
    Ok(ok(Message {
        message: "Job cancel signal sent.",
    }))
}

/// `POST /api/v0.2/jobs/validate/` (anonymous allowed): 200 when the definition is valid,
/// 400 naming the problem otherwise.
pub async fn validate(headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let Some(text) = definition(&headers, &body) else {
        return Err(ApiError::field("definition", "This field is required."));
    };
    match lava_common::job::parse_job(text.trim()) {
        Ok(_) => Ok(ok(Message {
            message: "Job valid.",
        })),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("Problem with submitted job data: {e}"),
        )),
    }
}
