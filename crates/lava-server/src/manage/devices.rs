//! `manage devices …`.

use anyhow::Context as _;
use lava_common::ids::{DeviceName, DeviceTypeName, JobId, WorkerName};
use lava_common::state::{DeviceHealth, DeviceState};
use serde::Serialize;

use super::Ctx;
use super::output::{or_dash, print_object, print_rows};
use lava_cli::{DeviceTags, Devices};

/// A device in `devices list`.
#[derive(Serialize)]
struct DeviceRow {
    hostname: DeviceName,
    device_type: DeviceTypeName,
    state: DeviceState,
    health: DeviceHealth,
    worker: Option<WorkerName>,
    current_job: Option<JobId>,
}

/// `devices show`: `config` is the `.conf` path when the file is on this host, and
/// `health_history` the last ten health changes, a line each.
#[derive(Serialize)]
struct DeviceDetail {
    hostname: DeviceName,
    device_type: DeviceTypeName,
    description: String,
    tags: String,
    state: DeviceState,
    health: DeviceHealth,
    worker: Option<WorkerName>,
    worker_has_config: bool,
    current_job: Option<JobId>,
    config: Option<String>,
    health_history: String,
}

/// A device that a worker other than its own reports (`devices claims`).
#[derive(Serialize)]
struct ClaimRow {
    device: DeviceName,
    worker: WorkerName,
    assigned: Option<WorkerName>,
    first_seen: String,
    last_seen: String,
}

/// A tag of a device (`devices tags list`).
#[derive(Serialize)]
struct TagRow {
    name: String,
}

/// Runs one `devices` subcommand.
pub async fn run(ctx: &Ctx<'_>, command: Devices) -> anyhow::Result<()> {
    let mut client = ctx.client().await?;
    match command {
        Devices::List { all, format } => {
            let rows: Vec<_> = lava_db::devices::list(&client)
                .await?
                .into_iter()
                .filter(|d| all || d.info.health != DeviceHealth::Retired)
                .map(|d| {
                    let line = vec![
                        d.info.hostname.to_string(),
                        d.info.device_type.to_string(),
                        d.info.state.to_string(),
                        d.info.health.to_string(),
                        or_dash(d.info.worker_host.as_deref()),
                    ];
                    let value = DeviceRow {
                        hostname: d.info.hostname,
                        device_type: d.info.device_type,
                        state: d.info.state,
                        health: d.info.health,
                        worker: d.info.worker_host,
                        current_job: d.current_job,
                    };
                    (line, value)
                })
                .collect();
            print_rows(format.json, &rows)
        }
        Devices::Show { name, format } => {
            let d = lava_db::devices::get(&client, &name)
                .await?
                .with_context(|| format!("device '{name}' was not found"))?;
            let history = lava_db::devices::health_history(&client, &name, 10).await?;
            let history: Vec<String> = history
                .iter()
                .map(|t| {
                    format!(
                        "{} {} -> {} by {}: {}",
                        t.created.format("%Y-%m-%d %H:%M:%S"),
                        t.health.0,
                        t.health.1,
                        t.actor.as_deref().unwrap_or("lava"),
                        t.reason
                    )
                })
                .collect();
            let config = lava_common::conf::devices::find(&ctx.settings.dispatcher_etc, &name)
                .unwrap_or_else(|| ctx.settings.device_conf(&name));
            let value = DeviceDetail {
                tags: d.info.tags.join(", "),
                hostname: d.info.hostname,
                device_type: d.info.device_type,
                description: d.info.description,
                state: d.info.state,
                health: d.info.health,
                worker: d.info.worker_host,
                worker_has_config: d.worker_reported,
                current_job: d.current_job,
                config: config.is_file().then(|| config.display().to_string()),
                health_history: history.join("\n"),
            };
            print_object(format.json, &value)
        }
        Devices::SetHealth {
            name,
            health,
            reason,
        } => {
            let health: DeviceHealth = health.parse()?;
            let tx = client.transaction().await?;
            let old =
                lava_db::lifecycle::device::set_health(&tx, &name, health, &reason, None).await?;
            tx.commit().await?;
            println!("device '{name}': {old} -> {health}");
            Ok(())
        }
        Devices::SetWorker { name, worker, none } => {
            let worker = if none { None } else { worker };
            let tx = client.transaction().await?;
            let old = lava_db::devices::set_worker(&tx, &name, worker.as_ref()).await?;
            tx.commit().await?;
            println!(
                "device '{name}': worker {} -> {}",
                or_dash(old.as_deref()),
                or_dash(worker.as_deref())
            );
            Ok(())
        }
        Devices::Claims(format) => {
            let rows: Vec<_> = lava_db::devices::claims(&client, None)
                .await?
                .into_iter()
                .map(|c| {
                    let (first, last) = (c.first_seen.to_rfc3339(), c.last_seen.to_rfc3339());
                    let line = vec![
                        c.device.to_string(),
                        c.worker.to_string(),
                        or_dash(c.assigned.as_deref()),
                        first.clone(),
                        last.clone(),
                    ];
                    let value = ClaimRow {
                        device: c.device,
                        worker: c.worker,
                        assigned: c.assigned,
                        first_seen: first,
                        last_seen: last,
                    };
                    (line, value)
                })
                .collect();
            print_rows(format.json, &rows)
        }
        Devices::Tags(command) => tags(&mut client, command).await,
    }
}

/// `manage devices tags …`.
async fn tags(client: &mut lava_db::Client, command: DeviceTags) -> anyhow::Result<()> {
    let (name, tag, add) = match command {
        DeviceTags::List { name, format } => {
            let tags = lava_db::tags::of_device(&*client, &name)
                .await?
                .with_context(|| format!("device '{name}' was not found"))?;
            let rows: Vec<_> = tags
                .into_iter()
                .map(|t| (vec![t.clone()], TagRow { name: t }))
                .collect();
            return print_rows(format.json, &rows);
        }
        DeviceTags::Add { name, tag } => (name, tag, true),
        DeviceTags::Delete { name, tag } => (name, tag, false),
    };
    let tx = client.transaction().await?;
    if add {
        lava_db::tags::add_to_device(&tx, &name, &tag).await?;
    } else {
        lava_db::tags::remove_from_device(&tx, &name, &tag).await?;
    }
    let action = format!("tag {} {tag}", if add { "added" } else { "removed" });
    tx.commit().await?;
    tracing::info!(device = %name, %action, "device tags changed by lava-server manage");
    println!("device '{name}': {action}");
    Ok(())
}
