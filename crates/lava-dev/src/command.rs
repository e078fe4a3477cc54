//! Running the tools a build needs (cargo-deb, dpkg-deb, git, our own binaries), with errors
//! that name the command, its status and what it printed on stderr.

use std::process::{Command, Output};

use crate::error::{Error, Result};

/// Runs `cmd` (described as `command` in errors) and returns its output when it succeeds.
pub fn output(cmd: &mut Command, command: &str) -> Result<Output> {
    let out = cmd.output().map_err(|error| Error::Spawn {
        command: command.to_string(),
        error,
    })?;
    if !out.status.success() {
        return Err(Error::Command {
            command: command.to_string(),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(out)
}

/// Like [`output`], returning standard output as text.
pub fn stdout(cmd: &mut Command, command: &str) -> Result<String> {
    Ok(String::from_utf8_lossy(&output(cmd, command)?.stdout).into_owned())
}
