//! Running a helper program and turning its failure into an error that shows why.

use std::path::Path;
use std::process::{Command, Output};

use crate::Error;

/// How many lines of output or log an error quotes.
const TAIL_LINES: usize = 20;

/// The command line as a shell would take it, for messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    let quoted: Vec<String> = words.iter().map(|w| quote_if_needed(w)).collect();
    quoted.join(" ")
}

/// Quotes `s` for `sh` (which also reads the options `pg_ctl -o` passes on).
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `word` as one `sh` word: unchanged when plain, else single-quoted.
pub(crate) fn quote_if_needed(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        shell_quote(word)
    }
}

/// Runs `cmd` to completion; on failure the error quotes its output and the tail of `log`.
pub(crate) fn run(cmd: &mut Command, log: Option<&Path>) -> Result<Output, Error> {
    let output = cmd.output().map_err(|source| Error::Spawn {
        command: describe(cmd),
        source,
    })?;
    if output.status.success() {
        return Ok(output);
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let mut quoted = tail(&text);
    if let Some(log) = log {
        let log_text = std::fs::read_to_string(log).unwrap_or_default();
        quoted.push_str(&format!(
            "\n--- last lines of {} ---\n{}",
            log.display(),
            tail(&log_text)
        ));
    }
    Err(Error::Command {
        command: describe(cmd),
        status: output.status,
        output: quoted,
    })
}

/// What `cmd` prints on stdout, once it has run to success (see [`run`] for its failure).
pub fn stdout_of(cmd: &mut Command) -> Result<String, Error> {
    let output = run(cmd, None)?;
    String::from_utf8(output.stdout).map_err(|source| Error::NotUtf8 {
        command: describe(cmd),
        source,
    })
}

/// The last few lines of `text`.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_names_the_command_and_quotes_the_tail() {
        let script = "for i in $(seq 1 30); do echo line$i; done; exit 3";
        let err = run(Command::new("sh").args(["-c", script]), None)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("sh -c 'for i in $(seq 1 30)"), "{err}");
        assert!(err.contains("exit status: 3"), "{err}");
        assert!(err.contains("line30") && err.contains("line11") && !err.contains("line10"));
    }

    #[test]
    fn stdout_of_is_the_text_of_a_successful_command_only() {
        let out = stdout_of(Command::new("sh").args(["-c", "echo out; echo err >&2"])).unwrap();
        assert_eq!(out, "out\n");
        let err = stdout_of(Command::new("sh").args(["-c", "echo why >&2; exit 1"])).unwrap_err();
        assert!(err.to_string().contains("why"), "{err}");
        let err = stdout_of(Command::new("printf").arg("\\377")).unwrap_err();
        assert!(matches!(err, Error::NotUtf8 { .. }), "{err}");
    }

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(quote_if_needed("-D"), "-D");
        assert_eq!(quote_if_needed("-k '/x' -p 1"), r"'-k '\''/x'\'' -p 1'");
    }
}
