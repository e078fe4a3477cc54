//! `tuxlava`, the generator of LAVA jobs behind Linaro's TuxSuite and LKFT, as a test oracle:
//! the tests accept and run the jobs it writes, never copies of them kept here.
//!
//! [`tuxlava`] installs one pinned release from PyPI with its dependencies pinned too (so
//! the jobs do not change under the tests) into a Python venv made by Debian's `python3`
//! and `python3-venv` under `<workspace>/target/tuxlava-VERSION/` (once, under a lock
//! between processes); nothing is installed outside `target/`. It needs PyPI the first time
//! and fails naming what is missing, never skips.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

use crate::Error;
use crate::command;
use crate::image::{DirLock, workspace_root};

/// The tuxlava release the tests generate jobs with.
pub const TUXLAVA_VERSION: &str = "0.28.0";

/// What `pip install` installs: tuxlava and every package it pulls in, exactly.
const REQUIREMENTS: [&str; 9] = [
    "tuxlava==0.28.0",
    "Jinja2==3.1.6",
    "MarkupSafe==3.0.4",
    "PyYAML==6.0.4",
    "requests==2.34.2",
    "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3",
    "idna==3.21",
    "urllib3==2.8.0",
];

/// Debian's Python, which the venv is made from (`python3-venv` gives it `ensurepip`).
const PYTHON: &str = "/usr/bin/python3";

/// An installed tuxlava.
#[derive(Debug, Clone)]
pub struct Tuxlava {
    /// The venv it is installed in.
    pub venv: PathBuf,
}

impl Tuxlava {
    /// The job tuxlava writes for `args` (`--device qemu-x86_64 --kernel URL …`), as text.
    /// tuxlava makes directories of its own in `TMPDIR`: they go into one of ours, removed
    /// when the call returns.
    pub fn job(&self, args: &[&str]) -> Result<String, Error> {
        let tmp = tempfile::tempdir().map_err(Error::io("create", "a TMPDIR for tuxlava"))?;
        let out = command::run(
            Command::new(self.venv.join("bin/python"))
                .args(["-m", "tuxlava"])
                .args(args)
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .env("TMPDIR", tmp.path()),
            None,
        )?;
        String::from_utf8(out.stdout).map_err(|_| Error::Missing {
            what: format!("UTF-8 output from tuxlava {}", args.join(" ")),
        })
    }
}

/// tuxlava [`TUXLAVA_VERSION`] in a venv under `target/`, installed from PyPI the first time.
pub fn tuxlava() -> Result<Tuxlava, Error> {
    static DONE: Mutex<Option<Tuxlava>> = Mutex::new(None);
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = done.as_ref() {
        return Ok(t.clone());
    }
    let root = workspace_root().join(format!("target/tuxlava-{TUXLAVA_VERSION}"));
    let venv = root.join("venv");
    let installed = root.join("installed");
    std::fs::create_dir_all(&root).map_err(Error::io("create directory", &root))?;
    let _lock = DirLock::acquire(&root.join(".lock"))?;
    let wanted = REQUIREMENTS.join("\n");
    if std::fs::read_to_string(&installed).ok().as_deref() != Some(wanted.as_str()) {
        let _ = std::fs::remove_file(&installed);
        let _ = std::fs::remove_dir_all(&venv);
        command::run(Command::new(PYTHON).args(["-m", "venv"]).arg(&venv), None).map_err(|e| {
            Error::Missing {
                what: format!(
                    "a Python venv from {PYTHON} (install Debian's python3 and python3-venv): {e}"
                ),
            }
        })?;
        command::run(
            Command::new(venv.join("bin/python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--no-input",
                    "--disable-pip-version-check",
                    "--no-cache-dir",
                ])
                .args(REQUIREMENTS)
                .env("PYTHONDONTWRITEBYTECODE", "1"),
            None,
        )
        .map_err(|e| Error::Missing {
            what: format!(
                "tuxlava {TUXLAVA_VERSION} from PyPI (pip install needs the network and Debian's python3-venv): {e}"
            ),
        })?;
        std::fs::write(&installed, &wanted).map_err(Error::io("write", &installed))?;
    }
    let t = Tuxlava { venv };
    *done = Some(t.clone());
    Ok(t)
}
