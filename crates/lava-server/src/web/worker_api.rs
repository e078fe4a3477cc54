//! `/api/worker/v1/…`: the workers' side of the server (see `lava_common::worker_api`).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use lava_common::error_type::ErrorType;
use lava_common::ids::{DeviceName, JobId, WorkerName};
use lava_common::job::SecretValues;
use lava_common::state::{JobHealth, JobState};
use lava_common::worker_api::{
    Ack, FinishedHealth, JobFinished, JobStart, LogAck, LogBatch, PROTOCOL_HEADER,
    PROTOCOL_VERSION, PollRequest, PollResponse, RunningJob,
};

use super::AppState;
use super::error::ApiError;
use crate::logstore::LogError;

/// The routes under the prefix.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/poll", post(poll))
        .route("/jobs/{id}/started", post(started))
        .route("/jobs/{id}/logs", post(logs))
        .route("/jobs/{id}/finished", post(finished))
}

/// The longest a poll is held.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// Checks the protocol header and the token; returns the worker's hostname.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<WorkerName, ApiError> {
    let protocol = headers
        .get(PROTOCOL_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if protocol != PROTOCOL_VERSION.to_string() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "worker protocol '{protocol}' is not supported: this server speaks worker protocol {PROTOCOL_VERSION}; install a lava-dispatcher release that matches the server"
            ),
        ));
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Token "))
        .unwrap_or("");
    let c = state.db().await?;
    match lava_db::workers::by_token(&c, &lava_common::token::hash(token)).await? {
        Some(w) => Ok(w.hostname),
        None => {
            tracing::warn!("a worker presented an unknown token");
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid worker token",
            ))
        }
    }
}

/// What the worker must do now, from the database.
async fn work_for(
    state: &AppState,
    worker: &WorkerName,
    running: &[RunningJob],
) -> Result<PollResponse, ApiError> {
    let c = state.db().await?;
    let mine = lava_db::jobs::of_worker(&c, worker).await?;
    let mut out = PollResponse::default();
    for job in &mine {
        let reported = running.iter().any(|r| r.id == job.id);
        match job.state {
            JobState::Scheduled if !reported => out.start.push(JobStart {
                id: job.id,
                device: job.device.clone(),
                definition: job.definition.clone(),
                // Only to the worker the job is assigned to (`mine`).
                secrets: SecretValues(lava_db::job_secrets::of_job(&c, job.id).await?),
            }),
            JobState::Canceling if reported => out.cancel.push(job.id),
            JobState::Canceling => {
                // Canceled before the worker started it: it ends here.
                let ending = lava_db::lifecycle::finish::Ending {
                    health: JobHealth::Canceled,
                    error_type: Some(ErrorType::Canceled),
                    comment: Some("canceled before it started"),
                    reason: "canceled before the worker started it",
                };
                lava_db::lifecycle::finish::finish(&c, job.id, &ending).await?;
            }
            _ => {}
        }
        if reported {
            out.log_lines.push(RunningJob {
                id: job.id,
                log_lines: job.log_lines as u64,
            });
        }
    }
    for r in running {
        if !mine.iter().any(|j| j.id == r.id) {
            out.forget.push(r.id);
        }
    }
    Ok(out)
}

async fn poll(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<PollRequest>,
) -> Result<Json<PollResponse>, ApiError> {
    let worker = authenticate(&state, &headers).await?;
    let mut wake = state.waiters.subscribe(&worker);
    {
        let mut c = state.db().await?;
        let names: Vec<DeviceName> = req.devices.iter().map(|d| d.hostname.clone()).collect();
        let report = lava_db::transaction(&mut c, async |tx| {
            lava_db::lifecycle::worker::heartbeat(tx, &worker, &req.version).await?;
            lava_db::workers::report_devices(tx, &worker, &names).await
        })
        .await?;
        for device in &report.taken {
            tracing::info!(%worker, %device, "approved worker took a device whose .conf it reports");
        }
        for device in &report.new_claims {
            tracing::warn!(%worker, %device, "worker reports a device not assigned to it: pending until an admin assigns it (lava-server manage devices set-worker)");
        }
        for unknown in &report.unknown {
            tracing::warn!(%worker, device = %unknown, "worker reports a device the database does not know (add it with add_device.py or loaddata)");
        }
    }
    let first = work_for(&state, &worker, &req.running).await?;
    if !first.start.is_empty()
        || !first.cancel.is_empty()
        || !first.forget.is_empty()
        || req.wait_ms == 0
    {
        return Ok(Json(first));
    }
    let wait = Duration::from_millis(req.wait_ms).min(MAX_WAIT);
    let _ = tokio::time::timeout(wait, wake.changed()).await;
    Ok(Json(work_for(&state, &worker, &req.running).await?))
}

async fn started(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<JobId>,
) -> Result<Json<Ack>, ApiError> {
    let worker = authenticate(&state, &headers).await?;
    let mut c = state.db().await?;
    lava_db::transaction(&mut c, async |tx| {
        lava_db::lifecycle::job::start(tx, id, &worker).await
    })
    .await?;
    tracing::info!(job = %id, %worker, "job running");
    Ok(Json(Ack { ok: true }))
}

fn not_found(id: JobId) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("job {id} was not found"))
}

fn not_yours(id: JobId, worker: &WorkerName) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        format!("job {id} does not run on worker '{worker}'"),
    )
}

/// Refuses a job that does not exist or is not `worker`'s.
async fn owned(state: &AppState, worker: &WorkerName, id: JobId) -> Result<(), ApiError> {
    let c = state.db().await?;
    match lava_db::jobs::get(&c, id).await? {
        Some(j) if j.worker.as_ref() == Some(worker) => Ok(()),
        Some(_) => Err(not_yours(id, worker)),
        None => Err(not_found(id)),
    }
}

#[tracing::instrument(name = "logs", skip(state, headers, batch), fields(offset = batch.offset))]
async fn logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<JobId>,
    Json(batch): Json<LogBatch>,
) -> Result<Json<LogAck>, ApiError> {
    let worker = authenticate(&state, &headers).await?;
    owned(&state, &worker, id).await?;
    let mut c = state.db().await?;
    match state
        .logs
        .append(&mut c, id, batch.offset, &batch.lines)
        .await
    {
        Ok(lines) => Ok(Json(LogAck { lines })),
        Err(LogError::Gap { lines, .. }) => {
            Err(ApiError::with_body(StatusCode::CONFLICT, LogAck { lines }))
        }
        Err(LogError::Partial) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            LogError::Partial.to_string(),
        )),
        Err(LogError::Db(e)) => Err(e.into()),
        Err(e) => {
            tracing::error!(job = %id, error = %e, "cannot store log lines");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                e.to_string(),
            ))
        }
    }
}

#[tracing::instrument(name = "finished", skip(state, headers, report), fields(health = ?report.health))]
async fn finished(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<JobId>,
    Json(report): Json<JobFinished>,
) -> Result<Json<Ack>, ApiError> {
    use lava_db::lifecycle::finish::{Ending, Report, Reported};
    let worker = authenticate(&state, &headers).await?;
    let health = match report.health {
        FinishedHealth::Complete => JobHealth::Complete,
        FinishedHealth::Incomplete => JobHealth::Incomplete,
        FinishedHealth::Canceled => JobHealth::Canceled,
    };
    let reason = format!("reported by worker '{worker}'");
    let report = Report {
        worker: &worker,
        ending: Ending {
            health,
            error_type: report.error_type,
            comment: report.error_msg.as_deref(),
            reason: &reason,
        },
        log_lines: report.log_lines,
    };
    let mut c = state.db().await?;
    let reported = lava_db::transaction(&mut c, async |tx| {
        lava_db::lifecycle::finish::reported(tx, id, &report).await
    })
    .await?;
    match reported {
        Reported::Finished => tracing::info!(job = %id, %worker, ?health, "job finished"),
        Reported::AlreadyFinished => {}
        Reported::Unknown => return Err(not_found(id)),
        Reported::OtherWorker => return Err(not_yours(id, &worker)),
        Reported::LinesMissing { have } => {
            return Err(ApiError::with_body(
                StatusCode::CONFLICT,
                LogAck { lines: have },
            ));
        }
    }
    Ok(Json(Ack { ok: true }))
}
