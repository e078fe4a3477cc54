//! What the dispatcher's binaries do first: logging through `tracing` (filter from
//! `LAVA_LOG`) and a two-thread runtime, the machine's size.

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
