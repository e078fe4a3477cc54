//! `manage device-types …`.

use anyhow::{Context as _, bail};
use lava_common::ids::check_name;
use serde::Serialize;

use super::Ctx;
use super::output::{print_object, print_rows};
use lava_cli::DeviceTypes;

/// A device type in `device-types list`.
#[derive(Serialize)]
struct TypeRow {
    name: lava_common::ids::DeviceTypeName,
    devices: i64,
    health_check: bool,
}

/// `device-types show`, the health check job's whole text last.
#[derive(Serialize)]
struct TypeDetail {
    name: lava_common::ids::DeviceTypeName,
    description: String,
    devices: i64,
    health_frequency: i32,
    health_denominator: lava_common::fixture::HealthDenominator,
    disable_health_check: bool,
    display: bool,
    health_check_job: Option<String>,
}

/// Runs one `device-types` subcommand.
pub async fn run(ctx: &Ctx<'_>, command: DeviceTypes) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    match command {
        DeviceTypes::List(format) => {
            let rows: Vec<_> = lava_db::device_types::list(&client)
                .await?
                .into_iter()
                .map(|t| {
                    let hc = if t.info.health_check_job.is_some() {
                        "yes"
                    } else {
                        "no"
                    };
                    let line = vec![
                        t.info.name.to_string(),
                        t.devices.to_string(),
                        hc.to_string(),
                    ];
                    let value = TypeRow {
                        health_check: t.info.health_check_job.is_some(),
                        name: t.info.name,
                        devices: t.devices,
                    };
                    (line, value)
                })
                .collect();
            print_rows(format.json, &rows)
        }
        DeviceTypes::Add { name, description } => {
            check_name("device type", &name)?;
            lava_db::device_types::add(&client, &name, &description).await?;
            println!("added device type '{name}'");
            Ok(())
        }
        DeviceTypes::Show { name, format } => {
            let t = lava_db::device_types::get(&client, &name)
                .await?
                .with_context(|| format!("device type '{name}' was not found"))?;
            let value = TypeDetail {
                name: t.info.name,
                description: t.info.description,
                devices: t.devices,
                health_frequency: t.info.health_frequency,
                health_denominator: t.info.health_denominator,
                disable_health_check: t.info.disable_health_check,
                display: t.info.display,
                health_check_job: t.info.health_check_job,
            };
            print_object(format.json, &value)
        }
        DeviceTypes::SetHealthCheck { name, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            check_job_text(&file, &text)?;
            lava_db::device_types::set_health_check(&client, &name, Some(&text)).await?;
            println!(
                "set the health check of device type '{name}' from {}",
                file.display()
            );
            Ok(())
        }
    }
}

/// A first check of a health check file: not empty, and valid JSON when it looks like JSON.
/// The full job validation belongs to the job parser.
fn check_job_text(file: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        bail!("{} is empty", file.display());
    }
    if trimmed.starts_with('{') {
        serde_json::from_str::<serde_json::Value>(text)
            .with_context(|| format!("{} is not valid JSON", file.display()))?;
    }
    Ok(())
}
