//! Jobs: the lists (`/scheduler/alljobs`, `/scheduler/myjobs`, `/scheduler/jobs/queued`,
//! `/scheduler/jobs/running`) and the detail page `/scheduler/job/<id>`.
//!
//! Lists page by id, newest first: `?before=<id>` shows the jobs below that id. A deep page
//! costs what the first does (PostgreSQL walks an index from that id) and nothing counts the
//! whole table.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use lava_common::ids::{DeviceName, DeviceTypeName, JobId};
use lava_common::state::{JobHealth, JobState};
use lava_db::job_list::{JobFilter, JobOrder};
use lava_db::jobs::Job;
use serde::Serialize;

use super::{PAGE_SIZE, PageError, PageResult, cut_page, page, parse_opt, when};
use crate::web::AppState;
use crate::web::auth::Auth;

/// How many log lines the job page shows unless asked for all of them ...
pub const LOG_TAIL: i64 = 1000;

/// ... and how many bytes of them at most, so a log of huge lines opens as fast.
pub const LOG_TAIL_BYTES: u64 = 1 << 20;

/// A job as the templates show it: states and healths by display name (`health_class` is
/// the plain name, for CSS), times as [`when`] writes them.
#[derive(Serialize)]
pub struct JobRow<'a> {
    id: JobId,
    description: &'a str,
    submitter: Option<&'a str>,
    device_type: Option<&'a DeviceTypeName>,
    device: Option<&'a DeviceName>,
    worker: Option<&'a lava_common::ids::WorkerName>,
    state: &'static str,
    health: &'static str,
    health_class: &'static str,
    priority: i32,
    visibility: &'static str,
    health_check: bool,
    submit_time: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    failure_comment: Option<&'a str>,
    error_type: Option<lava_common::error_type::ErrorType>,
    log_lines: i64,
    tags: &'a [String],
}

impl<'a> JobRow<'a> {
    /// The row of `j`.
    pub fn of(j: &'a Job) -> JobRow<'a> {
        JobRow {
            id: j.id,
            description: &j.description,
            submitter: j.submitter.as_deref(),
            device_type: j.device_type.as_ref(),
            device: j.device.as_ref(),
            worker: j.worker.as_ref(),
            state: j.state.display_name(),
            health: j.health.display_name(),
            health_class: j.health.as_str(),
            priority: j.priority,
            visibility: j.visibility.as_str(),
            health_check: j.health_check,
            submit_time: when(Some(j.submit_time)),
            start_time: when(j.start_time),
            end_time: when(j.end_time),
            failure_comment: j.failure_comment.as_deref(),
            error_type: j.error_type,
            log_lines: j.log_lines,
            tags: &j.tags,
        }
    }
}

/// The context of a job list page.
#[derive(Serialize)]
struct ListPage<'a> {
    title: &'static str,
    url: &'static str,
    jobs: Vec<JobRow<'a>>,
    older: Option<String>,
    newest: Option<String>,
    filter: ListFilter<'a>,
    fixed_state: bool,
    states: Vec<&'static str>,
    healths: Vec<&'static str>,
}

/// The filters a list page shows as set.
#[derive(Serialize)]
struct ListFilter<'a> {
    state: Option<&'static str>,
    health: Option<&'static str>,
    device_type: Option<&'a DeviceTypeName>,
    device: Option<&'a DeviceName>,
    submitter: Option<&'a str>,
}

/// The context of `/scheduler/job/<id>`.
#[derive(Serialize)]
struct JobPage<'a> {
    job: JobRow<'a>,
    definition: &'a str,
    timeline: Vec<TimelineRow>,
    suites: super::results::Suites<'a>,
    bundles: Vec<BundleLink>,
    log: LogView,
}

/// One state change of a job.
#[derive(Serialize)]
struct TimelineRow {
    created: Option<String>,
    old_state: &'static str,
    new_state: &'static str,
    health: &'static str,
    device: Option<DeviceName>,
    actor: Option<String>,
    reason: String,
}

/// A bundle the job filed, and its stream.
#[derive(Serialize)]
struct BundleLink {
    stream: lava_common::ids::StreamPath,
    id: i64,
}

/// Which part of the log the job page shows: lines from `start`, `shown` of them.
#[derive(Serialize)]
struct LogView {
    start: i64,
    tail: i64,
    full: bool,
    shown: i64,
    finished: bool,
}

/// What a list page is: its title, its URL and the filter it always applies.
struct ListKind {
    title: &'static str,
    url: &'static str,
    base: JobFilter,
}

/// The filters a list takes from its query: `state`, `health`, `device_type`, `device`,
/// `submitter` and the page position `before`.
fn filter_of(q: &HashMap<String, String>, base: JobFilter) -> Result<JobFilter, PageError> {
    let text = |k: &str| q.get(k).filter(|s| !s.is_empty()).cloned();
    let mut f = base;
    if let Some(s) = parse_opt::<JobState>("state", q.get("state").map(String::as_str))? {
        f.state = Some(s);
    }
    f.health = parse_opt::<JobHealth>("health", q.get("health").map(String::as_str))?;
    f.device_type = text("device_type").map(DeviceTypeName::from);
    f.device = text("device").map(DeviceName::from);
    if f.submitter.is_none() {
        f.submitter = text("submitter");
    }
    f.id_lt = parse_opt::<i64>("before", q.get("before").map(String::as_str))?.map(JobId);
    f.order = JobOrder::IdDesc;
    // One row more than shown tells whether an older page exists, without counting.
    f.limit = PAGE_SIZE + 1;
    Ok(f)
}

/// The query string of `f`'s filters (without the page position), for links.
fn query_of(f: &JobFilter, kind: &ListKind) -> String {
    let mut parts = Vec::new();
    if let Some(s) = f.state.filter(|_| kind.base.state.is_none()) {
        parts.push(format!("state={}", s.as_str()));
    }
    if let Some(h) = f.health {
        parts.push(format!("health={}", h.as_str()));
    }
    let submitter = f
        .submitter
        .as_deref()
        .filter(|_| kind.base.submitter.is_none());
    for (k, v) in [
        ("device_type", f.device_type.as_deref()),
        ("device", f.device.as_deref()),
        ("submitter", submitter),
    ] {
        if let Some(v) = v {
            let v = percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC);
            parts.push(format!("{k}={v}"));
        }
    }
    parts.join("&")
}

async fn list(
    state: AppState,
    auth: Auth,
    q: HashMap<String, String>,
    kind: ListKind,
) -> PageResult {
    let f = filter_of(&q, kind.base.clone())?;
    let c = state.db().await?;
    let mut jobs = lava_db::job_list::list(&c, &auth.viewer(), &f).await?;
    let query = query_of(&f, &kind);
    let sep = if query.is_empty() { "" } else { "&" };
    let older = cut_page(&mut jobs).map(|j| format!("{}?{query}{sep}before={}", kind.url, j.id));
    let newest = f.id_lt.map(|_| {
        format!(
            "{}{}{query}",
            kind.url,
            if query.is_empty() { "" } else { "?" }
        )
    });
    let states: Vec<_> = JobState::ALL.iter().map(|s| s.as_str()).collect();
    let healths: Vec<_> = JobHealth::ALL.iter().map(|h| h.as_str()).collect();
    Ok(page(
        &state,
        &auth,
        "jobs.html",
        &ListPage {
            title: kind.title,
            url: kind.url,
            jobs: jobs.iter().map(JobRow::of).collect(),
            older,
            newest,
            filter: ListFilter {
                state: f.state.map(|s| s.as_str()),
                health: f.health.map(|h| h.as_str()),
                device_type: f.device_type.as_ref(),
                device: f.device.as_ref(),
                submitter: f.submitter.as_deref(),
            },
            fixed_state: kind.base.state.is_some() || !kind.base.states.is_empty(),
            states,
            healths,
        },
    ))
}

/// `/scheduler/alljobs` (filters: `state`, `health`, `device_type`, `device`, `submitter`).
pub async fn all(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let kind = ListKind {
        title: "All jobs",
        url: "/scheduler/alljobs",
        base: JobFilter::default(),
    };
    list(state, auth, q, kind).await
}

/// `/scheduler/myjobs`: the caller's own jobs; anonymous callers are sent to log in.
pub async fn mine(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let Some(user) = auth.caller.as_ref().map(|c| c.username.clone()) else {
        return Ok(Redirect::to("/accounts/login/?next=/scheduler/myjobs").into_response());
    };
    let kind = ListKind {
        title: "My jobs",
        url: "/scheduler/myjobs",
        base: JobFilter {
            submitter: Some(user),
            ..JobFilter::default()
        },
    };
    list(state, auth, q, kind).await
}

/// `/scheduler/jobs/queued`.
pub async fn queued(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let kind = ListKind {
        title: "Queued jobs",
        url: "/scheduler/jobs/queued",
        base: JobFilter {
            state: Some(JobState::Submitted),
            ..JobFilter::default()
        },
    };
    list(state, auth, q, kind).await
}

/// `/scheduler/jobs/running`: scheduled, running and canceling jobs.
pub async fn running(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let kind = ListKind {
        title: "Running jobs",
        url: "/scheduler/jobs/running",
        base: JobFilter {
            states: vec![JobState::Scheduled, JobState::Running, JobState::Canceling],
            ..JobFilter::default()
        },
    };
    list(state, auth, q, kind).await
}

/// The job if `auth` may see it; a hidden job is "not found", exactly like a missing one.
pub async fn visible_job(
    c: &lava_db::PooledClient,
    auth: &Auth,
    id: JobId,
) -> Result<Job, PageError> {
    let missing = || PageError::NotFound(format!("no job {id}"));
    if !lava_db::viewer::can_see_job(&***c, &auth.viewer(), id).await? {
        return Err(missing());
    }
    lava_db::jobs::get(&***c, id).await?.ok_or_else(missing)
}

/// `/scheduler/job/<id>`: definition, timeline, results and the live log (`?lines=all` for
/// the whole log instead of its last lines).
pub async fn one(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<JobId>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let c = state.db().await?;
    let job = visible_job(&c, &auth, id).await?;
    let timeline: Vec<_> = lava_db::transitions::job_history(&c, id)
        .await?
        .into_iter()
        .map(|t| TimelineRow {
            created: when(Some(t.created)),
            old_state: t.state.0.display_name(),
            new_state: t.state.1.display_name(),
            health: t.health.1.display_name(),
            device: t.device,
            actor: t.actor,
            reason: t.reason,
        })
        .collect();
    let counts = lava_db::results::suite_counts(&c, id).await?;
    let bundles: Vec<_> = lava_db::bundles::of_job(&c, id)
        .await?
        .into_iter()
        .map(|(stream, id)| BundleLink { stream, id })
        .collect();
    let full = q.get("lines").is_some_and(|v| v == "all");
    let log_start = if full {
        0
    } else {
        state
            .logs
            .tail_start(&c, id, LOG_TAIL as u64, LOG_TAIL_BYTES)
            .await? as i64
    };
    Ok(page(
        &state,
        &auth,
        "job.html",
        &JobPage {
            job: JobRow::of(&job),
            definition: &job.definition,
            timeline,
            suites: super::results::Suites::of(&counts),
            bundles,
            log: LogView {
                start: log_start,
                tail: LOG_TAIL,
                full,
                shown: job.log_lines - log_start,
                finished: job.state == JobState::Finished,
            },
        },
    ))
}
