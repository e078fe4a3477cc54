//! The `lava-server` binary (also installed as `add_device.py`).

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use lava_common::settings::Settings;
use lava_server::cli::{AddDeviceCli, Cli, Command, Manage};

/// Picks the command from the name the binary was called by: `add_device.py` is
/// `lava-server manage add-device`.
fn command_from_args(args: Vec<OsString>) -> Manage {
    let called_as = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if called_as.starts_with("add_device") {
        Manage::AddDevice(AddDeviceCli::parse_from(args).args)
    } else {
        match Cli::parse_from(args).command {
            Command::Manage(m) => m,
        }
    }
}

fn main() -> ExitCode {
    let command = command_from_args(std::env::args_os().collect());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LAVA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lava-server: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lava-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(lava_server::manage::run(command, &settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lava-server: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
