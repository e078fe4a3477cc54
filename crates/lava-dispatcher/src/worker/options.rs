//! The worker's validated options, and the defaults the command line falls back on.
//!
//! The token comes from a file (`--token-file`, by default `worker.token` in the
//! dispatcher's configuration directory) that other users cannot read. A token on the
//! command line or in `LAVA_WORKER_TOKEN` still works but is deprecated: any user of the
//! host can read a command line, and an environment is inherited by every child.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lava_common::host_paths::HostPaths;

use super::error::WorkerError;

/// The environment variable that may hold the worker's token (deprecated).
pub const TOKEN_ENV: &str = crate::command::SECRET_ENV[0];

/// The token file's name in the dispatcher's configuration directory.
pub const TOKEN_FILE: &str = "worker.token";

/// Everything `lava-dispatcher worker` was told, checked.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The server's base URL (`http://127.0.0.1:8000`).
    pub url: String,
    /// The worker's token.
    pub token: String,
    /// Where the token came from, when it was a file (re-read on SIGHUP).
    pub token_file: Option<PathBuf>,
    /// The worker's name, as registered with `lava-server manage workers add NAME`.
    pub name: String,
    /// Where job directories live (`WORK/jobs/ID`).
    pub work_dir: PathBuf,
    /// How long the server may hold a poll.
    pub poll_wait: Duration,
    /// The `lava-dispatch` program.
    pub lava_dispatch: PathBuf,
}

/// `/etc/lava-dispatcher/worker.token`, below `LAVA_ROOT`.
pub fn default_token_file(host: &HostPaths) -> PathBuf {
    host.dispatcher_etc.join(TOKEN_FILE)
}

/// Reads a token file: its first line, trimmed. An empty file, or one that users outside
/// its owner and group may read or write, is an error.
pub fn read_token_file(path: &Path) -> Result<String, WorkerError> {
    let meta = std::fs::metadata(path).map_err(|e| WorkerError::io(path, e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o007 != 0 {
        return Err(WorkerError::Token {
            path: path.to_path_buf(),
            reason: format!(
                "other users may read or change the token file (mode {mode:04o}); run chmod 0600 {}",
                path.display()
            ),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| WorkerError::io(path, e))?;
    let token = text.lines().next().unwrap_or_default().trim().to_string();
    if token.is_empty() {
        return Err(WorkerError::Token {
            path: path.to_path_buf(),
            reason: "the token file is empty".into(),
        });
    }
    Ok(token)
}

/// The host's name, the worker's default name.
pub fn default_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// `/var/lib/lava-dispatcher/worker`, below `LAVA_ROOT`.
pub fn default_work_dir(host: &HostPaths) -> PathBuf {
    host.state_dir().join("worker")
}

/// The `lava-dispatch` installed next to the running program, else the one in `PATH`.
pub fn default_lava_dispatch() -> PathBuf {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("lava-dispatch")));
    match beside {
        Some(p) if p.is_file() => p,
        _ => PathBuf::from("lava-dispatch"),
    }
}
