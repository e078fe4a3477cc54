//! The `lava-server` binary (also installed as `add_device.py`).

use std::process::ExitCode;

use lava_common::settings::Settings;

fn main() -> ExitCode {
    let command = lava_server::daemon::command_from_args(std::env::args_os().collect());
    let daemon = !matches!(command, lava_cli::Command::Manage(_));
    let under_apache = matches!(
        command,
        lava_cli::Command::Web {
            under_apache: true,
            ..
        }
    );
    // Apache starts its piped logs as root: become the service user before anything else
    // (settings, threads), and never run on as root.
    if let lava_cli::Command::Web {
        under_apache: true,
        user,
        ..
    } = &command
        && let Err(e) = lava_server::web::apache_child::become_user(user.as_deref())
    {
        eprintln!("lava-server: {e:#}");
        std::thread::sleep(lava_server::web::apache_child::FAILURE_PAUSE);
        return ExitCode::FAILURE;
    }
    if daemon {
        // What the units' UMask=0027 gives; the web app under Apache has Apache's mask.
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o027));
    }
    // Apache starts its child again at once when it exits: an error must not make it spin.
    let fail = |code: ExitCode| {
        if under_apache {
            std::thread::sleep(lava_server::web::apache_child::FAILURE_PAUSE);
        }
        code
    };
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
            return fail(ExitCode::from(2));
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
            return fail(ExitCode::FAILURE);
        }
    };
    match runtime.block_on(lava_server::daemon::run(command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lava-server: error: {e:#}");
            fail(ExitCode::FAILURE)
        }
    }
}
