//! The one error type of job parsing: where in the document it went wrong, and why.
//!
//! Every error names the path into the document (`actions[2].test.definitions[0].repository`,
//! `timeouts.job`) so that a submitter can find the offending key; YAML errors also carry the
//! line, because that is what an editor shows. Messages follow LAVA's schema wording where
//! LAVA had one (`required key not provided`, `extra keys not allowed`).

use super::plan::SourceFormat;

/// Why a job definition was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The text is not well-formed JSON or YAML at all.
    #[error("{format} syntax error at line {line} column {column}: {message}")]
    Syntax {
        /// Which format the text was read as.
        format: SourceFormat,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's own message.
        message: String,
    },
    /// The text is well-formed but is not a valid job.
    #[error("{}{}: {message}", line_prefix(*.line), display_path(.path))]
    Invalid {
        /// The path into the document, like `actions[1].boot.method`; empty for the root.
        path: String,
        /// 1-based line in a YAML document; `None` for JSON.
        line: Option<usize>,
        /// What is wrong, lowercase.
        message: String,
    },
}

impl JobError {
    /// Build a semantic error at `path` (and `line`, for YAML).
    pub fn invalid(
        path: impl Into<String>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        JobError::Invalid {
            path: path.into(),
            line,
            message: message.into(),
        }
    }

    /// The path into the document, empty for syntax errors and for the root.
    pub fn path(&self) -> &str {
        match self {
            JobError::Syntax { .. } => "",
            JobError::Invalid { path, .. } => path,
        }
    }

    /// The 1-based line of the error, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            JobError::Syntax { line, .. } => Some(*line),
            JobError::Invalid { line, .. } => *line,
        }
    }
}

fn line_prefix(line: Option<usize>) -> String {
    line.map(|l| format!("line {l}: ")).unwrap_or_default()
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "(document)" } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_names_line_and_path() {
        let e = JobError::invalid(
            "actions[2].test.definitions[0].repository",
            Some(12),
            "required key not provided",
        );
        assert_eq!(
            e.to_string(),
            "line 12: actions[2].test.definitions[0].repository: required key not provided"
        );
        assert_eq!(e.line(), Some(12));
        assert_eq!(e.path(), "actions[2].test.definitions[0].repository");
    }

    #[test]
    fn json_errors_have_no_line_and_root_is_named() {
        let e = JobError::invalid("", None, "expected a mapping");
        assert_eq!(e.to_string(), "(document): expected a mapping");
    }

    #[test]
    fn syntax_error_names_format_and_position() {
        let e = JobError::Syntax {
            format: SourceFormat::Json,
            line: 3,
            column: 7,
            message: "expected value".into(),
        };
        assert_eq!(
            e.to_string(),
            "json syntax error at line 3 column 7: expected value"
        );
        assert_eq!(e.path(), "");
    }
}
