//! How long to wait after a failed request, and when to say so.
//!
//! A worker that cannot reach its server retries for hours; the log gets one line when the
//! kind of failure changes and one when the server answers again, not a line per retry.

use std::time::Duration;

use super::error::WorkerError;

/// The first wait after a transport or server failure.
const FIRST: Duration = Duration::from_secs(1);
/// The longest wait after a transport or server failure.
const MAX: Duration = Duration::from_secs(30);
/// The wait after a refused token: an admin has to act.
const UNAUTHORIZED: Duration = Duration::from_secs(30);
/// The wait after a protocol mismatch or a refused request: someone has to upgrade.
const REFUSED: Duration = Duration::from_secs(60);

/// The kind of failure, for "log once per state change".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unauthorized,
    Protocol,
    Rejected(u16),
    Unreachable,
    Server(u16),
    BadAnswer,
    Local,
}

fn kind(e: &WorkerError) -> Kind {
    match e {
        WorkerError::Unauthorized { .. } => Kind::Unauthorized,
        WorkerError::Protocol { .. } => Kind::Protocol,
        WorkerError::Rejected { status, .. } => Kind::Rejected(*status),
        WorkerError::Unreachable { .. } => Kind::Unreachable,
        WorkerError::Server { status, .. } => Kind::Server(*status),
        WorkerError::BadAnswer { .. } => Kind::BadAnswer,
        _ => Kind::Local,
    }
}

/// The retry state of one conversation with the server (the poll loop, or one job's reports).
#[derive(Debug, Default)]
pub struct Retry {
    failing: Option<Kind>,
    delay: Option<Duration>,
}

impl Retry {
    /// A fresh state: nothing failed yet.
    pub fn new() -> Retry {
        Retry::default()
    }

    /// Records a failure of `what`; returns how long to wait before trying again. Logs the
    /// error when its kind differs from the previous failure's.
    pub fn failed(&mut self, what: &str, e: &WorkerError) -> Duration {
        let k = kind(e);
        let delay = match k {
            Kind::Unauthorized => UNAUTHORIZED,
            Kind::Protocol | Kind::Rejected(_) => REFUSED,
            _ => match self.delay {
                Some(d) if self.failing.is_some() => (d * 2).min(MAX),
                _ => FIRST,
            },
        };
        if self.failing != Some(k) {
            match k {
                Kind::Unauthorized | Kind::Protocol | Kind::Rejected(_) => {
                    tracing::error!("{what}: {e}; retrying every {}s", delay.as_secs())
                }
                _ => tracing::warn!(
                    "{what}: {e}; retrying with backoff (up to {}s)",
                    MAX.as_secs()
                ),
            }
        } else {
            tracing::debug!("{what}: still failing: {e}");
        }
        self.failing = Some(k);
        self.delay = Some(delay);
        delay
    }

    /// Records a success; logs the recovery if something had failed.
    pub fn succeeded(&mut self, what: &str) {
        if self.failing.take().is_some() {
            tracing::info!("{what}: the server answers again");
        }
        self.delay = None;
    }

    /// Whether the last attempt failed.
    pub fn is_failing(&self) -> bool {
        self.failing.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down() -> WorkerError {
        WorkerError::Unreachable {
            url: "u".into(),
            detail: "refused".into(),
        }
    }

    #[test]
    fn backs_off_exponentially_and_resets() {
        let mut r = Retry::new();
        let waits: Vec<u64> = (0..7)
            .map(|_| r.failed("poll", &down()).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        r.succeeded("poll");
        assert!(!r.is_failing());
        assert_eq!(r.failed("poll", &down()).as_secs(), 1);
        let unauthorized = WorkerError::Unauthorized {
            url: "u".into(),
            name: "w".into(),
        };
        assert_eq!(r.failed("poll", &unauthorized).as_secs(), 30);
    }
}
