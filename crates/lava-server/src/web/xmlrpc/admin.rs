//! The admin writes of `scheduler.devices.*`, `scheduler.device_types.*` and
//! `scheduler.workers.*`: adding and changing devices, device types and workers. Each change
//! is recorded in the admin log with the caller and "through XML-RPC".

use lava_common::fixture::{DeviceRecord, HealthDenominator, WorkerRecord};
use lava_common::ids::{DeviceName, DeviceTypeName, WorkerName};
use lava_common::state::{DeviceHealth, WorkerHealth};
use lava_db::device_types::TypeChanges;

use super::args::Args;
use super::codec::Value;
use super::tags::{db_fault, not_found};
use super::{Ctx, Fault};
use crate::web::auth::Caller;

const REASON: &str = "through XML-RPC";

/// Records `action` on an object in the admin log, in the caller's transaction.
async fn log(
    tx: &lava_db::Transaction<'_>,
    who: &Caller,
    object_type: &str,
    object_id: &str,
    action: &str,
) -> Result<(), Fault> {
    let change = lava_db::admin_log::Change {
        user_id: who.id,
        username: &who.username,
        object_type,
        object_id,
        action,
        reason: REASON,
    };
    lava_db::admin_log::record(tx, &change).await?;
    Ok(())
}

/// Device owners went away in LAVA 2019.9; lavacli still sends the arguments. Nil (and
/// `public=True`) are what it sends by default; anything else is refused, not ignored.
fn no_owners(a: &Args, user: usize, group: usize, public: usize) -> Result<(), Fault> {
    if a.opt_string(user, "user_name")?.is_some() || a.opt_string(group, "group_name")?.is_some() {
        return Err(Fault::new(
            400,
            "Device owners (user, group) are not supported: LAVA 2019.9 removed them",
        ));
    }
    if !a.flag(public, "public", true)? {
        return Err(Fault::new(
            400,
            "Private devices are not supported: every device is visible, jobs have visibility",
        ));
    }
    Ok(())
}

fn device_health(h: &str) -> Result<DeviceHealth, Fault> {
    h.parse()
        .map_err(|_| Fault::new(400, format!("Health '{h}' is invalid")))
}

fn checked_name(kind: &'static str, name: &str) -> Result<(), Fault> {
    lava_common::ids::check_name(kind, name).map_err(|e| Fault::new(400, e.to_string()))
}

async fn begin(c: &mut lava_db::PooledClient) -> Result<lava_db::Transaction<'_>, Fault> {
    let client: &mut lava_db::Client = c;
    Ok(client.transaction().await.map_err(lava_db::Error::from)?)
}

/// `scheduler.devices.add(hostname, type_name, worker_hostname, user_name=None,
/// group_name=None, public=True, health=None, description=None)`.
pub async fn device_add(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let who = ctx.user()?.clone();
    let hostname = DeviceName::from(a.string(0, "hostname")?);
    let type_name = DeviceTypeName::from(a.string(1, "type_name")?);
    let worker = WorkerName::from(a.string(2, "worker_hostname")?);
    no_owners(&a, 3, 4, 5)?;
    let health = match a.opt_string(6, "health")? {
        Some(h) => h
            .parse::<DeviceHealth>()
            .map_err(|_| Fault::new(400, "Invalid health"))?,
        None => DeviceHealth::Unknown,
    };
    let description = a.opt_string(7, "description")?.unwrap_or_default();
    checked_name("device", &hostname)?;
    let mut c = ctx.db().await?;
    if lava_db::device_types::get(&c, &type_name).await?.is_none() {
        return Err(Fault::new(
            404,
            format!("DeviceType '{type_name}' was not found."),
        ));
    }
    if lava_db::workers::get(&c, &worker).await?.is_none() {
        return Err(Fault::new(404, not_found("worker", &worker)));
    }
    let record = DeviceRecord {
        description,
        health,
        worker_host: Some(worker),
        ..DeviceRecord::new(hostname.clone(), type_name)
    };
    let tx = begin(&mut c).await?;
    lava_db::devices::add(&tx, &record)
        .await
        .map_err(|e| match e {
            lava_db::Error::AlreadyExists { .. } => {
                Fault::new(400, "Bad request: device already exists?")
            }
            e => db_fault(e),
        })?;
    log(&tx, &who, "device", &hostname, "added").await?;
    tx.commit().await.map_err(lava_db::Error::from)?;
    Ok(Value::Nil)
}

/// `scheduler.devices.update(hostname, worker_hostname=None, user_name=None,
/// group_name=None, public=True, health=None, description=None)`.
pub async fn device_update(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let who = ctx.user()?.clone();
    let hostname = DeviceName::from(a.string(0, "hostname")?);
    let worker = a.opt_string(1, "worker_hostname")?.map(WorkerName::from);
    no_owners(&a, 2, 3, 4)?;
    let health = a
        .opt_string(5, "health")?
        .map(|h| device_health(&h))
        .transpose()?;
    let description = a.opt_string(6, "description")?;
    {
        let mut c = ctx.db().await?;
        if lava_db::devices::get(&c, &hostname).await?.is_none() {
            return Err(Fault::new(404, not_found("device", &hostname)));
        }
        let tx = begin(&mut c).await?;
        if let Some(w) = &worker {
            lava_db::devices::set_worker(&tx, &hostname, Some(w))
                .await
                .map_err(db_fault)?;
            log(&tx, &who, "device", &hostname, &format!("worker -> {w}")).await?;
        }
        if let Some(d) = &description {
            lava_db::devices::set_description(&tx, &hostname, d)
                .await
                .map_err(db_fault)?;
            log(&tx, &who, "device", &hostname, "description changed").await?;
        }
        tx.commit().await.map_err(lava_db::Error::from)?;
    }
    if let Some(h) = health {
        let reason = format!("set by {} {REASON}", who.username);
        crate::web::rest::devices::set_health(&ctx.state, &who, &hostname, h, &reason)
            .await
            .map_err(db_fault)?;
    }
    Ok(Value::Nil)
}

fn denominator(d: &str) -> Result<HealthDenominator, Fault> {
    match d {
        "hours" => Ok(HealthDenominator::Hours),
        "jobs" => Ok(HealthDenominator::Jobs),
        _ => Err(Fault::new(400, "Bad request: invalid health_denominator.")),
    }
}

fn no_owners_only(a: &Args, i: usize) -> Result<(), Fault> {
    if a.flag(i, "owners_only", false)? {
        return Err(Fault::new(
            400,
            "owners_only is not supported: LAVA 2019.9 removed device owners",
        ));
    }
    Ok(())
}

fn frequency(a: &Args, i: usize) -> Result<Option<i32>, Fault> {
    a.opt_int(i, "health_frequency")?
        .map(|f| {
            i32::try_from(f)
                .ok()
                .filter(|f| *f > 0)
                .ok_or_else(|| Fault::new(400, format!("Invalid health_frequency '{f}'")))
        })
        .transpose()
}

/// `scheduler.device_types.add(name, description, display, owners_only, health_frequency,
/// health_denominator)`.
pub async fn type_add(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let who = ctx.user()?.clone();
    let name = DeviceTypeName::from(a.string(0, "name")?);
    checked_name("device type", &name)?;
    let changes = TypeChanges {
        description: a.opt_string(1, "description")?,
        display: Some(a.flag(2, "display", true)?),
        health_frequency: frequency(&a, 4)?,
        health_denominator: a
            .opt_string(5, "health_denominator")?
            .map(|d| denominator(&d))
            .transpose()?,
        disable_health_check: None,
    };
    no_owners_only(&a, 3)?;
    let mut c = ctx.db().await?;
    let tx = begin(&mut c).await?;
    lava_db::device_types::add(&tx, &name, "")
        .await
        .map_err(|e| match e {
            lava_db::Error::AlreadyExists { .. } => {
                Fault::new(400, "Bad request: device-type name is already used.")
            }
            e => db_fault(e),
        })?;
    lava_db::device_types::update(&tx, &name, &changes)
        .await
        .map_err(db_fault)?;
    log(&tx, &who, "device_type", &name, "added").await?;
    tx.commit().await.map_err(lava_db::Error::from)?;
    Ok(Value::Nil)
}

/// `scheduler.device_types.update(name, description, display, owners_only,
/// health_frequency, health_denominator, health_disabled)`: nil leaves a setting alone.
pub async fn type_update(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let who = ctx.user()?.clone();
    let name = a.string(0, "name")?;
    let changes = TypeChanges {
        description: a.opt_string(1, "description")?,
        display: a.get(2).map(|_| a.flag(2, "display", true)).transpose()?,
        health_frequency: frequency(&a, 4)?,
        health_denominator: a
            .opt_string(5, "health_denominator")?
            .map(|d| denominator(&d))
            .transpose()?,
        disable_health_check: a
            .get(6)
            .map(|_| a.flag(6, "health_disabled", false))
            .transpose()?,
    };
    no_owners_only(&a, 3)?;
    let mut c = ctx.db().await?;
    let tx = begin(&mut c).await?;
    lava_db::device_types::update(&tx, &name, &changes)
        .await
        .map_err(db_fault)?;
    log(&tx, &who, "device_type", &name, "changed").await?;
    tx.commit().await.map_err(lava_db::Error::from)?;
    Ok(Value::Nil)
}

/// `scheduler.workers.add(hostname, description=None, disabled=False)`: a worker without a
/// token yet (`lava-server manage workers add NAME` gives it one).
pub async fn worker_add(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let who = ctx.user()?.clone();
    let hostname = WorkerName::from(a.string(0, "hostname")?);
    checked_name("worker", &hostname)?;
    let description = a.opt_string(1, "description")?.unwrap_or_default();
    let disabled = a.flag(2, "disabled", false)?;
    let mut c = ctx.db().await?;
    let tx = begin(&mut c).await?;
    if lava_db::workers::get(&tx, &hostname).await?.is_some() {
        return Err(Fault::new(400, "Bad request: worker already exists?"));
    }
    let record = WorkerRecord {
        hostname: hostname.clone(),
        description,
        health: if disabled {
            WorkerHealth::Retired
        } else {
            WorkerHealth::Active
        },
        job_limit: 0,
    };
    // A new worker: no health change, so no transition is recorded under this reason.
    lava_db::lifecycle::worker::load(&tx, &record, "added through XML-RPC").await?;
    log(&tx, &who, "worker", &hostname, "added").await?;
    tx.commit().await.map_err(lava_db::Error::from)?;
    Ok(Value::Nil)
}

/// `scheduler.workers.update(hostname, description=None, health=None, job_limit=None)`.
pub async fn worker_update(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let who = ctx.user()?.clone();
    let hostname = WorkerName::from(a.string(0, "hostname")?);
    let description = a.opt_string(1, "description")?;
    let health = a
        .opt_string(2, "health")?
        .map(|h| match h.as_str() {
            "ACTIVE" => Ok(WorkerHealth::Active),
            "MAINTENANCE" => Ok(WorkerHealth::Maintenance),
            "RETIRED" => Ok(WorkerHealth::Retired),
            _ => Err(Fault::new(400, format!("Invalid health: {h}"))),
        })
        .transpose()?;
    let job_limit = a
        .opt_int(3, "job_limit")?
        .map(|l| {
            i32::try_from(l)
                .ok()
                .filter(|l| *l >= 0)
                .ok_or_else(|| Fault::new(400, "Invalid job limit"))
        })
        .transpose()?;
    let mut c = ctx.db().await?;
    let w = lava_db::workers::get(&c, &hostname)
        .await?
        .ok_or_else(|| Fault::new(404, not_found("worker", &hostname)))?;
    let update = lava_db::lifecycle::worker::WorkerUpdate {
        health: health.unwrap_or(w.health),
        description: description.as_deref().unwrap_or(&w.description),
        job_limit: job_limit.unwrap_or(w.job_limit),
    };
    let tx = begin(&mut c).await?;
    let reason = format!("set by {} {REASON}", who.username);
    lava_db::lifecycle::worker::update(&tx, &hostname, &update, Some(who.id), &reason)
        .await
        .map_err(db_fault)?;
    log(&tx, &who, "worker", &hostname, "changed").await?;
    tx.commit().await.map_err(lava_db::Error::from)?;
    Ok(Value::Nil)
}

/// `scheduler.workers.get_certificate` and `set_certificate`: the worker must exist; there
/// are no ZeroMQ certificates to read or store.
pub async fn worker_certificate(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let hostname = WorkerName::from(a.string(0, "hostname")?);
    let c = ctx.db().await?;
    if lava_db::workers::get(&c, &hostname).await?.is_none() {
        return Err(Fault::new(404, not_found("worker", &hostname)));
    }
    Err(super::system::no_certificates())
}
