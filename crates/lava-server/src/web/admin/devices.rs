//! Devices in the admin interface: the list, one device's health history, the health form
//! (maintenance, back to good or unknown, retire) and the worker form (which worker runs
//! it, with the workers that claim it) and the tags form, each change with its reason.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use lava_common::ids::{DeviceName, WorkerName};
use lava_common::state::DeviceHealth;
use serde::Serialize;

use super::super::AppState;
use super::guard::{StaffPage, StaffPost};
use super::view::{self, OrPage as _};

/// The health values an admin may set; `bad` and `looping` come from health checks.
pub const ADMIN_HEALTH: &[DeviceHealth] = &[
    DeviceHealth::Good,
    DeviceHealth::Unknown,
    DeviceHealth::Maintenance,
    DeviceHealth::Retired,
];

/// The context of the device list.
#[derive(Serialize)]
struct DevicesPage {
    devices: Vec<DeviceRow>,
    choices: Vec<&'static str>,
    log: Vec<view::LogRow>,
}

/// A device in the list (states by plain name, for the forms).
#[derive(Serialize)]
struct DeviceRow {
    hostname: DeviceName,
    device_type: lava_common::ids::DeviceTypeName,
    state: &'static str,
    health: &'static str,
    worker: Option<WorkerName>,
    job: Option<lava_common::ids::JobId>,
}

/// The context of one device's page.
#[derive(Serialize)]
struct DevicePage {
    device: DeviceDetail,
    history: Vec<HealthChange>,
    log: Vec<view::LogRow>,
    choices: Vec<&'static str>,
    claims: Vec<ClaimRow>,
    workers: Vec<WorkerName>,
}

/// The device a page is about: `worker_reported` says its worker's last poll listed it,
/// `tags` is the tag list as the tags form takes it back.
#[derive(Serialize)]
struct DeviceDetail {
    hostname: DeviceName,
    device_type: lava_common::ids::DeviceTypeName,
    state: &'static str,
    health: &'static str,
    worker: Option<WorkerName>,
    worker_reported: bool,
    tags: String,
    job: Option<lava_common::ids::JobId>,
}

/// One health change of a device, with the state it left the device in.
#[derive(Serialize)]
struct HealthChange {
    time: String,
    old: &'static str,
    new: &'static str,
    state: &'static str,
    actor: Option<String>,
    reason: String,
}

/// A worker that reports the device's `.conf` without being its worker.
#[derive(Serialize)]
struct ClaimRow {
    worker: WorkerName,
    first_seen: String,
    last_seen: String,
}

/// The device list with a health form on each row.
pub async fn list(
    State(state): State<AppState>,
    StaffPage(s): StaffPage,
) -> Result<Response, Response> {
    let c = view::db(&state).await?;
    let devices: Vec<_> = lava_db::devices::list(&c)
        .await
        .or_page(&state)?
        .into_iter()
        .map(|d| DeviceRow {
            state: d.info.state.as_str(),
            health: d.info.health.as_str(),
            hostname: d.info.hostname,
            device_type: d.info.device_type,
            worker: d.info.worker_host,
            job: d.current_job,
        })
        .collect();
    drop(c);
    let log = view::recent_log(&state, 20).await?;
    let choices: Vec<_> = ADMIN_HEALTH.iter().map(|h| h.as_str()).collect();
    let ctx = DevicesPage {
        devices,
        choices,
        log,
    };
    Ok(view::page(
        &state,
        &s,
        "admin/devices.html",
        &ctx,
        StatusCode::OK,
    ))
}

/// One device: its health transitions and the admin log about it.
pub async fn show(
    State(state): State<AppState>,
    Path(device): Path<DeviceName>,
    StaffPage(s): StaffPage,
) -> Result<Response, Response> {
    let c = view::db(&state).await?;
    let Some(d) = lava_db::devices::get(&c, &device).await.or_page(&state)? else {
        return Err(view::fail(
            &state,
            StatusCode::NOT_FOUND,
            &format!("device '{device}' was not found"),
        ));
    };
    let history: Vec<_> = lava_db::devices::health_history(&c, &device, 50)
        .await
        .or_page(&state)?
        .into_iter()
        .map(|t| HealthChange {
            time: t.created.format("%Y-%m-%d %H:%M:%S").to_string(),
            old: t.health.0.as_str(),
            new: t.health.1.as_str(),
            state: t.state.1.as_str(),
            actor: t.actor,
            reason: t.reason,
        })
        .collect();
    let log = view::log_values(
        lava_db::admin_log::list(&c, Some(("device", &device)), 50)
            .await
            .or_page(&state)?,
    );
    let claims: Vec<_> = lava_db::devices::claims(&c, Some(&device))
        .await
        .or_page(&state)?
        .into_iter()
        .map(|c| ClaimRow {
            first_seen: c.first_seen.format("%Y-%m-%d %H:%M:%S").to_string(),
            last_seen: c.last_seen.format("%Y-%m-%d %H:%M:%S").to_string(),
            worker: c.worker,
        })
        .collect();
    let workers: Vec<_> = lava_db::workers::list(&c)
        .await
        .or_page(&state)?
        .into_iter()
        .map(|w| w.hostname)
        .collect();
    let choices: Vec<_> = ADMIN_HEALTH.iter().map(|h| h.as_str()).collect();
    let ctx = DevicePage {
        device: DeviceDetail {
            state: d.info.state.as_str(),
            health: d.info.health.as_str(),
            tags: d.info.tags.join(" "),
            hostname: d.info.hostname,
            device_type: d.info.device_type,
            worker: d.info.worker_host,
            worker_reported: d.worker_reported,
            job: d.current_job,
        },
        history,
        log,
        choices,
        claims,
        workers,
    };
    Ok(view::page(
        &state,
        &s,
        "admin/device.html",
        &ctx,
        StatusCode::OK,
    ))
}

/// What [`set_health`] reads from the device's page.
#[derive(Debug, serde::Deserialize)]
pub struct HealthForm {
    /// One of [`ADMIN_HEALTH`]; `bad` and `looping` are left to health checks.
    pub health: DeviceHealth,
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Changes a device's health, recorded as a transition and in the admin log together.
pub async fn set_health(
    State(state): State<AppState>,
    Path(device): Path<DeviceName>,
    post: StaffPost<HealthForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    let health = post.form.health;
    if !ADMIN_HEALTH.contains(&health) {
        return Err(view::fail(
            &state,
            StatusCode::BAD_REQUEST,
            &format!("health: '{health}' is set by health checks, not by hand"),
        ));
    }
    let old = view::change(
        &state,
        &post.caller,
        ("device", &device),
        &reason,
        async |tx| {
            let old = lava_db::lifecycle::device::set_health(
                tx,
                &device,
                health,
                &reason,
                Some(post.caller.id),
            )
            .await
            .or_page(&state)?;
            // The scheduler looks again: a device back to good or unknown can take jobs.
            lava_db::notify::send(
                tx,
                lava_db::notify::SCHEDULER,
                &format!("device {device} health"),
            )
            .await
            .or_page(&state)?;
            Ok((format!("health {old} → {health}"), old))
        },
    )
    .await?;
    tracing::info!(%device, %old, %health, user = %post.caller.username, %reason, "device health set");
    Ok(view::done(&format!("/admin/devices/{device}/")))
}

/// The worker form: a worker's hostname, or empty for none.
#[derive(Debug, serde::Deserialize)]
pub struct WorkerForm {
    /// The worker's hostname, trimmed; empty takes the device off any worker.
    #[serde(default)]
    pub worker: String,
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Assigns the device to a worker (the same change as `manage devices set-worker`).
pub async fn set_worker(
    State(state): State<AppState>,
    Path(device): Path<DeviceName>,
    post: StaffPost<WorkerForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    let worker = Some(post.form.worker.trim())
        .filter(|w| !w.is_empty())
        .map(WorkerName::from);
    view::change(
        &state,
        &post.caller,
        ("device", &device),
        &reason,
        async |tx| {
            let old = lava_db::devices::set_worker(tx, &device, worker.as_ref())
                .await
                .or_page(&state)?;
            let action = format!(
                "worker {} → {}",
                old.as_deref().unwrap_or("-"),
                worker.as_deref().unwrap_or("-")
            );
            Ok((action, ()))
        },
    )
    .await?;
    tracing::info!(%device, ?worker, user = %post.caller.username, %reason, "device worker set");
    Ok(view::done(&format!("/admin/devices/{device}/")))
}

/// The tags form: the device's whole tag list, separated by spaces or commas.
#[derive(Debug, serde::Deserialize)]
pub struct TagsForm {
    /// Every tag the device is to have; missing ones are created.
    #[serde(default)]
    pub tags: String,
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Sets a device's tags to the list given: the ones missing are put on (new tags are
/// created), the others taken off, in one transaction with the admin log entry.
pub async fn set_tags(
    State(state): State<AppState>,
    Path(device): Path<String>,
    post: StaffPost<TagsForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    let mut want: Vec<&str> = post
        .form
        .tags
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .collect();
    want.sort_unstable();
    want.dedup();
    let mut c = view::db(&state).await?;
    let client: &mut lava_db::Client = &mut c;
    let tx = client.transaction().await.or_page(&state)?;
    let Some(have) = lava_db::tags::of_device(&tx, &device)
        .await
        .or_page(&state)?
    else {
        return Err(view::fail(
            &state,
            StatusCode::NOT_FOUND,
            &format!("device '{device}' was not found"),
        ));
    };
    for t in want.iter().filter(|t| !have.iter().any(|h| h == *t)) {
        lava_db::tags::add_to_device(&tx, &device, t)
            .await
            .map_err(|e| view::fail(&state, StatusCode::BAD_REQUEST, &format!("tags: {e}")))?;
    }
    for t in have.iter().filter(|h| !want.contains(&h.as_str())) {
        lava_db::tags::remove_from_device(&tx, &device, t)
            .await
            .or_page(&state)?;
    }
    let action = format!("tags [{}] → [{}]", have.join(" "), want.join(" "));
    view::commit_audited(
        &state,
        tx,
        &post.caller,
        ("device", &device),
        &action,
        &reason,
    )
    .await?;
    tracing::info!(%device, %action, user = %post.caller.username, %reason, "device tags set");
    Ok(view::done(&format!("/admin/devices/{device}/")))
}
