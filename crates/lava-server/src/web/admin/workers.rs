//! Workers in the admin interface: health (active, maintenance, retired), description and
//! job limit in one form per worker. Health changes are recorded as worker transitions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use lava_common::state::WorkerHealth;
use lava_db::worker_admin::WorkerUpdate;
use serde_json::json;

use super::super::AppState;
use super::guard::{StaffPage, StaffPost};
use super::view::{self, OrPage as _};

/// The worker list, each row a form.
pub async fn list(
    State(state): State<AppState>,
    StaffPage(s): StaffPage,
) -> Result<Response, Response> {
    let c = view::db(&state).await?;
    let mut workers = Vec::new();
    for w in lava_db::workers::list(&**c).await.or_page(&state)? {
        let history: Vec<_> = lava_db::worker_admin::health_history(&**c, &w.hostname, 3)
            .await
            .or_page(&state)?
            .into_iter()
            .map(|(old, new, actor, reason)| {
                json!({"old": old.as_str(), "new": new.as_str(), "actor": actor, "reason": reason})
            })
            .collect();
        workers.push(json!({"hostname": w.hostname, "description": w.description,
            "state": w.state.as_str(), "health": w.health.as_str(), "job_limit": w.job_limit,
            "devices": w.devices, "history": history,
            "last_ping": w.last_ping.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())}));
    }
    drop(c);
    let log = view::recent_log(&state, 20).await?;
    let choices: Vec<_> = WorkerHealth::ALL.iter().map(|h| h.as_str()).collect();
    let ctx = json!({"workers": workers, "choices": choices, "log": log});
    Ok(view::page(
        &state,
        &s,
        "admin/workers.html",
        ctx,
        StatusCode::OK,
    ))
}

/// The worker form.
#[derive(Debug, serde::Deserialize)]
pub struct WorkerForm {
    /// Admin health.
    pub health: WorkerHealth,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Jobs at once (0: no limit).
    pub job_limit: i32,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// Applies the worker form.
pub async fn update(
    State(state): State<AppState>,
    Path(worker): Path<String>,
    post: StaffPost<WorkerForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    let f = &post.form;
    let u = WorkerUpdate {
        health: f.health,
        description: f.description.trim(),
        job_limit: f.job_limit,
    };
    let mut c = view::db(&state).await?;
    let client: &mut lava_db::Client = &mut c;
    let tx = client.transaction().await.or_page(&state)?;
    let old = lava_db::worker_admin::update(&tx, &worker, &u, Some(post.caller.id), &reason)
        .await
        .or_page(&state)?;
    let action = format!(
        "health {old} → {}, job limit {}, description '{}'",
        f.health, f.job_limit, u.description
    );
    view::commit_audited(
        &state,
        tx,
        &post.caller,
        ("worker", &worker),
        &action,
        &reason,
    )
    .await?;
    Ok(view::done("/admin/workers/"))
}
