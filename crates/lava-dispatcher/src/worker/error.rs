//! The worker's one error type.

use lava_common::ids::JobId;
use std::path::PathBuf;

use lava_common::worker_api::PROTOCOL_VERSION;

/// Everything that can go wrong in the worker daemon.
///
/// The server-facing variants decide how the worker retries (see [`super::retry`]): a
/// refused token or a protocol mismatch waits long and says so once; an unreachable or
/// failing server backs off exponentially.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs, reason = "each field is named in the variant's message")]
pub enum WorkerError {
    /// The server answered 401.
    #[error(
        "the server at {url} refused this worker's token (401): check its token file; the token comes from `lava-server manage workers add {name}`"
    )]
    Unauthorized {
        /// The server's base URL.
        url: String,
        /// This worker's name.
        name: String,
    },
    /// The server speaks another version of the worker protocol.
    #[error(
        "the server at {url} refused this worker's protocol (the worker speaks version {PROTOCOL_VERSION}): {message}"
    )]
    Protocol {
        /// The server's base URL.
        url: String,
        /// What the server said.
        message: String,
    },
    /// The server refused the request (a 4xx other than 401 and 409).
    #[error("{url}: the server refused the request ({status}): {message}")]
    Rejected {
        url: String,
        status: u16,
        /// What the server said.
        message: String,
    },
    /// The server failed (5xx, or a status the protocol does not use).
    #[error("{url}: the server failed ({status}): {message}")]
    Server {
        url: String,
        status: u16,
        /// What the server said.
        message: String,
    },
    /// No answer: connection refused, reset, timed out.
    #[error("cannot reach the server at {url}: {detail}")]
    Unreachable {
        url: String,
        /// The transport error with its causes.
        detail: String,
    },
    /// An answer that is not the JSON the protocol promises.
    #[error("{url}: the server's answer is not valid: {detail}")]
    BadAnswer {
        url: String,
        /// Why it could not be read.
        detail: String,
    },
    /// The `--url` is unusable.
    #[error("invalid server url '{url}': {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file or directory of the worker could not be used.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `lava-dispatch` could not be started.
    #[error("cannot start {} for job {job}: {source}", program.display())]
    Spawn {
        program: PathBuf,
        job: JobId,
        #[source]
        source: std::io::Error,
    },
    /// The token file is unusable.
    #[error("{}: {reason}", path.display())]
    Token {
        /// The token file.
        path: PathBuf,
        /// What is wrong with it (empty, or open to other users).
        reason: String,
    },
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
}

impl WorkerError {
    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> WorkerError {
        WorkerError::Io {
            path: path.into(),
            source,
        }
    }
}

/// An error and all its causes on one line, for messages (reqwest's top-level text alone
/// rarely says what happened).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}
