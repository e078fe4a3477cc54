//! `/api/v0.2/devices/`, `devicetypes/` and `workers/`, and the one way the APIs change a
//! device's health ([`set_health`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use lava_common::ids::{DeviceName, DeviceTypeName, JobId, WorkerName};
use lava_common::state::DeviceHealth;
use lava_db::devices::Device;
use serde::Serialize;
use serde_json::Value;

use super::super::AppState;
use super::super::auth::{Auth, Caller};
use super::super::error::ApiError;
use super::{Paging, format, no_credentials, no_permission, not_found, ok};

/// A device, keys in LAVA's order. The fields this server does not keep are null.
#[derive(Serialize)]
pub(super) struct DeviceReply<'a> {
    hostname: &'a DeviceName,
    device_type: &'a DeviceTypeName,
    device_version: Option<()>,
    physical_owner: Option<()>,
    physical_group: Option<()>,
    description: &'a str,
    tags: &'a [String],
    state: &'static str,
    health: &'static str,
    last_health_report_job: Option<JobId>,
    worker_host: &'a Option<WorkerName>,
    /// Always false: devices are not synced from files here.
    is_synced: bool,
}

pub(super) fn device_json(d: &Device, report: Option<JobId>) -> DeviceReply<'_> {
    let i = &d.info;
    DeviceReply {
        hostname: &i.hostname,
        device_type: &i.device_type,
        device_version: None,
        physical_owner: None,
        physical_group: None,
        description: &i.description,
        tags: &i.tags,
        state: i.state.display_name(),
        health: i.health.display_name(),
        last_health_report_job: report,
        worker_host: &i.worker_host,
        is_synced: false,
    }
}

/// Changes a device's health as `who`, in one transaction with its admin log entry (the
/// transition row is written by `lava_db::devices::set_health`). Returns the old health.
pub async fn set_health(
    state: &AppState,
    who: &Caller,
    hostname: &DeviceName,
    health: DeviceHealth,
    reason: &str,
) -> Result<DeviceHealth, lava_db::Error> {
    let mut c = state.pool.get().await.map_err(lava_db::Error::from)?;
    let tx = lava_db::begin(&mut c).await?;
    let old =
        lava_db::lifecycle::device::set_health(&tx, hostname, health, reason, Some(who.id)).await?;
    let action = format!("health {} -> {}", old.display_name(), health.display_name());
    let change = lava_db::admin_log::Change {
        user_id: who.id,
        username: &who.username,
        object_type: "device",
        object_id: hostname,
        action: &action,
        reason,
    };
    lava_db::admin_log::record(&tx, &change).await?;
    tx.commit().await?;
    tracing::info!(device = %hostname, user = %who.username, %action, "device health set");
    Ok(old)
}

/// `GET /api/v0.2/devices/`.
pub async fn list(State(state): State<AppState>, paging: Paging) -> Result<Response, ApiError> {
    let c = state.db().await?;
    let devices = lava_db::devices::list(&c).await?;
    let reports = lava_db::devices::health_report_jobs(&c).await?;
    let report = |h: &str| reports.iter().find(|(n, _)| n == h).and_then(|(_, j)| *j);
    Ok(ok(paging.slice(&devices, |d| {
        device_json(d, report(&d.info.hostname))
    })))
}

async fn one(state: &AppState, hostname: &DeviceName) -> Result<Response, ApiError> {
    let c = state.db().await?;
    let d = lava_db::devices::get(&c, hostname)
        .await?
        .ok_or_else(not_found)?;
    let reports = lava_db::devices::health_report_jobs(&c).await?;
    let report = reports
        .iter()
        .find(|(n, _)| *n == d.info.hostname)
        .and_then(|(_, j)| *j);
    Ok(ok(device_json(&d, report)))
}

/// `GET /api/v0.2/devices/<hostname>/`.
pub async fn show(
    State(state): State<AppState>,
    Path(hostname): Path<DeviceName>,
) -> Result<Response, ApiError> {
    one(&state, &hostname).await
}

/// `PUT`/`PATCH /api/v0.2/devices/<hostname>/` with `{"health": "Maintenance", "reason": …}`:
/// staff only. Other fields are the admin commands' business and are refused.
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(hostname): Path<DeviceName>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let who = auth.caller.clone().ok_or_else(no_credentials)?;
    if !(who.is_staff || who.is_superuser) {
        return Err(no_permission());
    }
    one(&state, &hostname).await?;
    let bad = |field: &str, msg: String| ApiError::field(field, msg);
    let Some(obj) = body.as_object() else {
        return Err(bad("non_field_errors", "Expected an object.".into()));
    };
    if let Some(k) = obj.keys().find(|k| *k != "health" && *k != "reason") {
        return Err(bad(
            k,
            "This field cannot be changed through the API.".into(),
        ));
    }
    if let Some(h) = obj.get("health") {
        let text = h.as_str().unwrap_or_default();
        let health: DeviceHealth = text
            .parse()
            .map_err(|_| bad("health", format!("\"{text}\" is not a valid choice.")))?;
        let reason = obj
            .get("reason")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("set by {} through the REST API", who.username));
        set_health(&state, &who, &hostname, health, &reason)
            .await
            .map_err(|e| match e {
                lava_db::Error::Invalid(m) | lava_db::Error::Conflict(m) => bad("health", m),
                e => e.into(),
            })?;
    }
    one(&state, &hostname).await
}

/// A device type, keys in LAVA's order. The hardware fields this server does not keep are
/// null (`cores` empty).
#[derive(Serialize)]
struct TypeReply<'a> {
    name: &'a DeviceTypeName,
    architecture: Option<()>,
    processor: Option<()>,
    cpu_model: Option<()>,
    aliases: Vec<&'a str>,
    bits: Option<()>,
    cores: [(); 0],
    core_count: Option<()>,
    description: &'a str,
    health_frequency: i32,
    disable_health_check: bool,
    /// `"Hours"` or `"Jobs"`, the variant's name as LAVA shows it.
    health_denominator: String,
    display: bool,
}

fn type_json<'a>(
    t: &'a lava_db::device_types::DeviceType,
    aliases: &'a [lava_db::aliases::Alias],
) -> TypeReply<'a> {
    let i = &t.info;
    let aliases = aliases
        .iter()
        .filter(|a| i.name == a.device_type)
        .map(|a| a.name.as_str())
        .collect();
    TypeReply {
        name: &i.name,
        architecture: None,
        processor: None,
        cpu_model: None,
        aliases,
        bits: None,
        cores: [],
        core_count: None,
        description: &i.description,
        health_frequency: i.health_frequency,
        disable_health_check: i.disable_health_check,
        health_denominator: format!("{:?}", i.health_denominator),
        display: i.display,
    }
}

/// `GET /api/v0.2/devicetypes/`.
pub async fn types_list(
    State(state): State<AppState>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let c = state.db().await?;
    let types = lava_db::device_types::list(&c).await?;
    let aliases = lava_db::aliases::list(&c).await?;
    Ok(ok(paging.slice(&types, |t| type_json(t, &aliases))))
}

/// `GET /api/v0.2/devicetypes/<name>/`.
pub async fn types_show(
    State(state): State<AppState>,
    Path(name): Path<DeviceTypeName>,
) -> Result<Response, ApiError> {
    let c = state.db().await?;
    let t = lava_db::device_types::get(&c, &name)
        .await?
        .ok_or_else(not_found)?;
    let aliases = lava_db::aliases::list(&c).await?;
    Ok(ok(type_json(&t, &aliases)))
}

/// A worker; tokens are stored hashed only, so none is shown even to superusers.
#[derive(Serialize)]
pub(super) struct WorkerReply<'a> {
    hostname: &'a WorkerName,
    health: &'static str,
    state: &'static str,
    description: &'a str,
    last_ping: Option<String>,
    job_limit: i32,
    /// The version its latest poll reported; null before its first.
    version: Option<&'a str>,
}

pub(super) fn worker_json(w: &lava_db::workers::Worker) -> WorkerReply<'_> {
    WorkerReply {
        hostname: &w.hostname,
        health: w.health.display_name(),
        state: w.state.display_name(),
        description: &w.description,
        last_ping: format::rest_opt(&w.last_ping),
        job_limit: w.job_limit,
        version: w.version.as_deref(),
    }
}

/// `GET /api/v0.2/workers/`.
pub async fn workers_list(
    State(state): State<AppState>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let c = state.db().await?;
    let workers = lava_db::workers::list(&c).await?;
    Ok(ok(paging.slice(&workers, worker_json)))
}

/// `GET /api/v0.2/workers/<hostname>/`.
pub async fn workers_show(
    State(state): State<AppState>,
    Path(hostname): Path<WorkerName>,
) -> Result<Response, ApiError> {
    let c = state.db().await?;
    let w = lava_db::workers::get(&c, &hostname)
        .await?
        .ok_or_else(not_found)?;
    Ok(ok(worker_json(&w)))
}
