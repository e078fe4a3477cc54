//! `/`: the lab summary. Devices by health, the queue and the running jobs (only the jobs the
//! caller may see are counted or listed), and the workers.

use axum::extract::State;
use lava_common::state::JobState;
use lava_db::job_list::{JobFilter, JobOrder};
use serde::Serialize;

use super::{PageResult, jobs::JobRow, page};
use crate::web::AppState;
use crate::web::auth::Auth;

/// The home page's context.
#[derive(Serialize)]
struct Home<'a> {
    queue: i64,
    running_count: i64,
    running: Vec<JobRow<'a>>,
    health: Vec<HealthCount>,
    workers: Vec<WorkerRow>,
    devices_total: i64,
}

/// How many devices have one health.
#[derive(Serialize)]
struct HealthCount {
    health: &'static str,
    name: &'static str,
    count: i64,
}

/// A worker in the home page's table.
#[derive(Serialize)]
struct WorkerRow {
    hostname: lava_common::ids::WorkerName,
    state: &'static str,
    health: &'static str,
    devices: i64,
}

/// The home page.
pub async fn home(State(state): State<AppState>, auth: Auth) -> PageResult {
    let viewer = auth.viewer();
    let c = state.db().await?;
    let summary = lava_db::lab::summary(&c, &viewer).await?;
    let health: Vec<_> = summary
        .health
        .iter()
        .map(|(h, n)| HealthCount {
            health: h.as_str(),
            name: h.display_name(),
            count: *n,
        })
        .collect();
    let devices_total: i64 = summary.health.iter().map(|(_, n)| n).sum();
    let filter = JobFilter {
        states: vec![JobState::Scheduled, JobState::Running, JobState::Canceling],
        order: JobOrder::IdDesc,
        limit: super::PAGE_SIZE,
        ..JobFilter::default()
    };
    let running = lava_db::job_list::list(&c, &viewer, &filter).await?;
    let workers: Vec<_> = lava_db::workers::list(&c)
        .await?
        .into_iter()
        .map(|w| WorkerRow {
            hostname: w.hostname,
            state: w.state.display_name(),
            health: w.health.display_name(),
            devices: w.devices,
        })
        .collect();
    Ok(page(
        &state,
        &auth,
        "home.html",
        &Home {
            queue: summary.queued,
            running_count: summary.running,
            running: running.iter().map(JobRow::of).collect(),
            health,
            workers,
            devices_total,
        },
    ))
}
