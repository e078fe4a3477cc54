//! How a job fails: LAVA's error types, and the failure that ends a job.

pub use lava_common::error_type::ErrorType;

/// The error that ends a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {action}: {message}")]
pub struct Failure {
    /// LAVA's error type: whose fault it was. `Infrastructure` (the lab's) sends a health
    /// checked device back to `unknown` instead of `bad`.
    pub kind: ErrorType,
    /// The action that failed (`boot-qemu`, `deploy`, …).
    pub action: String,
    /// What went wrong, naming the command, pattern or file at fault.
    pub message: String,
}

impl Failure {
    /// A failure of `kind` in `action`.
    pub fn new(kind: ErrorType, action: &str, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            action: action.to_string(),
            message: message.into(),
        }
    }

    /// An infrastructure failure.
    pub fn infra(action: &str, message: impl Into<String>) -> Failure {
        Failure::new(ErrorType::Infrastructure, action, message)
    }

    /// A job (definition) failure.
    pub fn job(action: &str, message: impl Into<String>) -> Failure {
        Failure::new(ErrorType::Job, action, message)
    }

    /// A configuration failure.
    pub fn config(action: &str, message: impl Into<String>) -> Failure {
        Failure::new(ErrorType::Configuration, action, message)
    }

    /// An action or step that ran past its deadline (LAVA's `Timeout` error type); the
    /// message names the limit that ended it.
    pub fn timeout(action: &str, message: impl Into<String>) -> Failure {
        Failure::new(ErrorType::Timeout, action, message)
    }
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran to the end (failed test cases do not change this).
    Complete,
    /// It stopped on an error.
    Incomplete(Failure),
    /// It was canceled.
    Canceled(String),
}

impl Outcome {
    /// The process exit code of `lava-dispatch` for this outcome.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Complete => 0,
            Outcome::Incomplete(_) => 1,
            Outcome::Canceled(_) => 3,
        }
    }
}
