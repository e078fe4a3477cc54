//! `/`: the lab summary. Devices by health, the queue and the running jobs (only the jobs the
//! caller may see are counted or listed), and the workers.

use axum::extract::State;
use lava_common::state::JobState;
use lava_db::job_list::{JobFilter, JobOrder};
use serde_json::json;

use super::{PageResult, jobs::job_json, page};
use crate::web::AppState;
use crate::web::auth::Auth;

/// The home page.
pub async fn home(State(state): State<AppState>, auth: Auth) -> PageResult {
    let viewer = auth.viewer();
    let c = state.db().await?;
    let summary = lava_db::lab::summary(&c, &viewer).await?;
    let health: Vec<_> = summary
        .health
        .iter()
        .map(|(h, n)| json!({"health": h.as_str(), "name": h.display_name(), "count": n}))
        .collect();
    let devices_total: i64 = summary.health.iter().map(|(_, n)| n).sum();
    let filter = JobFilter {
        states: vec![JobState::Scheduled, JobState::Running, JobState::Canceling],
        order: JobOrder::IdDesc,
        limit: super::PAGE_SIZE,
        ..JobFilter::default()
    };
    let running: Vec<_> = lava_db::job_list::list(&c, &viewer, &filter)
        .await?
        .iter()
        .map(job_json)
        .collect();
    let workers: Vec<_> = lava_db::workers::list(&c)
        .await?
        .into_iter()
        .map(|w| json!({"hostname": w.hostname, "state": w.state.display_name(), "health": w.health.display_name(), "devices": w.devices}))
        .collect();
    Ok(page(
        &state,
        &auth,
        "home.html",
        json!({
            "queue": summary.queued, "running_count": summary.running, "running": running,
            "health": health, "workers": workers, "devices_total": devices_total,
        }),
    ))
}
