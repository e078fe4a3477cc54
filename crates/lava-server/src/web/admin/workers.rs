//! Workers in the admin interface: health (active, maintenance, retired), description and
//! job limit in one form per worker, and (superusers only) the approval that lets a worker's
//! `.conf` files claim unassigned devices. Health changes are recorded as worker transitions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use lava_common::ids::WorkerName;
use lava_common::state::WorkerHealth;
use lava_db::lifecycle::worker::WorkerUpdate;
use serde::Serialize;

use super::super::AppState;
use super::guard::{StaffPage, StaffPost};
use super::view::{self, OrPage as _};

/// The context of the worker list.
#[derive(Serialize)]
struct WorkersPage {
    workers: Vec<WorkerRow>,
    choices: Vec<&'static str>,
    log: Vec<view::LogRow>,
}

/// A worker and its form's values; `history` is its last few health changes.
#[derive(Serialize)]
struct WorkerRow {
    hostname: WorkerName,
    description: String,
    state: &'static str,
    health: &'static str,
    job_limit: i32,
    devices: i64,
    history: Vec<HealthChange>,
    approved: bool,
    pending_claims: i64,
    last_ping: Option<String>,
}

/// One health change of a worker.
#[derive(Serialize)]
struct HealthChange {
    old: &'static str,
    new: &'static str,
    actor: Option<String>,
    reason: String,
}

/// The worker list, each row a form.
pub async fn list(
    State(state): State<AppState>,
    StaffPage(s): StaffPage,
) -> Result<Response, Response> {
    let c = view::db(&state).await?;
    let mut workers = Vec::new();
    for w in lava_db::workers::list(&c).await.or_page(&state)? {
        let history: Vec<_> = lava_db::worker_admin::health_history(&c, &w.hostname, 3)
            .await
            .or_page(&state)?
            .into_iter()
            .map(|(old, new, actor, reason)| HealthChange {
                old: old.as_str(),
                new: new.as_str(),
                actor,
                reason,
            })
            .collect();
        workers.push(WorkerRow {
            state: w.state.as_str(),
            health: w.health.as_str(),
            last_ping: w
                .last_ping
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
            hostname: w.hostname,
            description: w.description,
            job_limit: w.job_limit,
            devices: w.devices,
            history,
            approved: w.approved,
            pending_claims: w.pending_claims,
        });
    }
    drop(c);
    let log = view::recent_log(&state, 20).await?;
    let choices: Vec<_> = WorkerHealth::ALL.iter().map(|h| h.as_str()).collect();
    let ctx = WorkersPage {
        workers,
        choices,
        log,
    };
    Ok(view::page(
        &state,
        &s,
        "admin/workers.html",
        &ctx,
        StatusCode::OK,
    ))
}

/// What [`update`] reads from the worker's page: every setting at once.
#[derive(Debug, serde::Deserialize)]
pub struct WorkerForm {
    /// `active`, `maintenance` or `retired`; a change is recorded as a worker transition.
    pub health: WorkerHealth,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Jobs at once (0: no limit).
    pub job_limit: i32,
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Applies the worker form.
pub async fn update(
    State(state): State<AppState>,
    Path(worker): Path<WorkerName>,
    post: StaffPost<WorkerForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    let f = &post.form;
    let u = WorkerUpdate {
        health: f.health,
        description: f.description.trim(),
        job_limit: f.job_limit,
    };
    view::change(
        &state,
        &post.caller,
        ("worker", &worker),
        &reason,
        async |tx| {
            let old =
                lava_db::lifecycle::worker::update(tx, &worker, &u, Some(post.caller.id), &reason)
                    .await
                    .or_page(&state)?;
            let action = format!(
                "health {old} → {}, job limit {}, description '{}'",
                f.health, f.job_limit, u.description
            );
            Ok((action, ()))
        },
    )
    .await?;
    Ok(view::done("/admin/workers/"))
}

/// The approval form.
#[derive(Debug, serde::Deserialize)]
pub struct ApproveForm {
    /// `approve` or `revoke`.
    pub action: String,
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Approves a worker or withdraws its approval: superusers only, since an approved worker
/// takes the unassigned (or abandoned) devices whose `.conf` it reports.
pub async fn approve(
    State(state): State<AppState>,
    Path(worker): Path<WorkerName>,
    post: StaffPost<ApproveForm>,
) -> Result<Response, Response> {
    if !post.caller.is_superuser {
        tracing::warn!(user = %post.caller.username, %worker, "worker approval refused");
        return Err(view::forbidden(
            &state,
            "Only a superuser may approve a worker.",
        ));
    }
    let reason = view::reason(&state, &post.form.reason)?;
    let approved = match post.form.action.as_str() {
        "approve" => true,
        "revoke" => false,
        other => {
            let msg = format!("action: '{other}' is neither approve nor revoke");
            return Err(view::fail(&state, StatusCode::BAD_REQUEST, &msg));
        }
    };
    view::change(
        &state,
        &post.caller,
        ("worker", &worker),
        &reason,
        async |tx| {
            lava_db::workers::set_approved(tx, &worker, approved)
                .await
                .or_page(&state)?;
            let action = if approved {
                "approved"
            } else {
                "approval withdrawn"
            };
            Ok((action.to_string(), ()))
        },
    )
    .await?;
    Ok(view::done("/admin/workers/"))
}
