//! Jobs in the admin interface: the newest jobs with cancel, resubmit and (while queued)
//! priority forms. Cancelling goes through the job life cycle in lava-db, which records the
//! transition with who and why; resubmitting goes through the one submission path.
//! Staff see and touch only the jobs they may see anywhere else (`Viewer::job_condition`);
//! a job they may not see is answered like a missing one. Superusers see every job.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use lava_common::ids::JobId;
use lava_common::state::JobState;
use serde::Serialize;

use lava_db::job_list::{self, JobFilter, JobOrder};

use super::super::AppState;
use super::super::auth::Caller;
use super::guard::{StaffPage, StaffPost};
use super::view::{self, OrPage as _};
use crate::submit::SubmitError;

/// Job `id` if `caller` may see it; otherwise the 404 page, as for a missing job.
async fn visible(
    state: &AppState,
    c: &impl lava_db::Db,
    caller: &Caller,
    id: JobId,
) -> Result<lava_db::jobs::Job, Response> {
    job_list::get(c, &caller.viewer(), id)
        .await
        .or_page(state)?
        .ok_or_else(|| {
            view::fail(
                state,
                StatusCode::NOT_FOUND,
                &format!("job '{id}' was not found"),
            )
        })
}

/// The context of the admin job list.
#[derive(Serialize)]
struct JobsPage {
    jobs: Vec<JobRow>,
    log: Vec<view::LogRow>,
    max_priority: i32,
}

/// A job in the list: `queued` offers the priority form, `can_cancel` the cancel button.
#[derive(Serialize)]
struct JobRow {
    id: JobId,
    description: String,
    submitter: Option<String>,
    state: &'static str,
    health: &'static str,
    priority: i32,
    device: Option<lava_common::ids::DeviceName>,
    device_type: Option<lava_common::ids::DeviceTypeName>,
    queued: bool,
    can_cancel: bool,
}

/// How many jobs the list shows.
const LIST_LIMIT: i64 = 100;

/// The newest jobs.
pub async fn list(
    State(state): State<AppState>,
    StaffPage(s): StaffPage,
) -> Result<Response, Response> {
    let c = view::db(&state).await?;
    let filter = JobFilter {
        limit: LIST_LIMIT,
        order: JobOrder::IdDesc,
        ..Default::default()
    };
    let jobs: Vec<_> = job_list::list(&c, &s.caller.viewer(), &filter)
        .await
        .or_page(&state)?
        .into_iter()
        .map(|j| JobRow {
            id: j.id,
            description: j.description,
            submitter: j.submitter,
            state: j.state.as_str(),
            health: j.health.as_str(),
            priority: j.priority,
            device: j.device,
            device_type: j.device_type,
            queued: j.state == JobState::Submitted,
            can_cancel: matches!(
                j.state,
                JobState::Submitted | JobState::Scheduled | JobState::Running
            ),
        })
        .collect();
    drop(c);
    let log = view::recent_log(&state, 20).await?;
    let ctx = JobsPage {
        jobs,
        log,
        max_priority: lava_db::job_admin::MAX_PRIORITY,
    };
    Ok(view::page(
        &state,
        &s,
        "admin/jobs.html",
        &ctx,
        StatusCode::OK,
    ))
}

/// A form whose only field is the reason.
#[derive(Debug, serde::Deserialize)]
pub struct ReasonForm {
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Cancels a job.
pub async fn cancel(
    State(state): State<AppState>,
    Path(job): Path<JobId>,
    post: StaffPost<ReasonForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    let object = ("job", &*job.to_string());
    view::change(&state, &post.caller, object, &reason, async |tx| {
        visible(&state, tx, &post.caller, job).await?;
        let new = lava_db::lifecycle::job::cancel(tx, job, Some(post.caller.id), &reason)
            .await
            .or_page(&state)?;
        Ok((format!("cancel (now {new})"), ()))
    })
    .await?;
    tracing::info!(job = %job, user = %post.caller.username, %reason, "job canceled");
    Ok(view::done("/admin/jobs/"))
}

/// Submits a copy of a job's definition as the admin, and shows the new job (its callback
/// tokens go with it only for its submitter or a superuser).
pub async fn resubmit(
    State(state): State<AppState>,
    Path(job): Path<JobId>,
    post: StaffPost<ReasonForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    let caller = &post.caller;
    let object = ("job", &*job.to_string());
    let id = view::change(&state, caller, object, &reason, async |tx| {
        let old = visible(&state, tx, caller, job).await?;
        match crate::submit::resubmit(tx, &old, caller.id, caller.is_superuser).await {
            Ok(id) => Ok((format!("resubmitted as job {id}"), id)),
            Err(SubmitError::Db(e)) => Err(view::db_error(&state, e)),
            Err(e @ SubmitError::NotYourTokens(_)) => Err(view::forbidden(&state, &e.to_string())),
            Err(e) => Err(view::fail(&state, StatusCode::BAD_REQUEST, &e.to_string())),
        }
    })
    .await?;
    Ok(view::done(&format!("/scheduler/job/{id}")))
}

/// What [`priority`] reads from a queued job's page.
#[derive(Debug, serde::Deserialize)]
pub struct PriorityForm {
    /// 0 to 100.
    pub priority: i32,
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Changes a queued job's priority.
pub async fn priority(
    State(state): State<AppState>,
    Path(job): Path<JobId>,
    post: StaffPost<PriorityForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    let object = ("job", &*job.to_string());
    view::change(&state, &post.caller, object, &reason, async |tx| {
        visible(&state, tx, &post.caller, job).await?;
        lava_db::job_admin::set_priority(tx, job, post.form.priority)
            .await
            .or_page(&state)?;
        Ok((format!("priority {}", post.form.priority), ()))
    })
    .await?;
    Ok(view::done("/admin/jobs/"))
}
