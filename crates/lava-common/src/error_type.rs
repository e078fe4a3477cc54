//! LAVA's error types: why a job ended incomplete (or canceled), as the dispatcher writes it
//! in the job's last `results` line, the worker reports it, the database stores it (the
//! PostgreSQL enum `error_type`) and the pages, APIs and callbacks show it.

use std::fmt;
use std::str::FromStr;

use crate::state::ParseStateError;

/// Why a job failed. The names are LAVA's, case and all (`LAVATimeout`), because clients
/// such as `lavacli` print and match them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(
    feature = "postgres",
    derive(postgres_types::ToSql, postgres_types::FromSql)
)]
#[cfg_attr(feature = "postgres", postgres(name = "error_type"))]
pub enum ErrorType {
    /// The lab's fault: a power command, a download, a lost connection or worker. A health
    /// check that fails so leaves its device unknown (checked again), not bad.
    Infrastructure,
    /// The job's fault: a wrong prompt, a missing image, a bundle stream that does not exist.
    Job,
    /// The test asked to stop (`lava-test-raise`).
    Test,
    /// The device or job configuration is unusable.
    Configuration,
    /// Canceled by a user or the system.
    Canceled,
    /// An action or the job ran out of time.
    #[serde(rename = "LAVATimeout")]
    #[cfg_attr(feature = "postgres", postgres(name = "LAVATimeout"))]
    Timeout,
    /// A multinode group did not come together in time (LAVA's name; kept so its
    /// results read back).
    MultinodeTimeout,
    /// A fault in the dispatcher itself.
    Bug,
}

impl ErrorType {
    /// Every value, in declaration order.
    pub const ALL: &'static [ErrorType] = &[
        ErrorType::Infrastructure,
        ErrorType::Job,
        ErrorType::Test,
        ErrorType::Configuration,
        ErrorType::Canceled,
        ErrorType::Timeout,
        ErrorType::MultinodeTimeout,
        ErrorType::Bug,
    ];

    /// The name LAVA writes.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Infrastructure => "Infrastructure",
            ErrorType::Job => "Job",
            ErrorType::Test => "Test",
            ErrorType::Configuration => "Configuration",
            ErrorType::Canceled => "Canceled",
            ErrorType::Timeout => "LAVATimeout",
            ErrorType::MultinodeTimeout => "MultinodeTimeout",
            ErrorType::Bug => "Bug",
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorType {
    type Err = ParseStateError;

    /// Accepts LAVA's names exactly as it writes them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ParseStateError {
                kind: "error type",
                value: s.to_string(),
                expected: ErrorType::ALL
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lavas_both_ways() {
        for &t in ErrorType::ALL {
            assert_eq!(t.as_str().parse::<ErrorType>(), Ok(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<ErrorType>(&json).unwrap(), t);
        }
        assert_eq!(ErrorType::Timeout.to_string(), "LAVATimeout");
        let e = "timeout".parse::<ErrorType>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid error type 'timeout' (expected one of: Infrastructure, Job, Test, Configuration, Canceled, LAVATimeout, MultinodeTimeout, Bug)"
        );
    }
}
