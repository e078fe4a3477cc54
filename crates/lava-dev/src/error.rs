//! The one error type of the library: every variant names the file, command or value at fault.

use std::path::PathBuf;

/// A `lava-dev` failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// What the system said (in the message, not as a source, so it shows once).
        error: std::io::Error,
    },
    /// A command could not be started.
    #[error("cannot run '{command}': {error}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why it did not start (the program is missing, or not executable, …).
        error: std::io::Error,
    },
    /// A command ran and failed.
    #[error("'{command}' failed ({status}){}", fmt_output(stderr))]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The end of its standard error, if captured.
        stderr: String,
    },
    /// `dpkg-checkbuilddeps` found build dependencies missing.
    #[error(
        "unmet build dependencies ({}): {}\ninstall them with: sudo apt-get install {}",
        control.display(),
        packages.join(" "),
        packages.iter().map(|p| install_name(p)).collect::<Vec<_>>().join(" ")
    )]
    BuildDeps {
        /// The control file checked.
        control: PathBuf,
        /// The unmet relations, as dpkg-checkbuilddeps lists them.
        packages: Vec<String>,
    },
    /// A tool is missing or has the wrong version.
    #[error("{tool}: {problem}\ninstall it with: {install}")]
    Tool {
        /// The tool's name.
        tool: String,
        /// What was found: it cannot be run, or it has another version.
        problem: String,
        /// The command that installs the right version.
        install: String,
    },
    /// `debian/control` or another Debian file is not as expected.
    #[error("{}: {message}", path.display())]
    Debian {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong, naming the field or package.
        message: String,
    },
    /// A Cargo manifest could not be read or changed.
    #[error("{}: {message}", path.display())]
    Manifest {
        /// The manifest at fault.
        path: PathBuf,
        /// The TOML error, or the table or key at fault and what is wrong with it.
        message: String,
    },
    /// A version could not be made from the git state.
    #[error("version: {0}")]
    Version(String),
    /// A template could not be rendered.
    #[error("template {}: {message}", path.display())]
    Template {
        /// The template file.
        path: PathBuf,
        /// Tera's message, with its causes.
        message: String,
    },
    /// A device file could not be made.
    #[error("device file: {0}")]
    Device(#[from] lava_common::conf::ConfError),
    /// A device or device type name is not usable.
    #[error(transparent)]
    Name(#[from] lava_common::ids::InvalidName),
    /// A requested package is not one that `lava-dev` builds.
    #[error("unknown package '{0}' (known: lava, lava-server, lava-dispatcher, lava-dev)")]
    UnknownPackage(String),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |error| Error::Io { path, error }
    }
}

fn fmt_output(stderr: &str) -> String {
    let s = stderr.trim();
    if s.is_empty() {
        String::new()
    } else {
        format!(":\n{s}")
    }
}

/// `foo (>= 1) | bar` → `foo`: the first alternative's package name, for `apt-get install`.
fn install_name(relation: &str) -> &str {
    relation
        .split('|')
        .next()
        .unwrap_or(relation)
        .split(['(', '['])
        .next()
        .unwrap_or(relation)
        .trim()
}
