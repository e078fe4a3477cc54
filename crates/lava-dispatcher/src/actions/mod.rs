//! The actions of a job: deploy, boot, test, submit results; and the finalize step.

pub mod boot;
pub mod deploy;
pub mod download;
mod image_check;
pub mod login;
mod validate;

pub use validate::validate;

use std::time::Duration;

use lava_common::job::ActionKind;

use crate::command::Argv;
use crate::job::{Ctx, Failure};
use crate::power::run_power_command;

/// How long a power command may take.
pub const POWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs one action.
pub async fn run(ctx: &mut Ctx, name: &str, kind: &ActionKind) -> Result<(), Failure> {
    match kind {
        ActionKind::Deploy(d) => deploy::run(ctx, name, d).await,
        ActionKind::Boot(b) => boot::run(ctx, name, b).await,
        ActionKind::Test(t) => crate::testshell::run(ctx, name, t).await,
        ActionKind::SubmitResults(s) => {
            // The server files the results of the job into the stream when the job ends;
            // a local run only records where they are meant to go.
            ctx.log.info(format!(
                "results are filed into bundle stream {} on {}",
                s.stream, s.server
            ));
            Ok(())
        }
    }
}

/// Runs a device power command (`hard_reset_command`, `power_off_cmd`, `power_on_cmd`) if
/// the device has it; returns whether it had one. A failure names the command.
pub async fn power(ctx: &Ctx, action: &str, key: &str) -> Result<bool, Failure> {
    let Some(command) = ctx.conf(action, key)?.filter(|c| !c.trim().is_empty()) else {
        return Ok(false);
    };
    let argv =
        Argv::from_config(key, &command).map_err(|e| Failure::config(action, e.to_string()))?;
    ctx.log.info(format!("{key}: {argv}"));
    run_power_command(&argv, POWER_TIMEOUT)
        .await
        .map_err(|e| Failure::infra(action, format!("{key} failed: {e}")))?;
    Ok(true)
}

/// Always runs at the end: closes the console (killing its process group) and powers off a
/// device this job powered on.
pub async fn finalize(ctx: &mut Ctx) -> Result<(), Failure> {
    ctx.log.info("start: finalize");
    if let Some(conn) = ctx.conn.take() {
        conn.close().await;
    }
    let mut result = Ok(());
    if ctx.powered {
        if let Err(f) = power(ctx, "finalize", "power_off_cmd").await {
            ctx.log.error(f.message.clone());
            result = Err(f);
        }
        ctx.powered = false;
    }
    ctx.log.info("end: finalize");
    result
}
