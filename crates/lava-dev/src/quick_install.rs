//! `lava-dev quick-install`: the seed's "quick fixes and testing" for the Rust layout. From a
//! checkout on an installed system: build what changed (cargo), put the binaries, templates
//! and static files the packages installed into place, and restart what the README's
//! "Viewing changes" table says: nothing for templates and static files (the next browser
//! refresh shows them), Apache (which runs the web app) and the scheduler for a new
//! `lava-server` binary, the worker for new dispatcher binaries.
//!
//! The web app and the scheduler are one binary, so a new `lava-server` restarts both: which
//! of its sources changed is not known here. Files are replaced by a rename of a complete
//! copy, never written in place; a binary that is not installed is left out (its package is
//! not installed).

use std::path::{Path, PathBuf};

use crate::{Error, Listener, Result};

/// An installed binary: its name, the package that installs it, and what restarts it.
struct Binary {
    name: &'static str,
    package: &'static str,
    restart: Restart,
}

/// What to restart for a new binary (the README's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Restart {
    /// `apache2ctl restart`: Apache runs the web app.
    WebApp,
    /// `service lava-server restart`: the scheduler.
    Scheduler,
    /// `service lava-dispatcher restart`: the worker (it runs `lava-dispatch` per job).
    Worker,
}

impl Restart {
    /// The command line that restarts it.
    pub fn command(self) -> &'static [&'static str] {
        match self {
            Restart::WebApp => &["apache2ctl", "restart"],
            Restart::Scheduler => &["service", "lava-server", "restart"],
            Restart::Worker => &["service", "lava-dispatcher", "restart"],
        }
    }
}

const BINARIES: &[Binary] = &[
    Binary {
        name: "lava-server",
        package: "lava-server",
        restart: Restart::WebApp,
    },
    Binary {
        name: "lava-dispatcher",
        package: "lava-dispatcher",
        restart: Restart::Worker,
    },
    Binary {
        name: "lava-dispatch",
        package: "lava-dispatcher",
        restart: Restart::Worker,
    },
    Binary {
        name: "pduclient",
        package: "lava-dispatcher",
        restart: Restart::Worker,
    },
];

/// What a quick install did.
#[derive(Debug, Default)]
pub struct Installed {
    /// The files replaced, by their installed path.
    pub files: Vec<PathBuf>,
    /// What must be restarted, in order, without repeats.
    pub restarts: Vec<Restart>,
}

/// Puts the binaries of `bin_dir` and the checkout's `templates/` and `static/` into place
/// under `root` (`/` on an installed system), where they differ from what is installed.
pub fn install(
    checkout: &Path,
    bin_dir: &Path,
    root: &Path,
    listener: &dyn Listener,
) -> Result<Installed> {
    let mut done = Installed::default();
    for b in BINARIES {
        let target = root.join("usr/bin").join(b.name);
        if !target.exists() {
            listener.warning(&format!(
                "{} is not installed (package {}): left out",
                target.display(),
                b.package
            ));
            continue;
        }
        if replace(&bin_dir.join(b.name), &target, 0o755)? {
            listener.step(&format!("installed {}", target.display()));
            done.files.push(target);
            done.restarts.push(b.restart);
            if b.name == "lava-server" {
                done.restarts.push(Restart::Scheduler);
            }
        }
    }
    let share = root.join("usr/share/lava-server");
    for dir in ["templates", "static"] {
        let from = checkout.join(dir);
        for entry in walkdir::WalkDir::new(&from).sort_by_file_name() {
            let entry = entry.map_err(|e| Error::Io {
                path: from.clone(),
                error: e.into(),
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(checkout).unwrap_or(entry.path());
            let target = share.join(rel);
            if replace(entry.path(), &target, 0o644)? {
                listener.step(&format!("installed {}", target.display()));
                done.files.push(target);
            }
        }
    }
    // The "web app not running" page Apache serves from the static files.
    let page = checkout.join("apache/errors/502.html");
    let target = share.join("static/errors/502.html");
    if replace(&page, &target, 0o644)? {
        listener.step(&format!("installed {}", target.display()));
        done.files.push(target);
    }
    done.restarts.sort();
    done.restarts.dedup();
    Ok(done)
}

/// Replaces `target` with a copy of `source` (mode `mode`) unless they are equal; returns
/// whether it did. The copy is complete before it takes the target's name.
fn replace(source: &Path, target: &Path, mode: u32) -> Result<bool> {
    use std::os::unix::fs::PermissionsExt as _;
    let new = std::fs::read(source).map_err(Error::io(source))?;
    if std::fs::read(target).is_ok_and(|old| old == new) {
        return Ok(false);
    }
    let dir = target.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.quick-install"));
    std::fs::write(&tmp, &new).map_err(Error::io(&tmp))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
        .map_err(Error::io(&tmp))?;
    std::fs::rename(&tmp, target).map_err(Error::io(target))?;
    Ok(true)
}
