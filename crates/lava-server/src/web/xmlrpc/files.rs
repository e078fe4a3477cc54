//! The files behind `devices.{get,set}_dictionary`, `device_types.{get,set}_template`,
//! `device_types.{get,set}_health_check`, `workers.{get,set}_{config,env}` and
//! `jobs.configuration`. Every `set_*` checks the text as its reader will read it, answers a
//! fault naming the bad line, and only then replaces the file atomically.

use std::path::Path;

use lava_common::conf::ConfFile;
use lava_common::ids::{DeviceName, DeviceTypeName, WorkerName};
use lava_common::settings::Settings;
use lava_common::state::JobState;

use super::args::Args;
use super::codec::Value;
use super::tags::not_found;
use super::{Ctx, Fault};
pub use crate::conffiles::WorkerFile;
use crate::conffiles::{read_optional, replace};

fn settings() -> Result<&'static Settings, Fault> {
    crate::web::settings().ok_or_else(|| Fault::internal("the server runs without settings"))
}

fn read_fault(path: &Path, e: std::io::Error) -> Fault {
    tracing::error!(path = %path.display(), error = %e, "cannot read");
    Fault::new(400, format!("Unable to read {}: {e}", path.display()))
}

async fn write(path: &Path, text: String) -> Result<(), Fault> {
    let p = path.to_owned();
    tokio::task::spawn_blocking(move || replace(&p, &text))
        .await
        .map_err(Fault::internal)?
        .map_err(|e| {
            tracing::error!(path = %path.display(), error = %e, "cannot write");
            Fault::new(400, format!("Unable to write {}: {e}", path.display()))
        })
}

fn valid_name(kind: &'static str, name: &str) -> Result<(), Fault> {
    lava_common::ids::check_name(kind, name)
        .map_err(|_| Fault::new(400, format!("Invalid {kind} '{name}'")))
}

/// The device type of device `hostname`, or the 404 fault.
async fn device_type_of(ctx: &Ctx, hostname: &str) -> Result<DeviceTypeName, Fault> {
    let c = ctx.db().await?;
    Ok(lava_db::devices::get(&c, &DeviceName::from(hostname))
        .await?
        .ok_or_else(|| Fault::new(404, not_found("device", hostname)))?
        .info
        .device_type)
}

/// `scheduler.devices.get_dictionary(hostname, render=False, context=None)`: the `.conf` as
/// written, or with `render` the layered and interpolated configuration as YAML.
pub async fn get_dictionary(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let hostname = a.string(0, "hostname")?;
    let render = a.flag(1, "render", false)?;
    if a.opt_string(2, "context")?.is_some() {
        return Err(Fault::new(
            400,
            "A job context is not supported: device dictionaries are .conf files, not templates",
        ));
    }
    device_type_of(ctx, &hostname).await?;
    valid_name("device", &hostname)?;
    let s = settings()?;
    let path = s.device_conf(&hostname);
    if !render {
        let text = read_optional(&path)
            .map_err(|e| read_fault(&path, e))?
            .ok_or_else(|| {
                Fault::new(
                    404,
                    format!("Device '{hostname}' does not have a configuration"),
                )
            })?;
        return Ok(Value::Base64(text.into_bytes()));
    }
    if !path.exists() {
        return Err(Fault::new(
            404,
            format!("Device '{hostname}' does not have a configuration"),
        ));
    }
    let yaml =
        crate::conffiles::render_device_conf(s, &hostname).map_err(|e| Fault::new(400, e))?;
    Ok(Value::Base64(yaml.into_bytes()))
}

/// `scheduler.devices.set_dictionary(hostname, dictionary)` → true.
pub async fn set_dictionary(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let hostname = a.string(0, "hostname")?;
    let text = a.string(1, "dictionary")?;
    let device_type = device_type_of(ctx, &hostname).await?;
    valid_name("device", &hostname)?;
    let s = settings()?;
    crate::conffiles::check_device_conf(s, &hostname, &device_type, &text)
        .map_err(|e| Fault::new(400, e))?;
    write(&s.device_conf(&hostname), text).await?;
    tracing::info!(device = %hostname, user = %ctx.user()?.username, "device dictionary replaced");
    Ok(Value::Bool(true))
}

/// `scheduler.device_types.get_template(name)`: the device type's `.conf`.
pub async fn get_template(_ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = a.string(0, "name")?;
    valid_name("device type", &name)?;
    let path = settings()?.device_type_conf(&name);
    let text = read_optional(&path)
        .map_err(|e| read_fault(&path, e))?
        .ok_or_else(|| Fault::new(404, not_found("device type", &name)))?;
    Ok(Value::Base64(text.into_bytes()))
}

/// `scheduler.device_types.set_template(name, config)`: checked as a `.conf` (device keys
/// that a device file sets are not required here).
pub async fn set_template(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = a.string(0, "name")?;
    let text = a.string(1, "config")?;
    valid_name("device type", &name)?;
    let path = settings()?.device_type_conf(&name);
    ConfFile::parse(&path, &text).map_err(|e| Fault::new(400, e.to_string()))?;
    write(&path, text).await?;
    tracing::info!(device_type = %name, user = %ctx.user()?.username, "device type template replaced");
    Ok(Value::Nil)
}

/// `scheduler.device_types.get_health_check(name)`.
pub async fn get_health_check(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = DeviceTypeName::from(a.string(0, "name")?);
    let c = ctx.db().await?;
    let t = lava_db::device_types::get(&c, &name)
        .await?
        .ok_or_else(|| Fault::new(404, not_found("device type", &name)))?;
    let job = t
        .info
        .health_check_job
        .ok_or_else(|| Fault::new(404, format!("Device-type '{name}' has no health check")))?;
    Ok(Value::Base64(job.into_bytes()))
}

/// `scheduler.device_types.set_health_check(name, config)`: checked as a health check job
/// of this type (an empty text removes it).
pub async fn set_health_check(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let who = ctx.user()?.clone();
    let name = DeviceTypeName::from(a.string(0, "name")?);
    let text = a.string(1, "config")?;
    let job = (!text.trim().is_empty()).then_some(text.as_str());
    if let Some(j) = job {
        crate::web::admin::device_types::check(&name, j).map_err(|e| Fault::new(400, e))?;
    }
    let mut c = ctx.db().await?;
    let client: &mut lava_db::Client = &mut c;
    let tx = client.transaction().await.map_err(lava_db::Error::from)?;
    lava_db::device_types::set_health_check(&tx, &name, job)
        .await
        .map_err(super::tags::db_fault)?;
    let change = lava_db::admin_log::Change {
        user_id: who.id,
        username: &who.username,
        object_type: "device_type",
        object_id: &name,
        action: "health check replaced",
        reason: "through XML-RPC",
    };
    lava_db::admin_log::record(&tx, &change).await?;
    tx.commit().await.map_err(lava_db::Error::from)?;
    Ok(Value::Nil)
}

async fn worker_exists(ctx: &Ctx, hostname: &str) -> Result<(), Fault> {
    valid_name("worker", hostname).map_err(|_| Fault::new(400, "Invalid worker name"))?;
    let c = ctx.db().await?;
    lava_db::workers::get(&c, &WorkerName::from(hostname))
        .await?
        .map(|_| ())
        .ok_or_else(|| Fault::new(404, not_found("worker", hostname)))
}

/// `scheduler.workers.get_config(hostname)` and `get_env(hostname)`.
pub async fn get_worker_file(ctx: &Ctx, a: Args, which: WorkerFile) -> Result<Value, Fault> {
    let hostname = a.string(0, "hostname")?;
    worker_exists(ctx, &hostname).await?;
    let path = which.path(settings()?, &hostname);
    let text = read_optional(&path)
        .map_err(|e| read_fault(&path, e))?
        .ok_or_else(|| {
            Fault::new(
                404,
                match which {
                    WorkerFile::Config => {
                        format!("Worker '{hostname}' does not have a dispatcher configuration")
                    }
                    WorkerFile::Env => format!("Worker '{hostname}' does not have an env file"),
                },
            )
        })?;
    Ok(Value::Base64(text.into_bytes()))
}

/// `scheduler.workers.set_config(hostname, config)` and `set_env(hostname, env)` → true.
pub async fn set_worker_file(ctx: &Ctx, a: Args, which: WorkerFile) -> Result<Value, Fault> {
    let hostname = a.string(0, "hostname")?;
    let text = a.string(
        1,
        match which {
            WorkerFile::Config => "config",
            WorkerFile::Env => "env",
        },
    )?;
    worker_exists(ctx, &hostname).await?;
    which
        .check(&text)
        .map_err(|e| Fault::new(400, e.to_string()))?;
    write(&which.path(settings()?, &hostname), text).await?;
    tracing::info!(worker = %hostname, file = which.file_name(), user = %ctx.user()?.username, "worker file replaced");
    Ok(Value::Bool(true))
}

/// `scheduler.jobs.configuration(job_id)` → `[definition, device, dispatcher, env, env_dut]`
/// of a job that has started: its definition, and the device's and worker's files as they
/// are now.
pub async fn job_configuration(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let id = a.job_id(0, "job_id")?;
    let job = {
        let c = ctx.db().await?;
        lava_db::job_list::get(&c, &ctx.viewer(), id)
            .await?
            .ok_or_else(|| Fault::job_not_found(id))?
    };
    if matches!(job.state, JobState::Submitted | JobState::Scheduled) {
        return Err(Fault::new(404, format!("Job '{id}' has not started yet")));
    }
    let s = settings()?;
    let file = |p: Option<std::path::PathBuf>| -> Result<Value, Fault> {
        let Some(p) = p else { return Ok(Value::Nil) };
        Ok(Value::opt_str(
            read_optional(&p).map_err(|e| read_fault(&p, e))?,
        ))
    };
    let device = job
        .device
        .as_deref()
        .filter(|d| lava_common::ids::check_name("device", d).is_ok())
        .map(|d| s.device_conf(d));
    let worker = job.worker.as_deref();
    Ok(Value::Array(vec![
        Value::Str(job.definition.clone()),
        file(device)?,
        file(worker.map(|w| WorkerFile::Config.path(s, w)))?,
        file(worker.map(|w| WorkerFile::Env.path(s, w)))?,
        Value::Nil,
    ]))
}
