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
use serde_json::Value;

use super::super::AppState;
use super::super::auth::{Auth, Caller};
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

/// The admin-written `.conf` a route reads or replaces: a device's dictionary (jinja2) or a
/// device type's template. Both routes open the same way (a superuser, an owner that exists)
/// and differ only in the file, the JSON key and how a new text is checked.
#[derive(Clone, Copy)]
enum Conf<'a> {
    /// `devices/<hostname>/dictionary/`.
    Dictionary(&'a str),
    /// `devicetypes/<name>/template/`.
    Template(&'a str),
}

/// A [`Conf`] whose caller may use it and whose owner exists.
struct Opened {
    who: Caller,
    path: std::path::PathBuf,
    /// The device's type, which a new dictionary must keep (`None` for a template).
    device_type: Option<DeviceTypeName>,
}

impl<'a> Conf<'a> {
    /// The JSON field holding the text, in answers and request bodies.
    fn key(self) -> &'static str {
        match self {
            Conf::Dictionary(_) => "dictionary",
            Conf::Template(_) => "template",
        }
    }

    /// The device's or the device type's name.
    fn name(self) -> &'a str {
        match self {
            Conf::Dictionary(name) | Conf::Template(name) => name,
        }
    }

    /// What the change is logged against.
    fn object(self) -> &'static str {
        match self {
            Conf::Dictionary(_) => "device",
            Conf::Template(_) => "device_type",
        }
    }

    /// Superusers only, then a 404 unless the device or device type exists.
    async fn open(self, state: &AppState, auth: &Auth) -> Result<Opened, ApiError> {
        let who = require(auth, Perm::Superuser)?;
        let c = state.db().await?;
        let settings = settings()?;
        Ok(match self {
            Conf::Dictionary(hostname) => {
                let device = lava_db::devices::get(&c, &DeviceName::from(hostname))
                    .await?
                    .ok_or_else(not_found)?;
                Opened {
                    who,
                    path: settings.device_conf(hostname),
                    device_type: Some(device.info.device_type),
                }
            }
            Conf::Template(name) => {
                lava_db::device_types::get(&c, &DeviceTypeName::from(name))
                    .await?
                    .ok_or_else(not_found)?;
                Opened {
                    who,
                    path: settings.device_type_conf(name),
                    device_type: None,
                }
            }
        })
    }

    /// `GET`: `{KEY: TEXT}`, a 404 when the file is missing.
    async fn get(self, state: &AppState, auth: &Auth) -> Result<Response, ApiError> {
        let opened = self.open(state, auth).await?;
        let text = read(&opened.path)?.ok_or_else(not_found)?;
        Ok(ok(serde_json::Map::from_iter([(
            self.key().to_owned(),
            Value::String(text),
        )])))
    }

    /// `POST` with `{KEY: TEXT}`: checked as its reader reads it, refused with the bad line
    /// named, else written atomically and logged.
    async fn set(self, state: &AppState, auth: &Auth, body: &Value) -> Result<Response, ApiError> {
        let opened = self.open(state, auth).await?;
        let key = self.key();
        let text = field(body, key, true)?.unwrap_or_default();
        match &opened.device_type {
            Some(device_type) => check_device_conf(settings()?, self.name(), device_type, &text)
                .map_err(|e| bad(key, e))?,
            None => ConfFile::parse(&opened.path, &text)
                .map(drop)
                .map_err(|e| bad(key, e.to_string()))?,
        }
        write(opened.path, text).await?;
        logged(
            state,
            &opened.who,
            (self.object(), self.name()),
            &format!("{key} replaced"),
            async |_| Ok(()),
        )
        .await?;
        Ok(ok(Message {
            message: match self {
                Conf::Dictionary(_) => "dictionary updated",
                Conf::Template(_) => "template updated",
            },
        }))
    }
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

/// `GET /api/v0.2/devices/<hostname>/dictionary/`: `{"dictionary": TEXT}`.
pub async fn dictionary_get(
    State(state): State<AppState>,
    auth: Auth,
    Path(hostname): Path<String>,
) -> Result<Response, ApiError> {
    Conf::Dictionary(&hostname).get(&state, &auth).await
}

/// `POST /api/v0.2/devices/<hostname>/dictionary/` with `{"dictionary": TEXT}`.
pub async fn dictionary_set(
    State(state): State<AppState>,
    auth: Auth,
    Path(hostname): Path<String>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    Conf::Dictionary(&hostname).set(&state, &auth, &body).await
}

/// `GET /api/v0.2/devicetypes/<name>/template/`: `{"template": TEXT}`.
pub async fn template_get(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Conf::Template(&name).get(&state, &auth).await
}

/// `POST /api/v0.2/devicetypes/<name>/template/` with `{"template": TEXT}`.
pub async fn template_set(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    Conf::Template(&name).set(&state, &auth, &body).await
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
    .map_err(hostname_taken)?;
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
    .map_err(hostname_taken)?;
    let c = state.db().await?;
    let w = lava_db::workers::get(&c, &hostname)
        .await?
        .ok_or_else(not_found)?;
    Ok((StatusCode::CREATED, Json(super::devices::worker_json(&w))).into_response())
}

/// A record that already exists (409) is refused as DRF refuses it: a 400 naming `hostname`.
fn hostname_taken(e: ApiError) -> ApiError {
    if e.status == StatusCode::CONFLICT {
        bad("hostname", e.text())
    } else {
        e
    }
}
