//! What the dispatcher's binaries do first: logging through `tracing` (filter from
//! `LAVA_LOG`), the file mode mask, and a two-thread runtime, the machine's size.

use nix::sys::stat::{Mode, umask};

/// The mode mask of the dispatcher's processes and their children: files 0640, directories
/// 0750, whatever mask the process was started with. Job directories, logs, downloaded
/// images and clones hold what users asked to keep private; the group is the lab's.
pub const UMASK: u32 = 0o027;

/// Sets [`UMASK`] for this process and every child it starts.
pub fn restrict_umask() {
    umask(Mode::from_bits_truncate(UMASK as nix::libc::mode_t));
}

/// Sends `tracing` output to stderr, filtered by `LAVA_LOG` or `default`.
pub fn init_tracing(default: &str) {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LAVA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .init();
}

/// The async runtime; the error names the program that could not start it.
pub fn runtime(program: &str) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("{program}: cannot start the async runtime: {e}"))
}
