//! Workers: `/scheduler/allworkers` and `/scheduler/worker/<hostname>` (online state, last
//! heartbeat, devices).

use axum::extract::{Path, State};
use lava_common::ids::WorkerName;
use lava_db::device_list::DeviceFilter;
use serde_json::{Value, json};

use super::{PageError, PageResult, devices::device_json, page, when};
use crate::web::AppState;
use crate::web::auth::Auth;

fn worker_json(w: &lava_db::workers::Worker) -> Value {
    json!({
        "hostname": w.hostname, "description": w.description,
        "state": w.state.display_name(), "health": w.health.display_name(),
        "last_ping": when(w.last_ping), "job_limit": w.job_limit, "devices": w.devices,
    })
}

/// `/scheduler/allworkers`.
pub async fn all(State(state): State<AppState>, auth: Auth) -> PageResult {
    let c = state.db().await?;
    let workers: Vec<_> = lava_db::workers::list(&c)
        .await?
        .iter()
        .map(worker_json)
        .collect();
    Ok(page(
        &state,
        &auth,
        "workers.html",
        json!({"workers": workers}),
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
        json!({"worker": worker_json(&w), "devices": devices.iter().map(device_json).collect::<Vec<_>>()}),
    ))
}
