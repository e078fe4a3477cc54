//! The `lava-server` binary (also installed as `add_device.py`).

use std::process::ExitCode;

use lava_common::settings::Settings;

fn main() -> ExitCode {
    let command = lava_server::daemon::command_from_args(std::env::args_os().collect());
    let daemon = !matches!(command, lava_server::cli::Command::Manage(_));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LAVA_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(if daemon { "info" } else { "warn" })
            }),
        )
        .init();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lava-server: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = if daemon {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lava-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(lava_server::daemon::run(command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lava-server: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
