//! `lava-dispatcher`: the dispatcher host's daemon (`lava-dispatcher.service`).
//!
//! `lava-dispatcher worker --url URL [--token-file FILE] [--name NAME]` connects this host to
//! a LAVA server: it reports the devices configured in /etc/lava-dispatcher/devices/, runs
//! the jobs the server schedules on them with `lava-dispatch`, and streams their logs back.
//! Exit status: 0 after a drain (SIGTERM, SIGINT) or a second signal, 1 on an error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use lava_common::dispatcher_settings::DispatcherSettings;
use lava_common::host_paths::HostPaths;
use lava_dispatcher::worker::{self, WorkerOptions, options};

/// The LAVA dispatcher daemon.
#[derive(Debug, Parser)]
#[command(name = "lava-dispatcher", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the worker: poll the server, run its jobs on this host's devices, report back.
    Worker(WorkerArgs),
}

/// The worker's command line, before validation.
#[derive(Debug, clap::Args)]
struct WorkerArgs {
    /// The server's URL, where `lava-server web` listens (behind Apache or not), e.g.
    /// http://127.0.0.1:8000.
    #[arg(long, value_name = "URL")]
    url: String,
    /// Deprecated: the token itself, visible to every user of the host in the process list
    /// (and, from LAVA_WORKER_TOKEN, inherited by children). Use --token-file.
    #[arg(long, value_name = "TOKEN", env = options::TOKEN_ENV, hide_env_values = true)]
    token: Option<String>,
    /// The file whose first line is the worker's token, as printed once by `lava-server
    /// manage workers add NAME`; mode 0600 (or 0640 for the service's group), re-read on
    /// SIGHUP [default: /etc/lava-dispatcher/worker.token, under LAVA_ROOT].
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// The worker's name, as registered on the server [default: the host name].
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Where job directories live [default: /var/lib/lava-dispatcher/worker, under LAVA_ROOT].
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// How long the server may hold a poll when there is nothing to do, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    poll_wait_ms: u64,
    /// The `lava-dispatch` program [default: the one next to this program, else PATH's].
    #[arg(long, value_name = "PATH")]
    lava_dispatch: Option<PathBuf>,
}

impl WorkerArgs {
    /// The validated options.
    fn resolve(self, host: &HostPaths) -> anyhow::Result<WorkerOptions> {
        let (token, token_file) = match (&self.token, &self.token_file) {
            (_, Some(file)) => (options::read_token_file(file)?, Some(file.clone())),
            (Some(t), None) if !t.trim().is_empty() => {
                tracing::warn!(
                    "a token given with --token or {} is deprecated: every user of this host can read it in the process list; write it to {} (mode 0600) instead",
                    options::TOKEN_ENV,
                    options::default_token_file(host).display()
                );
                (t.trim().to_string(), None)
            }
            _ => {
                let file = options::default_token_file(host);
                if !file.exists() {
                    bail!(
                        "no token: write the token printed by `lava-server manage workers add NAME` to {} (mode 0600), or name another file with --token-file FILE",
                        file.display()
                    );
                }
                (options::read_token_file(&file)?, Some(file))
            }
        };
        Ok(WorkerOptions {
            url: self.url,
            token,
            token_file,
            name: self.name.unwrap_or_else(options::default_name),
            work_dir: self
                .work_dir
                .unwrap_or_else(|| options::default_work_dir(host)),
            poll_wait: Duration::from_millis(self.poll_wait_ms),
            lava_dispatch: self
                .lava_dispatch
                .unwrap_or_else(options::default_lava_dispatch),
        })
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // Paths only: the worker never reads the server's settings file (the database URL and
    // session secret are none of its business, and on a host running both, that file is
    // not readable by the worker's user).
    let host = HostPaths::load()?;
    // Checked now, so a bad dispatcher.toml stops the service with its problems listed
    // rather than failing every job.
    DispatcherSettings::load(&host)?;
    match cli.command {
        Command::Worker(args) => {
            let opts = args.resolve(&host)?;
            let exit = worker::run(opts, host)
                .await
                .context("the worker stopped")?;
            tracing::info!(?exit, "worker stopped");
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    lava_dispatcher::startup::init_tracing("info");
    lava_dispatcher::startup::restrict_umask();
    let runtime = match lava_dispatcher::startup::runtime("lava-dispatcher") {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Jobs left running after a second signal belong to their own process groups; the
    // runtime must not wait for their tasks.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lava-dispatcher: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
