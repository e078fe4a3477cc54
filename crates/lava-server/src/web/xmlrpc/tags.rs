//! `scheduler.tags.*`, `scheduler.aliases.*`, `scheduler.devices.tags.*` and
//! `scheduler.device_types.aliases.*`: tags on devices and other names for device types.

use lava_common::ids::DeviceTypeName;
use lava_db::{aliases, tags};
use serde::Serialize;

use super::args::Args;
use super::codec::Value;
use super::{Ctx, Fault};
use crate::web::replies::{AliasReply, TagReply};

/// A database refusal as LAVA words it: missing things are 404, bad or duplicate input 400.
pub fn db_fault(e: lava_db::Error) -> Fault {
    match e {
        lava_db::Error::NotFound { what, key } => Fault::new(404, not_found(what, &key)),
        lava_db::Error::AlreadyExists { what, key } => {
            Fault::new(400, format!("Bad request: {what} '{key}' already exists."))
        }
        lava_db::Error::Invalid(m) | lava_db::Error::Conflict(m) => Fault::new(400, m),
        e => e.into(),
    }
}

/// LAVA's "not found" words for each kind of object.
pub fn not_found(what: &str, key: &str) -> String {
    match what {
        "device" => format!("Device '{key}' was not found."),
        "device type" => format!("Device-type '{key}' was not found."),
        "worker" => format!("Worker '{key}' was not found."),
        "tag" => format!("Tag '{key}' was not found."),
        "alias" => format!("Alias '{key}' was not found."),
        other => format!("{other} '{key}' was not found."),
    }
}

/// `scheduler.tags.show`: the tag and the hostnames that carry it.
#[derive(Serialize)]
struct TagShowReply<'a> {
    #[serde(flatten)]
    tag: TagReply<'a>,
    devices: &'a [String],
}

/// `scheduler.tags.list()`.
pub async fn list(ctx: &Ctx) -> Result<Value, Fault> {
    let c = ctx.db().await?;
    let all = tags::list(&c).await?;
    let reply: Vec<TagReply> = all.iter().map(TagReply::from).collect();
    Ok(Value::from_serialize(&reply)?)
}

/// `scheduler.tags.show(name)`.
pub async fn show(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = a.string(0, "name")?;
    let c = ctx.db().await?;
    let t = tags::get(&c, &name)
        .await?
        .ok_or_else(|| Fault::new(404, not_found("tag", &name)))?;
    Ok(Value::from_serialize(&TagShowReply {
        tag: TagReply::from(&t.tag),
        devices: &t.devices,
    })?)
}

/// `scheduler.tags.add(name, description=None)`.
pub async fn add(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = a.string(0, "name")?;
    let description = a.opt_string(1, "description")?;
    let c = ctx.db().await?;
    tags::add(&c, &name, description.as_deref())
        .await
        .map_err(|e| match e {
            lava_db::Error::AlreadyExists { .. } => {
                Fault::new(400, "Bad request: tag already exists?")
            }
            e => db_fault(e),
        })?;
    Ok(Value::Nil)
}

/// `scheduler.tags.delete(name)`: also takes the tag off every device.
pub async fn delete(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = a.string(0, "name")?;
    let mut c = ctx.db().await?;
    let client: &mut lava_db::Client = &mut c;
    let tx = client.transaction().await.map_err(lava_db::Error::from)?;
    tags::delete(&tx, &name).await.map_err(db_fault)?;
    tx.commit().await.map_err(lava_db::Error::from)?;
    Ok(Value::Nil)
}

/// `scheduler.devices.tags.list(hostname)`.
pub async fn device_list(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let hostname = a.string(0, "hostname")?;
    let c = ctx.db().await?;
    let t = tags::of_device(&c, &hostname)
        .await?
        .ok_or_else(|| Fault::new(404, not_found("device", &hostname)))?;
    Ok(Value::from_serialize(&t)?)
}

/// `scheduler.devices.tags.add(hostname, name)`.
pub async fn device_add(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let hostname = a.string(0, "hostname")?;
    let name = a.string(1, "name")?;
    let c = ctx.db().await?;
    tags::add_to_device(&c, &hostname, &name)
        .await
        .map_err(db_fault)?;
    tracing::info!(device = %hostname, tag = %name, "tag added through XML-RPC");
    Ok(Value::Nil)
}

/// `scheduler.devices.tags.delete(hostname, name)`.
pub async fn device_delete(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let hostname = a.string(0, "hostname")?;
    let name = a.string(1, "name")?;
    let c = ctx.db().await?;
    tags::remove_from_device(&c, &hostname, &name)
        .await
        .map_err(db_fault)?;
    Ok(Value::Nil)
}

/// `scheduler.aliases.list()`: the names.
pub async fn aliases(ctx: &Ctx) -> Result<Value, Fault> {
    let c = ctx.db().await?;
    let names: Vec<String> = aliases::list(&c)
        .await?
        .into_iter()
        .map(|a| a.name)
        .collect();
    Ok(Value::from_serialize(&names)?)
}

/// `scheduler.aliases.show(name)`.
pub async fn alias_show(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = a.string(0, "name")?;
    let c = ctx.db().await?;
    let al = aliases::get(&c, &name)
        .await?
        .ok_or_else(|| Fault::new(404, not_found("alias", &name)))?;
    Ok(Value::from_serialize(&AliasReply::from(&al))?)
}

fn alias_fault(e: lava_db::Error) -> Fault {
    match e {
        lava_db::Error::NotFound {
            what: "device type",
            ..
        } => Fault::new(400, "Bad request. DeviceType does not exist"),
        lava_db::Error::AlreadyExists { .. } => {
            Fault::new(400, "Bad request. Alias or DeviceType name already exists.")
        }
        e => db_fault(e),
    }
}

/// `scheduler.aliases.add(name, device_type_name)`.
pub async fn alias_add(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = a.string(0, "name")?;
    let device_type = a.string(1, "device_type_name")?;
    let c = ctx.db().await?;
    aliases::add(&c, &name, &device_type)
        .await
        .map_err(alias_fault)?;
    Ok(Value::Nil)
}

/// `scheduler.aliases.delete(name)`.
pub async fn alias_delete(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = a.string(0, "name")?;
    let c = ctx.db().await?;
    aliases::delete(&c, &name, None).await.map_err(db_fault)?;
    Ok(Value::Nil)
}

async fn type_exists(c: &lava_db::PooledClient, name: &str) -> Result<(), Fault> {
    lava_db::device_types::get(c, &DeviceTypeName::from(name))
        .await?
        .map(|_| ())
        .ok_or_else(|| Fault::new(404, not_found("device type", name)))
}

/// `scheduler.device_types.aliases.list(name)`.
pub async fn type_aliases(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = a.string(0, "name")?;
    let c = ctx.db().await?;
    type_exists(&c, &name).await?;
    Ok(Value::from_serialize(&aliases::of_type(&c, &name).await?)?)
}

/// `scheduler.device_types.aliases.add(name, alias)`.
pub async fn type_alias_add(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = a.string(0, "name")?;
    let alias = a.string(1, "alias")?;
    let c = ctx.db().await?;
    type_exists(&c, &name).await?;
    aliases::add(&c, &alias, &name).await.map_err(alias_fault)?;
    Ok(Value::Nil)
}

/// `scheduler.device_types.aliases.delete(name, alias)`.
pub async fn type_alias_delete(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let name = a.string(0, "name")?;
    let alias = a.string(1, "alias")?;
    let c = ctx.db().await?;
    type_exists(&c, &name).await?;
    aliases::delete(&c, &alias, Some(&name))
        .await
        .map_err(db_fault)?;
    Ok(Value::Nil)
}
