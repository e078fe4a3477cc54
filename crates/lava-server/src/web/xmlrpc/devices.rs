//! `scheduler.devices.*`, `scheduler.device_types.*` and `scheduler.workers.*`.

use lava_common::ids::{DeviceName, DeviceTypeName, WorkerName};
use lava_common::state::DeviceHealth;

use crate::conffiles::WorkerFile;

use super::args::Args;
use super::codec::Value;
use super::{Ctx, Fault};

use crate::web::settings;

/// The hostnames of the devices `keep` accepts, sorted.
async fn hostnames(
    c: &impl lava_db::Db,
    keep: impl Fn(&lava_db::devices::Device) -> bool,
) -> Result<Value, Fault> {
    let devices = lava_db::devices::list(c).await?;
    Ok(Value::Array(
        devices
            .into_iter()
            .filter(|d| keep(d))
            .map(|d| Value::Str(d.info.hostname.to_string()))
            .collect(),
    ))
}

fn device_not_found(name: &str) -> Fault {
    Fault::new(404, format!("Device '{name}' was not found."))
}

/// `scheduler.devices.list(show_all=False)`: by hostname; retired devices only with `show_all`.
pub async fn list(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let all = a.flag(0, "show_all", false)?;
    if a.flag(1, "offline_info", false)? {
        return Err(Fault::new(400, "offline_info is not supported"));
    }
    let c = ctx.db().await?;
    let devices = lava_db::devices::list(&c).await?;
    Ok(Value::Array(
        devices
            .into_iter()
            .filter(|d| all || d.info.health != DeviceHealth::Retired)
            .map(|d| {
                Value::structure([
                    ("hostname", Value::str(d.info.hostname)),
                    ("type", Value::str(d.info.device_type)),
                    ("health", Value::str(d.info.health.display_name())),
                    ("state", Value::str(d.info.state.display_name())),
                    ("current_job", Value::opt_int(d.current_job.map(|j| j.0))),
                    ("pipeline", Value::Bool(true)),
                ])
            })
            .collect(),
    ))
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
    Ok(Value::structure([
        ("hostname", Value::str(d.info.hostname)),
        ("device_type", Value::str(d.info.device_type)),
        ("health", Value::str(d.info.health.display_name())),
        ("state", Value::str(d.info.state.display_name())),
        ("health_job", Value::Bool(health_job)),
        ("description", Value::str(d.info.description)),
        ("pipeline", Value::Bool(true)),
        ("has_device_dict", Value::Bool(dict)),
        ("worker", Value::opt_str(d.info.worker_host)),
        ("current_job", Value::opt_int(d.current_job.map(|j| j.0))),
        (
            "tags",
            Value::Array(d.info.tags.into_iter().map(Value::Str).collect()),
        ),
    ]))
}

/// `scheduler.device_types.list(show_all=False)`: every type in the database (installed),
/// `template` when its `.conf` exists.
pub async fn types_list(ctx: &Ctx, _a: Args) -> Result<Value, Fault> {
    let c = ctx.db().await?;
    let types = lava_db::device_types::list(&c).await?;
    Ok(Value::Array(
        types
            .into_iter()
            .map(|t| {
                let template =
                    settings().is_some_and(|s| s.device_type_conf(&t.info.name).exists());
                Value::structure([
                    ("name", Value::str(t.info.name)),
                    ("devices", Value::Int(t.devices)),
                    ("installed", Value::Bool(true)),
                    ("template", Value::Bool(template)),
                ])
            })
            .collect(),
    ))
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
    Ok(Value::structure([
        ("name", Value::str(t.info.name)),
        ("description", Value::str(t.info.description)),
        ("display", Value::Bool(t.info.display)),
        ("health_disabled", Value::Bool(t.info.disable_health_check)),
        (
            "health_denominator",
            Value::str(format!("{:?}", t.info.health_denominator).to_lowercase()),
        ),
        (
            "health_frequency",
            Value::Int(t.info.health_frequency.into()),
        ),
        (
            "aliases",
            Value::Array(aliases.into_iter().map(Value::Str).collect()),
        ),
        ("devices", devices),
        ("default_template", Value::Bool(!template)),
    ]))
}

/// `scheduler.workers.list()`: hostnames only, sorted.
pub async fn workers_list(ctx: &Ctx) -> Result<Value, Fault> {
    let c = ctx.db().await?;
    let workers = lava_db::workers::list(&c).await?;
    Ok(Value::Array(
        workers
            .into_iter()
            .map(|w| Value::Str(w.hostname.to_string()))
            .collect(),
    ))
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
    Ok(Value::structure([
        ("hostname", Value::str(w.hostname)),
        ("description", Value::str(w.description)),
        ("state", Value::str(w.state.display_name())),
        ("health", Value::str(w.health.display_name())),
        ("devices", devices),
        (
            "last_ping",
            w.last_ping
                .map(|t| Value::DateTime(t.naive_utc()))
                .unwrap_or(Value::Nil),
        ),
        ("job_limit", Value::Int(w.job_limit.into())),
        ("version", Value::opt_str(w.version)),
        ("default_config", Value::Bool(!has_file(WorkerFile::Config))),
        ("default_env", Value::Bool(!has_file(WorkerFile::Env))),
        ("default_env_dut", Value::Bool(true)),
    ]))
}
