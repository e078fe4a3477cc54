//! `pduclient`: asks pdudaemon to switch a PDU port on, off, or reboot it.
//!
//! The command line is the one LAVA's device files use as `hard_reset_command`; pdudaemon's
//! HTTP API does the work (see `lava_dispatcher::power`).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use lava_dispatcher::power::{PduCommand, pdu_request};

const EXAMPLE: &str = "\
Example (a device on PDU port 5, as a device file's hard_reset_command):

  /usr/bin/pduclient --daemon localhost --hostname pdu --command reboot --port 05

Exits 0 when pdudaemon answers HTTP 200; otherwise prints the URL, the status and the reply.";

/// Asks pdudaemon to switch a PDU port on, off, or reboot it.
#[derive(Debug, Parser)]
#[command(name = "pduclient", version, after_long_help = EXAMPLE)]
struct Cli {
    /// pdudaemon's address: HOST or HOST:PORT (port 16421 when omitted).
    #[arg(long, value_name = "HOST[:PORT]")]
    daemon: String,
    /// The PDU's name in pdudaemon's configuration.
    #[arg(long, value_name = "PDU")]
    hostname: String,
    /// What to do with the port.
    #[arg(long, value_parser = ["reboot", "on", "off"])]
    command: String,
    /// The PDU port (outlet) number; leading zeros are allowed.
    #[arg(long, value_name = "N")]
    port: u32,
    /// Seconds between off and on for a reboot (pdudaemon's default is 5).
    #[arg(long, value_name = "S")]
    delay: Option<u32>,
    /// Seconds to wait for pdudaemon's reply; a reboot replies only after its delay.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    timeout: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("pduclient: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let command: PduCommand = cli.command.parse()?;
    if let Some(delay) = cli.delay
        && command == PduCommand::Reboot
        && u64::from(delay) >= cli.timeout
    {
        anyhow::bail!(
            "--timeout {} must exceed --delay {delay}: a reboot replies only after its delay",
            cli.timeout
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime
        .block_on(pdu_request(
            &cli.daemon,
            &cli.hostname,
            command,
            cli.port,
            cli.delay,
            Duration::from_secs(cli.timeout),
        ))
        // PowerError's message already quotes its cause: flatten it, or `{:#}` repeats it.
        .map_err(|err| {
            anyhow::anyhow!(
                "{command} of port {} on pdu {} failed: {err}",
                cli.port,
                cli.hostname
            )
        })
}
