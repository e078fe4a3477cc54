//! cargo-deb, pinned: the tool that assembles the `.deb` archives of the crates.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Result};

/// The cargo-deb version the packaging is written for.
pub const VERSION: &str = "3.8.0";

/// The command that installs the pinned cargo-deb.
pub fn install_command() -> String {
    format!("cargo install cargo-deb --version ={VERSION} --locked")
}

/// Fails unless `cargo deb --version` reports the pinned version.
pub fn check(cargo: &Path) -> Result<()> {
    let missing = |problem: String| Error::Tool {
        tool: "cargo-deb".into(),
        problem,
        install: install_command(),
    };
    let out = Command::new(cargo)
        .args(["deb", "--version"])
        .output()
        .map_err(|e| missing(format!("cannot run '{} deb': {e}", cargo.display())))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(missing(
            "not installed ('cargo deb --version' failed)".into(),
        ));
    }
    let found = text
        .split_whitespace()
        .last()
        .unwrap_or("")
        .trim_start_matches('v');
    if found != VERSION {
        return Err(missing(format!(
            "version {found} is installed, the packaging needs {VERSION}"
        )));
    }
    Ok(())
}

/// One `cargo deb` run: the crate's package assembled from already built binaries.
#[derive(Debug, Clone)]
pub struct Assemble<'a> {
    /// The cargo to run, as [`crate::build::BuildOptions`] has it.
    pub cargo: &'a Path,
    /// The workspace to run in (the build copy).
    pub workspace: &'a Path,
    /// The crate (`-p`).
    pub krate: &'a str,
    /// The full Debian version.
    pub version: &'a str,
    /// Where the `.deb` goes.
    pub output: &'a Path,
    /// Environment for cargo-deb (`CARGO_TARGET_DIR`, `SOURCE_DATE_EPOCH`).
    pub envs: &'a [(&'a str, OsString)],
}

impl Assemble<'_> {
    /// Runs cargo-deb and returns the path of the `.deb` it wrote.
    pub fn run(&self) -> Result<PathBuf> {
        let mut cmd = Command::new(self.cargo);
        cmd.current_dir(self.workspace)
            .args(["deb", "--no-build", "--locked", "--quiet", "-p", self.krate])
            .arg("--deb-version")
            .arg(self.version)
            .arg("--output")
            .arg(self.output);
        for (k, v) in self.envs {
            cmd.env(k, v);
        }
        let command = format!("cargo deb -p {} --deb-version {}", self.krate, self.version);
        let out = crate::command::output(&mut cmd, &command)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let path = stdout
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.ends_with(".deb"))
            .ok_or_else(|| Error::Command {
                command,
                status: out.status,
                stderr: format!("it did not print the path of a .deb:\n{stdout}"),
            })?;
        Ok(PathBuf::from(path))
    }
}
