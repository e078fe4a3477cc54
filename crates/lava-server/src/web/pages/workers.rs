//! Workers: `/scheduler/allworkers` and `/scheduler/worker/<hostname>` (online state, last
//! heartbeat, devices).

use axum::extract::{Path, State};
use lava_common::ids::WorkerName;
use lava_db::device_list::DeviceFilter;
use serde::Serialize;

use super::{PageError, PageResult, devices::DeviceView, page, when};
use crate::web::AppState;
use crate::web::auth::Auth;

/// A worker as the templates show it (states by display name).
#[derive(Serialize)]
struct WorkerView<'a> {
    hostname: &'a WorkerName,
    description: &'a str,
    state: &'static str,
    health: &'static str,
    last_ping: Option<String>,
    job_limit: i32,
    devices: i64,
}

impl<'a> WorkerView<'a> {
    fn of(w: &'a lava_db::workers::Worker) -> WorkerView<'a> {
        WorkerView {
            hostname: &w.hostname,
            description: &w.description,
            state: w.state.display_name(),
            health: w.health.display_name(),
            last_ping: when(w.last_ping),
            job_limit: w.job_limit,
            devices: w.devices,
        }
    }
}

/// The context of `/scheduler/allworkers`.
#[derive(Serialize)]
struct WorkersPage<'a> {
    workers: Vec<WorkerView<'a>>,
}

/// The context of `/scheduler/worker/<hostname>`.
#[derive(Serialize)]
struct WorkerPage<'a> {
    worker: WorkerView<'a>,
    devices: Vec<DeviceView<'a>>,
}

/// `/scheduler/allworkers`.
pub async fn all(State(state): State<AppState>, auth: Auth) -> PageResult {
    let c = state.db().await?;
    let workers = lava_db::workers::list(&c).await?;
    Ok(page(
        &state,
        &auth,
        "workers.html",
        &WorkersPage {
            workers: workers.iter().map(WorkerView::of).collect(),
        },
    ))
}

/// `/scheduler/worker/<hostname>`.
pub async fn one(
    State(state): State<AppState>,
    auth: Auth,
    Path(hostname): Path<WorkerName>,
) -> PageResult {
    let c = state.db().await?;
    let Some(w) = lava_db::workers::get(&c, &hostname).await? else {
        return Err(PageError::NotFound(format!("no worker '{hostname}'")));
    };
    let filter = DeviceFilter {
        worker: Some(hostname.clone()),
        ..DeviceFilter::default()
    };
    let devices = lava_db::device_list::list(&c, &auth.viewer(), &filter).await?;
    Ok(page(
        &state,
        &auth,
        "worker.html",
        &WorkerPage {
            worker: WorkerView::of(&w),
            devices: devices.iter().map(DeviceView::of).collect(),
        },
    ))
}
