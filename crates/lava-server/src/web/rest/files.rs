//! `devices/NAME/dictionary/` and `devicetypes/NAME/template/` (the `.conf` files an admin
//! writes), and creating devices and workers. A new file is checked as its reader reads it,
//! refused with the bad line named, and only then replaces the old one atomically.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lava_common::conf::ConfFile;
use lava_common::fixture::{DeviceRecord, WorkerRecord};
use lava_common::ids::{DeviceName, DeviceTypeName, WorkerName};
use lava_common::settings::Settings;
use lava_common::state::{DeviceHealth, WorkerHealth};
use serde::Serialize;
use serde_json::Value;

use super::super::AppState;
use super::super::auth::Auth;
use super::super::error::{ApiError, Message};
use super::catalog::{bad, field, logged, require};
use super::{not_found, ok};
use crate::conffiles::{check_device_conf, read_optional, replace};
use crate::web::xmlrpc::methods::Perm;

fn settings() -> Result<&'static Settings, ApiError> {
    crate::web::settings().ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server runs without settings",
        )
    })
}

/// `{"dictionary": TEXT}`: a device's `.conf` (jinja2) as the admin wrote it.
#[derive(Serialize)]
struct Dictionary {
    dictionary: String,
}

/// `{"template": TEXT}`: a device type's `.conf` as the admin wrote it.
#[derive(Serialize)]
struct Template {
    template: String,
}

fn read(path: &std::path::Path) -> Result<Option<String>, ApiError> {
    read_optional(path).map_err(|e| {
        tracing::error!(path = %path.display(), error = %e, "cannot read");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read {}: {e}", path.display()),
        )
    })
}

async fn write(path: std::path::PathBuf, text: String) -> Result<(), ApiError> {
    let p = path.clone();
    tokio::task::spawn_blocking(move || replace(&p, &text))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| {
            tracing::error!(path = %path.display(), error = %e, "cannot write");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot write {}: {e}", path.display()),
            )
        })
}

async fn device_type_of(state: &AppState, hostname: &str) -> Result<DeviceTypeName, ApiError> {
    let c = state.db().await?;
    Ok(lava_db::devices::get(&c, &DeviceName::from(hostname))
        .await?
        .ok_or_else(not_found)?
        .info
        .device_type)
}

/// `GET /api/v0.2/devices/<hostname>/dictionary/`: `{"dictionary": TEXT}`.
pub async fn dictionary_get(
    State(state): State<AppState>,
    auth: Auth,
    Path(hostname): Path<String>,
) -> Result<Response, ApiError> {
    require(&auth, Perm::Superuser)?;
    device_type_of(&state, &hostname).await?;
    let text = read(&settings()?.device_conf(&hostname))?.ok_or_else(not_found)?;
    Ok(ok(Dictionary { dictionary: text }))
}

/// `POST /api/v0.2/devices/<hostname>/dictionary/` with `{"dictionary": TEXT}`.
pub async fn dictionary_set(
    State(state): State<AppState>,
    auth: Auth,
    Path(hostname): Path<String>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let who = require(&auth, Perm::Superuser)?;
    let device_type = device_type_of(&state, &hostname).await?;
    let text = field(&body, "dictionary", true)?.unwrap_or_default();
    let s = settings()?;
    check_device_conf(s, &hostname, &device_type, &text).map_err(|e| bad("dictionary", e))?;
    write(s.device_conf(&hostname), text).await?;
    logged(
        &state,
        &who,
        ("device", &hostname),
        "dictionary replaced",
        async |_| Ok(()),
    )
    .await?;
    Ok(ok(Message {
        message: "dictionary updated",
    }))
}

async fn type_exists(state: &AppState, name: &str) -> Result<(), ApiError> {
    let c = state.db().await?;
    lava_db::device_types::get(&c, &DeviceTypeName::from(name))
        .await?
        .ok_or_else(not_found)?;
    Ok(())
}

/// `GET /api/v0.2/devicetypes/<name>/template/`: `{"template": TEXT}`.
pub async fn template_get(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    require(&auth, Perm::Superuser)?;
    type_exists(&state, &name).await?;
    let text = read(&settings()?.device_type_conf(&name))?.ok_or_else(not_found)?;
    Ok(ok(Template { template: text }))
}

/// `POST /api/v0.2/devicetypes/<name>/template/` with `{"template": TEXT}`.
pub async fn template_set(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let who = require(&auth, Perm::Superuser)?;
    type_exists(&state, &name).await?;
    let text = field(&body, "template", true)?.unwrap_or_default();
    let path = settings()?.device_type_conf(&name);
    ConfFile::parse(&path, &text).map_err(|e| bad("template", e.to_string()))?;
    write(path, text).await?;
    logged(
        &state,
        &who,
        ("device_type", &name),
        "template replaced",
        async |_| Ok(()),
    )
    .await?;
    Ok(ok(Message {
        message: "template updated",
    }))
}

/// `POST /api/v0.2/devices/` with `{"hostname", "device_type", "worker_host",
/// "description"?, "health"?, "tags"?}`: 201 with the device.
pub async fn device_create(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let who = require(&auth, Perm::Staff)?;
    let hostname = DeviceName::new(field(&body, "hostname", true)?.unwrap_or_default())
        .map_err(|e| bad("hostname", e.to_string()))?;
    let device_type = DeviceTypeName::from(field(&body, "device_type", true)?.unwrap_or_default());
    let worker = WorkerName::from(field(&body, "worker_host", true)?.unwrap_or_default());
    let health = match field(&body, "health", false)? {
        None => DeviceHealth::Unknown,
        Some(h) => h
            .parse()
            .map_err(|_| bad("health", format!("\"{h}\" is not a valid choice.")))?,
    };
    let tags: Vec<String> = match body.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| {
                t.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad("tags", "Expected a list of tag names."))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("tags", "Expected a list of tag names.")),
    };
    {
        let c = state.db().await?;
        if lava_db::device_types::get(&c, &device_type)
            .await?
            .is_none()
        {
            return Err(bad(
                "device_type",
                format!("device type '{device_type}' does not exist"),
            ));
        }
        if lava_db::workers::get(&c, &worker).await?.is_none() {
            return Err(bad(
                "worker_host",
                format!("worker '{worker}' does not exist"),
            ));
        }
        for t in &tags {
            if lava_db::tags::get(&c, t).await?.is_none() {
                return Err(bad("tags", format!("tag '{t}' does not exist")));
            }
        }
    }
    let record = DeviceRecord {
        description: field(&body, "description", false)?.unwrap_or_default(),
        tags,
        health,
        worker_host: Some(worker),
        ..DeviceRecord::new(hostname.clone(), device_type)
    };
    logged(&state, &who, ("device", &hostname), "added", async |tx| {
        lava_db::devices::add(tx, &record).await
    })
    .await
    .map_err(|e| {
        if e.status == StatusCode::CONFLICT {
            bad("hostname", e.text())
        } else {
            e
        }
    })?;
    let c = state.db().await?;
    let d = lava_db::devices::get(&c, &hostname)
        .await?
        .ok_or_else(not_found)?;
    Ok((
        StatusCode::CREATED,
        Json(super::devices::device_json(&d, None)),
    )
        .into_response())
}

/// `POST /api/v0.2/workers/` with `{"hostname", "description"?, "health"?, "job_limit"?}`:
/// 201 with the worker (its token comes from `lava-server manage workers add`).
pub async fn worker_create(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let who = require(&auth, Perm::Staff)?;
    let hostname = WorkerName::new(field(&body, "hostname", true)?.unwrap_or_default())
        .map_err(|e| bad("hostname", e.to_string()))?;
    let health = match field(&body, "health", false)? {
        None => WorkerHealth::Active,
        Some(h) => h
            .parse()
            .map_err(|_| bad("health", format!("\"{h}\" is not a valid choice.")))?,
    };
    let job_limit = match body.get("job_limit") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                bad(
                    "job_limit",
                    "Ensure this value is greater than or equal to 0.",
                )
            })?,
    };
    let record = WorkerRecord {
        hostname: hostname.clone(),
        description: field(&body, "description", false)?.unwrap_or_default(),
        health,
        job_limit,
    };
    logged(&state, &who, ("worker", &hostname), "added", async |tx| {
        if lava_db::workers::get(tx, &record.hostname).await?.is_some() {
            return Err(lava_db::Error::AlreadyExists {
                what: "worker",
                key: record.hostname.to_string(),
            });
        }
        // A new worker: no health change, so no transition is recorded under this reason.
        lava_db::lifecycle::worker::load(tx, &record, "added through the REST API").await
    })
    .await
    .map_err(|e| {
        if e.status == StatusCode::CONFLICT {
            bad("hostname", e.text())
        } else {
            e
        }
    })?;
    let c = state.db().await?;
    let w = lava_db::workers::get(&c, &hostname)
        .await?
        .ok_or_else(not_found)?;
    Ok((StatusCode::CREATED, Json(super::devices::worker_json(&w))).into_response())
}
