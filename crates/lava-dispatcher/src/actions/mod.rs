//! The actions of a job: deploy, boot, test, submit results; and the finalize step.

pub mod boot;
pub mod container;
pub mod deploy;
pub mod download;
mod image_check;
pub mod kernel;
pub mod login;
pub mod nfs;
mod overlays;
mod qcow2;
pub mod ramdisk;
pub mod tftp;
pub mod uboot;
pub(crate) mod unzip;
mod validate;

pub use validate::validate;

use std::time::Duration;

use lava_common::job::ActionKind;

use crate::command::Argv;
use crate::job::{Ctx, Failure};
use crate::power::run_power_command;

/// How long a power command may take.
pub const POWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs action `index` of the job.
pub async fn run(
    ctx: &mut Ctx,
    index: usize,
    name: &str,
    kind: &ActionKind,
) -> Result<(), Failure> {
    match kind {
        ActionKind::Deploy(d) => deploy::run(ctx, name, d).await,
        ActionKind::Boot(b) => boot::run(ctx, name, b).await,
        ActionKind::Test(t) => crate::testshell::run(ctx, index, name, t).await,
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

/// A device power command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerKey {
    /// `hard_reset_command`.
    HardReset,
    /// `power_on_cmd`.
    On,
    /// `power_off_cmd`.
    Off,
}

/// Runs a device power command if the device has it; returns whether it had one. A failure
/// names the command.
pub async fn power(ctx: &Ctx, action: &str, which: PowerKey) -> Result<bool, Failure> {
    let p = &ctx.device.power;
    let (key, command) = match which {
        PowerKey::HardReset => ("hard_reset_command", &p.hard_reset),
        PowerKey::On => ("power_on_cmd", &p.power_on),
        PowerKey::Off => ("power_off_cmd", &p.power_off),
    };
    if command.is_empty() {
        return Ok(false);
    }
    // A list (LAVA's dictionaries allow one) runs in order; the first failure stops it.
    for command in command {
        let argv =
            Argv::from_config(key, command).map_err(|e| Failure::config(action, e.to_string()))?;
        ctx.log.info(format!("{key}: {argv}"));
        run_power_command(&argv, POWER_TIMEOUT)
            .await
            .map_err(|e| Failure::infra(action, format!("{key} failed: {e}")))?;
    }
    Ok(true)
}

/// Always runs at the end: closes the console (killing its process group), powers off a
/// device this job powered on, and removes the job's files from the TFTP server.
pub async fn finalize(ctx: &mut Ctx) -> Result<(), Failure> {
    ctx.log.info("start: finalize");
    if let Some(conn) = ctx.conn.take() {
        conn.close().await;
    }
    let mut result = Ok(());
    if let Some(c) = ctx.container.take() {
        let name = c.name.clone();
        match c.remove(&ctx.log).await {
            Ok(()) => ctx.log.info(format!("removed the container {name}")),
            Err(e) => {
                let f = Failure::infra("finalize", e);
                ctx.log.error(f.message.clone());
                result = Err(f);
            }
        }
    }
    if ctx.powered {
        if let Err(f) = power(ctx, "finalize", PowerKey::Off).await {
            ctx.log.error(f.message.clone());
            result = Err(f);
        }
        ctx.powered = false;
    }
    if let Some(export) = ctx.nfs.take() {
        let path = export.dir.display().to_string();
        match nfs::remove("finalize", export).await {
            Ok(()) => ctx.log.info(format!("unexported and removed {path}")),
            Err(f) => {
                ctx.log.error(f.message.clone());
                if result.is_ok() {
                    result = Err(f);
                }
            }
        }
    }
    if let Some(dir) = ctx.tftp.take() {
        let path = dir.path().display().to_string();
        match dir.remove() {
            Ok(()) => ctx
                .log
                .info(format!("removed the job's TFTP files: {path}")),
            Err(e) => {
                let f = Failure::infra("finalize", format!("cannot remove {path}: {e}"));
                ctx.log.error(f.message.clone());
                if result.is_ok() {
                    result = Err(f);
                }
            }
        }
    }
    ctx.log.info("end: finalize");
    result
}
