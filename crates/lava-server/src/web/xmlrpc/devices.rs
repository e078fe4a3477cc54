//! `scheduler.devices.*`, `scheduler.device_types.*` and `scheduler.workers.*`.

use lava_common::ids::{DeviceName, DeviceTypeName, JobId, WorkerName};
use lava_common::state::DeviceHealth;

use serde::Serialize;

use crate::conffiles::WorkerFile;

use super::args::Args;
use super::codec::Value;
use super::ser::DateTime;
use super::{Ctx, Fault};

use crate::web::settings;

/// The hostnames of the devices `keep` accepts, sorted.
async fn hostnames(
    c: &impl lava_db::Db,
    keep: impl Fn(&lava_db::devices::Device) -> bool,
) -> Result<Vec<DeviceName>, Fault> {
    let devices = lava_db::devices::list(c).await?;
    Ok(devices
        .into_iter()
        .filter(|d| keep(d))
        .map(|d| d.info.hostname)
        .collect())
}

fn device_not_found(name: &str) -> Fault {
    Fault::new(404, format!("Device '{name}' was not found."))
}

/// A row of `scheduler.devices.list`.
#[derive(Serialize)]
struct DeviceRow {
    hostname: DeviceName,
    #[serde(rename = "type")]
    device_type: DeviceTypeName,
    health: &'static str,
    state: &'static str,
    current_job: Option<JobId>,
    /// Always true: every job here is a pipeline job.
    pipeline: bool,
}

/// `scheduler.devices.list(show_all=False)`: by hostname; retired devices only with `show_all`.
pub async fn list(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let all = a.flag(0, "show_all", false)?;
    if a.flag(1, "offline_info", false)? {
        return Err(Fault::new(400, "offline_info is not supported"));
    }
    let c = ctx.db().await?;
    let devices = lava_db::devices::list(&c).await?;
    let rows: Vec<DeviceRow> = devices
        .into_iter()
        .filter(|d| all || d.info.health != DeviceHealth::Retired)
        .map(|d| DeviceRow {
            hostname: d.info.hostname,
            device_type: d.info.device_type,
            health: d.info.health.display_name(),
            state: d.info.state.display_name(),
            current_job: d.current_job,
            pipeline: true,
        })
        .collect();
    Ok(Value::from_serialize(&rows)?)
}

/// `scheduler.devices.show`, members in LAVA's order.
#[derive(Serialize)]
struct DeviceShow {
    hostname: DeviceName,
    device_type: DeviceTypeName,
    health: &'static str,
    state: &'static str,
    /// Whether the device type has a health check job.
    health_job: bool,
    description: String,
    pipeline: bool,
    /// Whether the device's `.conf` exists.
    has_device_dict: bool,
    worker: Option<WorkerName>,
    current_job: Option<JobId>,
    tags: Vec<String>,
}

/// `scheduler.devices.show(hostname)`.
pub async fn show(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = DeviceName::from(a.string(0, "hostname")?);
    let c = ctx.db().await?;
    let d = lava_db::devices::get(&c, &name)
        .await?
        .ok_or_else(|| device_not_found(&name))?;
    let t = lava_db::device_types::get(&c, &d.info.device_type).await?;
    let health_job = t.is_some_and(|t| t.info.health_check_job.is_some());
    let dict = match settings().map(|s| s.dispatcher_etc.clone()) {
        Some(etc) => {
            let name = d.info.hostname.clone();
            tokio::task::spawn_blocking(move || {
                lava_common::conf::devices::find(&etc, &name).is_some()
            })
            .await
            .unwrap_or(false)
        }
        None => false,
    };
    Ok(Value::from_serialize(&DeviceShow {
        health: d.info.health.display_name(),
        state: d.info.state.display_name(),
        hostname: d.info.hostname,
        device_type: d.info.device_type,
        health_job,
        description: d.info.description,
        pipeline: true,
        has_device_dict: dict,
        worker: d.info.worker_host,
        current_job: d.current_job,
        tags: d.info.tags,
    })?)
}

/// A row of `scheduler.device_types.list`.
#[derive(Serialize)]
struct TypeRow {
    name: DeviceTypeName,
    devices: i64,
    /// Always true: every type in the database is installed.
    installed: bool,
    /// Whether the type's `.conf` exists.
    template: bool,
}

/// `scheduler.device_types.list(show_all=False)`: every type in the database (installed),
/// `template` when its `.conf` exists.
pub async fn types_list(ctx: &Ctx, _a: Args) -> Result<Value, Fault> {
    let c = ctx.db().await?;
    let types = lava_db::device_types::list(&c).await?;
    let rows: Vec<TypeRow> = types
        .into_iter()
        .map(|t| TypeRow {
            template: settings().is_some_and(|s| s.device_type_conf(&t.info.name).exists()),
            name: t.info.name,
            devices: t.devices,
            installed: true,
        })
        .collect();
    Ok(Value::from_serialize(&rows)?)
}

/// `scheduler.device_types.show`, members in LAVA's order.
#[derive(Serialize)]
struct TypeShow {
    name: DeviceTypeName,
    description: String,
    display: bool,
    health_disabled: bool,
    /// `hours` or `jobs`.
    health_denominator: String,
    health_frequency: i32,
    aliases: Vec<String>,
    devices: Vec<DeviceName>,
    /// True when the type has no `.conf` of its own.
    default_template: bool,
}

/// `scheduler.device_types.show(name)`.
pub async fn types_show(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = DeviceTypeName::from(a.string(0, "name")?);
    let c = ctx.db().await?;
    let t = lava_db::device_types::get(&c, &name)
        .await?
        .ok_or_else(|| Fault::new(404, format!("Device-type '{name}' was not found.")))?;
    let devices = hostnames(&c, |d| d.info.device_type == name).await?;
    let aliases = lava_db::aliases::of_type(&c, &name).await?;
    let template = settings().is_some_and(|s| s.device_type_conf(&name).exists());
    Ok(Value::from_serialize(&TypeShow {
        health_denominator: format!("{:?}", t.info.health_denominator).to_lowercase(),
        name: t.info.name,
        description: t.info.description,
        display: t.info.display,
        health_disabled: t.info.disable_health_check,
        health_frequency: t.info.health_frequency,
        aliases,
        devices,
        default_template: !template,
    })?)
}

/// `scheduler.workers.list()`: hostnames only, sorted.
pub async fn workers_list(ctx: &Ctx) -> Result<Value, Fault> {
    let c = ctx.db().await?;
    let workers = lava_db::workers::list(&c).await?;
    let names: Vec<WorkerName> = workers.into_iter().map(|w| w.hostname).collect();
    Ok(Value::from_serialize(&names)?)
}

/// `scheduler.workers.show`, members in LAVA's order.
#[derive(Serialize)]
struct WorkerShow {
    hostname: WorkerName,
    description: String,
    state: &'static str,
    health: &'static str,
    devices: Vec<DeviceName>,
    last_ping: Option<DateTime>,
    job_limit: i32,
    version: Option<String>,
    /// True when the worker has no `dispatcher.yaml` of its own.
    default_config: bool,
    /// True when the worker has no `env.yaml` of its own.
    default_env: bool,
    /// Always true: per-worker `env-dut.yaml` files are not kept.
    default_env_dut: bool,
}

/// `scheduler.workers.show(hostname)`.
pub async fn workers_show(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = WorkerName::from(a.string(0, "hostname")?);
    let c = ctx.db().await?;
    let w = lava_db::workers::get(&c, &name)
        .await?
        .ok_or_else(|| Fault::new(404, format!("Worker '{name}' was not found.")))?;
    let devices = hostnames(&c, |d| d.info.worker_host.as_deref() == Some(name.as_str())).await?;
    let has_file = |f: WorkerFile| {
        lava_common::ids::check_name("worker", &name).is_ok()
            && settings().is_some_and(|s| f.path(s, &name).exists())
    };
    Ok(Value::from_serialize(&WorkerShow {
        default_config: !has_file(WorkerFile::Config),
        default_env: !has_file(WorkerFile::Env),
        hostname: w.hostname,
        description: w.description,
        state: w.state.display_name(),
        health: w.health.display_name(),
        devices,
        last_ping: w.last_ping.map(DateTime::from),
        job_limit: w.job_limit,
        version: w.version,
        default_env_dut: true,
    })?)
}
