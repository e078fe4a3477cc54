//! `manage workers …`.

use lava_common::ids::check_name;
use serde::Serialize;

use super::Ctx;
use super::output::{or_dash, print_rows};
use lava_cli::Workers;

/// A worker in `workers list`: `has_token` says it can authenticate, `pending_claims` counts
/// the devices its `.conf` files claim that are not yet its own.
#[derive(Serialize)]
struct WorkerRow {
    hostname: lava_common::ids::WorkerName,
    state: lava_common::state::WorkerState,
    health: lava_common::state::WorkerHealth,
    devices: i64,
    last_ping: Option<String>,
    job_limit: i32,
    has_token: bool,
    approved: bool,
    pending_claims: i64,
}

/// Runs one `workers` subcommand.
pub async fn run(ctx: &Ctx<'_>, command: Workers) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    match command {
        Workers::List(format) => {
            let rows: Vec<_> = lava_db::workers::list(&client)
                .await?
                .into_iter()
                .map(|w| {
                    let seen = w.last_ping.map(|t| t.to_rfc3339());
                    let line = vec![
                        w.hostname.to_string(),
                        w.state.to_string(),
                        w.health.to_string(),
                        w.devices.to_string(),
                        or_dash(seen.as_deref()),
                    ];
                    let value = WorkerRow {
                        hostname: w.hostname,
                        state: w.state,
                        health: w.health,
                        devices: w.devices,
                        last_ping: seen,
                        job_limit: w.job_limit,
                        has_token: w.has_token,
                        approved: w.approved,
                        pending_claims: w.pending_claims,
                    };
                    (line, value)
                })
                .collect();
            print_rows(format.json, &rows)
        }
        Workers::Add { name, description } => {
            check_name("worker", &name)?;
            let token = lava_common::token::generate();
            lava_db::workers::add(
                &client,
                &name,
                &description,
                &lava_common::token::hash(&token),
            )
            .await?;
            eprintln!("added worker '{name}'; its token (shown only this once) is:");
            println!("{token}");
            Ok(())
        }
        Workers::Remove { name, if_exists } => {
            if lava_db::workers::remove(&client, &name).await? {
                println!("removed worker '{name}'");
            } else if if_exists {
                println!("no worker '{name}'");
            } else {
                anyhow::bail!("no worker '{name}'");
            }
            Ok(())
        }
        Workers::Approve { name, revoke } => {
            let was = lava_db::workers::set_approved(&client, &name, !revoke).await?;
            let now = if revoke { "not approved" } else { "approved" };
            let before = if was { "approved" } else { "not approved" };
            println!("worker '{name}': {before} -> {now}");
            Ok(())
        }
    }
}
