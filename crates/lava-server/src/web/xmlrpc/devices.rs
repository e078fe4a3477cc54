//! `scheduler.devices.*`, `scheduler.device_types.*` and `scheduler.workers.*`.

use lava_common::state::DeviceHealth;

use super::args::Args;
use super::codec::Value;
use super::{Ctx, Fault};

use crate::web::settings;

/// The hostnames of the devices `keep` accepts, sorted.
async fn hostnames(
    c: &impl lava_db::GenericClient,
    keep: impl Fn(&lava_db::devices::Device) -> bool,
) -> Result<Value, Fault> {
    let devices = lava_db::devices::list(c).await?;
    Ok(Value::Array(
        devices
            .into_iter()
            .filter(|d| keep(d))
            .map(|d| Value::Str(d.hostname))
            .collect(),
    ))
}

fn device_not_found(name: &str) -> Fault {
    Fault::new(404, format!("Device '{name}' was not found."))
}

/// `scheduler.devices.list(show_all=False)`: by hostname; retired devices only with `show_all`.
pub async fn list(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let all = a.flag(0, "show_all", false)?;
    let c = ctx.db().await?;
    let devices = lava_db::devices::list(&**c).await?;
    Ok(Value::Array(
        devices
            .into_iter()
            .filter(|d| all || d.health != DeviceHealth::Retired)
            .map(|d| {
                Value::structure([
                    ("hostname", Value::str(d.hostname)),
                    ("type", Value::str(d.device_type)),
                    ("health", Value::str(d.health.display_name())),
                    ("state", Value::str(d.state.display_name())),
                    ("current_job", Value::opt_int(d.current_job)),
                    ("pipeline", Value::Bool(true)),
                ])
            })
            .collect(),
    ))
}

/// `scheduler.devices.show(hostname)`.
pub async fn show(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = a.string(0, "hostname")?;
    let c = ctx.db().await?;
    let d = lava_db::devices::get(&**c, &name)
        .await?
        .ok_or_else(|| device_not_found(&name))?;
    let t = lava_db::device_types::get(&**c, &d.device_type).await?;
    let health_job = t.is_some_and(|t| t.info.health_check_job.is_some());
    let dict = match settings().map(|s| s.dispatcher_etc.clone()) {
        Some(etc) => {
            let name = d.hostname.clone();
            tokio::task::spawn_blocking(move || {
                lava_common::conf::devices::find(&etc, &name).is_some()
            })
            .await
            .unwrap_or(false)
        }
        None => false,
    };
    Ok(Value::structure([
        ("hostname", Value::str(d.hostname)),
        ("device_type", Value::str(d.device_type)),
        ("health", Value::str(d.health.display_name())),
        ("state", Value::str(d.state.display_name())),
        ("health_job", Value::Bool(health_job)),
        ("description", Value::str(d.description)),
        ("pipeline", Value::Bool(true)),
        ("has_device_dict", Value::Bool(dict)),
        ("worker", Value::opt_str(d.worker_host)),
        ("current_job", Value::opt_int(d.current_job)),
        (
            "tags",
            Value::Array(d.tags.into_iter().map(Value::Str).collect()),
        ),
    ]))
}

/// `scheduler.devices.update(hostname, worker_hostname=None, health=None, description=None)`:
/// superusers only; the health change is recorded with the caller as its reason's author.
/// Moving a device to another worker is done by the workers themselves here, so a worker
/// name is refused; so is a description, which only the admin commands change.
pub async fn update(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let user = ctx.user()?.clone();
    if !user.is_superuser {
        return Err(Fault::new(403, "Permission denied."));
    }
    let name = a.string(0, "hostname")?;
    if a.opt_string(1, "worker_hostname")?.is_some() {
        return Err(Fault::new(
            400,
            "Changing the worker is not supported: the worker that has the device's .conf reports it",
        ));
    }
    if a.opt_string(3, "description")?.is_some() {
        return Err(Fault::new(
            400,
            "Changing the description is not supported through XML-RPC",
        ));
    }
    let health = a
        .opt_string(2, "health")?
        .map(|h| {
            h.parse::<DeviceHealth>()
                .map_err(|_| Fault::new(400, format!("Invalid health '{h}'")))
        })
        .transpose()?;
    let c = ctx.db().await?;
    if lava_db::devices::get(&**c, &name).await?.is_none() {
        return Err(device_not_found(&name));
    }
    drop(c);
    if let Some(h) = health {
        let reason = format!("set by {} through XML-RPC", user.username);
        crate::web::rest::devices::set_health(&ctx.state, &user, &name, h, &reason)
            .await
            .map_err(|e| match e {
                lava_db::Error::Invalid(m) | lava_db::Error::Conflict(m) => Fault::new(400, m),
                e => e.into(),
            })?;
    }
    Ok(Value::Nil)
}

/// `scheduler.device_types.list(show_all=False)`: every type in the database (installed),
/// `template` when its `.conf` exists.
pub async fn types_list(ctx: &Ctx, _a: Args) -> Result<Value, Fault> {
    let c = ctx.db().await?;
    let types = lava_db::device_types::list(&**c).await?;
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
    let name = a.string(0, "name")?;
    let c = ctx.db().await?;
    let t = lava_db::device_types::get(&**c, &name)
        .await?
        .ok_or_else(|| Fault::new(404, format!("Device-type '{name}' was not found.")))?;
    let devices = hostnames(&**c, |d| d.device_type == name).await?;
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
        ("devices", devices),
    ]))
}

/// `scheduler.workers.list()`: hostnames only, sorted.
pub async fn workers_list(ctx: &Ctx) -> Result<Value, Fault> {
    let c = ctx.db().await?;
    let workers = lava_db::workers::list(&**c).await?;
    Ok(Value::Array(
        workers
            .into_iter()
            .map(|w| Value::Str(w.hostname))
            .collect(),
    ))
}

/// `scheduler.workers.show(hostname)`.
pub async fn workers_show(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = a.string(0, "hostname")?;
    let c = ctx.db().await?;
    let w = lava_db::workers::get(&**c, &name)
        .await?
        .ok_or_else(|| Fault::new(404, format!("Worker '{name}' was not found.")))?;
    let devices = hostnames(&**c, |d| d.worker_host.as_deref() == Some(name.as_str())).await?;
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
    ]))
}
