//! Running a command: the two daemons with their signal handling, or one `manage` command.
//! SIGTERM/SIGINT stop a daemon gracefully (the web app lets requests finish; the scheduler
//! ends its pass); SIGHUP reloads the settings and keeps the old ones when the new are bad.

use std::time::Duration;

use lava_common::settings::Settings;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use lava_cli::{Command, Manage};

/// Watches SIGTERM/SIGINT (→ stop) and SIGHUP (→ reloaded settings).
fn signals(settings: Settings) -> (watch::Receiver<bool>, watch::Receiver<Settings>) {
    let (stop_tx, stop) = watch::channel(false);
    let (settings_tx, settings_rx) = watch::channel(settings);
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return;
        };
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => match Settings::load() {
                    Ok(s) => {
                        tracing::info!("settings reloaded");
                        let _ = settings_tx.send(s);
                    }
                    Err(e) => tracing::error!("{e}; keeping the previous settings"),
                },
            }
        }
        tracing::info!("stopping");
        let _ = stop_tx.send(true);
    });
    (stop, settings_rx)
}

/// Runs a command to its end.
pub async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Manage(m) => crate::manage::run(m, &settings).await,
        Command::Web {
            listen,
            under_apache,
            ..
        } => {
            use crate::web::apache_child;
            let listen = listen.unwrap_or(settings.web_listen);
            let (stop, _) = signals(settings.clone());
            // Under Apache, the end of the log pipe stops the app like a signal.
            let (pipe_tx, mut pipe) = watch::channel(false);
            if under_apache {
                apache_child::watch_stdin(pipe_tx);
            }
            let stopped = {
                let (mut stop, mut pipe) = (stop.clone(), pipe.clone());
                async move {
                    tokio::select! {
                        _ = stop.wait_for(|s| *s) => {}
                        _ = pipe.wait_for(|s| *s) => {}
                    }
                }
            };
            let serve = crate::web::serve(&settings, listen, under_apache, stopped);
            if !under_apache {
                return serve.await;
            }
            // Apache does not wait for its children: requests in flight get a grace period.
            let mut stop = stop;
            let grace = async move {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => {}
                    _ = pipe.wait_for(|s| *s) => {}
                }
                tokio::time::sleep(apache_child::STOP_GRACE).await;
            };
            tokio::select! {
                r = serve => r,
                _ = grace => {
                    tracing::warn!("requests still running {}s after the stop: exiting", apache_child::STOP_GRACE.as_secs());
                    Ok(())
                }
            }
        }
        Command::Scheduler {
            worker_timeout,
            queue_timeout,
            interval,
        } => {
            let opts = crate::scheduler::Options {
                worker_timeout: Duration::from_secs(worker_timeout),
                queue_timeout: queue_timeout.map(|h| Duration::from_secs_f64(h * 3600.0)),
                // from the settings file, in scheduler::run
                backoff: Default::default(),
            };
            let (stop, settings) = signals(settings);
            crate::scheduler::run(settings, opts, Duration::from_secs(interval.max(1)), stop).await
        }
    }
}

/// The command from arguments, where `add_device.py` means `manage add-device`.
pub fn command_from_args(args: Vec<std::ffi::OsString>) -> Command {
    use clap::Parser as _;
    let called_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if called_as.starts_with("add_device") {
        Command::Manage(Manage::AddDevice(
            lava_cli::AddDeviceCli::parse_from(args).args,
        ))
    } else {
        lava_cli::Cli::parse_from(args).command
    }
}
