//! Devices and device types: `/scheduler/alldevices` (filters `device_type`, `health`,
//! `worker`), `/scheduler/device/<hostname>`, `/scheduler/device_types` and
//! `/scheduler/device_type/<name>`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use lava_common::ids::{DeviceName, DeviceTypeName, JobId, WorkerName};
use lava_common::state::{DeviceHealth, DeviceState};
use lava_db::device_list::{DeviceFilter, DeviceRow};
use lava_db::job_list::{JobFilter, JobOrder};
use lava_db::viewer::Viewer;
use serde::Serialize;

use super::{PageError, PageResult, jobs::JobRow, page, parse_opt, when};
use crate::web::AppState;
use crate::web::auth::Auth;

/// A device as the templates show it: `health` is the plain name (for CSS), `health_name`
/// the display name; `job` its current job.
#[derive(Serialize)]
pub struct DeviceView<'a> {
    hostname: &'a DeviceName,
    device_type: &'a DeviceTypeName,
    description: &'a str,
    tags: &'a [String],
    state: &'static str,
    health: &'static str,
    health_name: &'static str,
    worker: Option<&'a WorkerName>,
    job: Option<CurrentJob<'a>>,
}

/// The job a device is running.
#[derive(Serialize)]
struct CurrentJob<'a> {
    id: JobId,
    description: &'a str,
}

impl<'a> DeviceView<'a> {
    /// The view of `d`.
    pub fn of(d: &'a DeviceRow) -> DeviceView<'a> {
        DeviceView {
            hostname: &d.info.hostname,
            device_type: &d.info.device_type,
            description: &d.info.description,
            tags: &d.info.tags,
            state: d.info.state.display_name(),
            health: d.info.health.as_str(),
            health_name: d.info.health.display_name(),
            worker: d.info.worker_host.as_ref(),
            job: d.job.as_ref().map(|(id, description)| CurrentJob {
                id: *id,
                description,
            }),
        }
    }
}

/// The context of `/scheduler/alldevices`.
#[derive(Serialize)]
struct DevicesPage<'a> {
    devices: Vec<DeviceView<'a>>,
    filter: DevicesFilter<'a>,
    types: Vec<DeviceTypeName>,
    workers: Vec<WorkerName>,
    healths: Vec<&'static str>,
}

/// The filters the device list shows as set.
#[derive(Serialize)]
struct DevicesFilter<'a> {
    device_type: Option<&'a DeviceTypeName>,
    health: Option<&'static str>,
    worker: Option<&'a WorkerName>,
}

/// The context of `/scheduler/device/<hostname>`.
#[derive(Serialize)]
struct DevicePage<'a> {
    device: DeviceView<'a>,
    history: Vec<HistoryRow>,
    recent: Vec<JobRow<'a>>,
    config: Option<DeviceConfig>,
}

/// One state or health change of a device.
#[derive(Serialize)]
struct HistoryRow {
    created: Option<String>,
    old_state: &'static str,
    new_state: &'static str,
    old_health: &'static str,
    new_health: &'static str,
    actor: Option<String>,
    reason: String,
}

/// A device's `.conf` as the page shows it; `text` is null when the file cannot be read.
#[derive(Serialize)]
struct DeviceConfig {
    path: String,
    text: Option<String>,
}

/// How many devices of a type there are: `total`, `idle` and `busy` leave retired devices
/// out; the health counts include them.
#[derive(Serialize)]
struct TypeCounts {
    total: usize,
    idle: usize,
    busy: usize,
    good: usize,
    bad: usize,
    retired: usize,
}

/// The context of `/scheduler/device_types`.
#[derive(Serialize)]
struct TypesPage {
    types: Vec<TypeRow>,
}

/// A device type in the list.
#[derive(Serialize)]
struct TypeRow {
    name: DeviceTypeName,
    description: String,
    health_check: bool,
    counts: TypeCounts,
}

/// The context of `/scheduler/device_type/<name>`.
#[derive(Serialize)]
struct TypePage<'a> {
    #[serde(rename = "type")]
    device_type: TypeSettings,
    counts: TypeCounts,
    devices: Vec<DeviceView<'a>>,
    recent: Vec<JobRow<'a>>,
}

/// A device type's health check settings; an empty health check job shows as none.
#[derive(Serialize)]
struct TypeSettings {
    name: DeviceTypeName,
    description: String,
    health_check_job: Option<String>,
    health_frequency: i32,
    health_denominator: lava_common::fixture::HealthDenominator,
    disable_health_check: bool,
}

/// `/scheduler/alldevices`.
pub async fn all(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let filter = DeviceFilter {
        device_type: q
            .get("device_type")
            .filter(|s| !s.is_empty())
            .map(|s| s.as_str().into()),
        health: parse_opt::<DeviceHealth>("health", q.get("health").map(String::as_str))?,
        worker: q
            .get("worker")
            .filter(|s| !s.is_empty())
            .map(|s| s.as_str().into()),
        hostname: None,
    };
    let c = state.db().await?;
    let devices = lava_db::device_list::list(&c, &auth.viewer(), &filter).await?;
    let types: Vec<DeviceTypeName> = lava_db::device_types::list(&c)
        .await?
        .into_iter()
        .map(|t| t.info.name)
        .collect();
    let workers: Vec<WorkerName> = lava_db::workers::list(&c)
        .await?
        .into_iter()
        .map(|w| w.hostname)
        .collect();
    let healths: Vec<_> = DeviceHealth::ALL.iter().map(|h| h.as_str()).collect();
    Ok(page(
        &state,
        &auth,
        "devices.html",
        &DevicesPage {
            devices: devices.iter().map(DeviceView::of).collect(),
            filter: DevicesFilter {
                device_type: filter.device_type.as_ref(),
                health: filter.health.map(|h| h.as_str()),
                worker: filter.worker.as_ref(),
            },
            types,
            workers,
            healths,
        },
    ))
}

/// The ten newest jobs of `filter` that `viewer` may see, newest first.
async fn recent_jobs(
    c: &lava_db::PooledClient,
    viewer: &Viewer,
    filter: JobFilter,
) -> Result<Vec<lava_db::jobs::Job>, PageError> {
    let filter = JobFilter {
        order: JobOrder::IdDesc,
        limit: 10,
        ..filter
    };
    Ok(lava_db::job_list::list(&***c, viewer, &filter).await?)
}

/// `/scheduler/device/<hostname>`: its fields, current job, recent jobs and health history.
pub async fn one(
    State(state): State<AppState>,
    auth: Auth,
    Path(hostname): Path<DeviceName>,
) -> PageResult {
    let viewer = auth.viewer();
    let c = state.db().await?;
    let Some(device) = lava_db::device_list::get(&c, &viewer, &hostname).await? else {
        return Err(PageError::NotFound(format!("no device '{hostname}'")));
    };
    let history: Vec<_> = lava_db::transitions::device_history_for(&c, &viewer, &hostname, 50)
        .await?
        .into_iter()
        .map(|t| HistoryRow {
            created: when(Some(t.created)),
            old_state: t.state.0.display_name(),
            new_state: t.state.1.display_name(),
            old_health: t.health.0.display_name(),
            new_health: t.health.1.display_name(),
            actor: t.actor,
            reason: t.reason,
        })
        .collect();
    let filter = JobFilter {
        device: Some(hostname.clone()),
        ..JobFilter::default()
    };
    let recent = recent_jobs(&c, &viewer, filter).await?;
    let config = device_config(&hostname).await;
    Ok(page(
        &state,
        &auth,
        "device.html",
        &DevicePage {
            device: DeviceView::of(&device),
            history,
            recent: recent.iter().map(JobRow::of).collect(),
            config,
        },
    ))
}

/// The largest device config the page shows; a bigger one is cut with a note.
const CONFIG_LIMIT: usize = 64 * 1024;

/// A device's `.conf` file, when it is on this host (single-machine labs; on a bigger lab it
/// lives on the device's worker and the page says so). `None` when the web app has no
/// settings to find it by.
async fn device_config(hostname: &str) -> Option<DeviceConfig> {
    let etc = crate::web::settings().map(|s| s.dispatcher_etc.clone())?;
    // The file that names the device (its hostname), found off the runtime.
    let name = hostname.to_string();
    let path = tokio::task::spawn_blocking(move || {
        lava_common::conf::devices::find(&etc, &name)
            .unwrap_or_else(|| lava_common::conf::device_path(&etc, &name))
    })
    .await
    .unwrap_or_default();
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let mut text =
                String::from_utf8_lossy(&bytes[..bytes.len().min(CONFIG_LIMIT)]).into_owned();
            if bytes.len() > CONFIG_LIMIT {
                text.push_str("\n… (cut: the file is larger)");
            }
            Some(DeviceConfig {
                path: path.display().to_string(),
                text: Some(text),
            })
        }
        Err(_) => Some(DeviceConfig {
            path: path.display().to_string(),
            text: None,
        }),
    }
}

/// Per-type counts of devices: total (not retired), idle, busy, and per health.
fn type_counts(devices: &[DeviceRow], name: &str) -> TypeCounts {
    let of: Vec<_> = devices
        .iter()
        .filter(|d| d.info.device_type == name)
        .collect();
    let live = of.iter().filter(|d| d.info.health != DeviceHealth::Retired);
    TypeCounts {
        total: live.clone().count(),
        idle: live
            .clone()
            .filter(|d| d.info.state == DeviceState::Idle)
            .count(),
        busy: live
            .clone()
            .filter(|d| d.info.state != DeviceState::Idle)
            .count(),
        good: of
            .iter()
            .filter(|d| d.info.health == DeviceHealth::Good)
            .count(),
        bad: of
            .iter()
            .filter(|d| d.info.health == DeviceHealth::Bad)
            .count(),
        retired: of
            .iter()
            .filter(|d| d.info.health == DeviceHealth::Retired)
            .count(),
    }
}

/// `/scheduler/device_types`.
pub async fn types(State(state): State<AppState>, auth: Auth) -> PageResult {
    let c = state.db().await?;
    let devices = lava_db::device_list::list(&c, &auth.viewer(), &DeviceFilter::default()).await?;
    let types: Vec<_> = lava_db::device_types::list(&c)
        .await?
        .into_iter()
        .filter(|t| t.info.display)
        .map(|t| TypeRow {
            health_check: t
                .info
                .health_check_job
                .as_deref()
                .is_some_and(|j| !j.is_empty()),
            counts: type_counts(&devices, &t.info.name),
            name: t.info.name,
            description: t.info.description,
        })
        .collect();
    Ok(page(
        &state,
        &auth,
        "device_types.html",
        &TypesPage { types },
    ))
}

/// `/scheduler/device_type/<name>`: its settings, health check job and devices.
pub async fn one_type(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<DeviceTypeName>,
) -> PageResult {
    let viewer = auth.viewer();
    let c = state.db().await?;
    let Some(t) = lava_db::device_types::get(&c, &name).await? else {
        return Err(PageError::NotFound(format!("no device type '{name}'")));
    };
    let filter = DeviceFilter {
        device_type: Some(name.clone()),
        ..DeviceFilter::default()
    };
    let devices = lava_db::device_list::list(&c, &viewer, &filter).await?;
    let jobs = JobFilter {
        device_type: Some(name.clone()),
        ..JobFilter::default()
    };
    let recent = recent_jobs(&c, &viewer, jobs).await?;
    Ok(page(
        &state,
        &auth,
        "device_type.html",
        &TypePage {
            device_type: TypeSettings {
                name: t.info.name,
                description: t.info.description,
                health_check_job: t.info.health_check_job.filter(|j| !j.is_empty()),
                health_frequency: t.info.health_frequency,
                health_denominator: t.info.health_denominator,
                disable_health_check: t.info.disable_health_check,
            },
            counts: type_counts(&devices, &name),
            devices: devices.iter().map(DeviceView::of).collect(),
            recent: recent.iter().map(JobRow::of).collect(),
        },
    ))
}
