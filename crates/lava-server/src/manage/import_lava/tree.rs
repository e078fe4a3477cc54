//! A LAVA 2023 lab's files: the `dispatcher-config` tree (`devices/NAME.jinja2`,
//! `device-types/NAME.jinja2`, `health-checks/TYPE.yaml`) and the workers' `dispatcher.d`
//! (`WORKER/dispatcher.yaml`, `WORKER/env.yaml`), read and checked before anything is
//! written.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::conffiles::WorkerFile;

/// The most one file of the tree may hold.
const MAX_FILE: u64 = 1024 * 1024;

/// One file to bring over.
#[derive(Debug, Clone)]
pub struct Source {
    /// The device, device type or worker it is for.
    pub name: String,
    /// Where it was read.
    pub path: PathBuf,
    /// Its text, at most [`MAX_FILE`] bytes.
    pub text: String,
}

/// What the tree holds.
#[derive(Debug, Default)]
pub struct Tree {
    /// `devices/NAME.jinja2`.
    pub devices: Vec<Source>,
    /// `device-types/NAME.jinja2`.
    pub device_types: Vec<Source>,
    /// `device-types/` itself, where the dictionaries' templates are looked for first.
    pub templates_dir: PathBuf,
    /// `health-checks/TYPE.yaml`, by type.
    pub health_checks: BTreeMap<String, Source>,
    /// `dispatcher.d/WORKER/{dispatcher,env}.yaml`.
    pub worker_files: Vec<(WorkerFile, Source)>,
    /// What is left out, and why.
    pub warnings: Vec<String>,
}

impl Tree {
    /// Reads `config` (LAVA's `/etc/lava-server/dispatcher-config`) and `dispatcher_d`
    /// (LAVA's `/etc/lava-server/dispatcher.d`, when given or beside `config`).
    pub fn read(config: &Path, dispatcher_d: Option<&Path>) -> anyhow::Result<Tree> {
        if !config.is_dir() {
            bail!("{}: not a directory", config.display());
        }
        let mut tree = Tree {
            templates_dir: config.join("device-types"),
            ..Tree::default()
        };
        tree.devices = tree.files(&config.join("devices"), "jinja2", "device")?;
        tree.device_types = tree.files(&config.join("device-types"), "jinja2", "device type")?;
        for check in tree.files(&config.join("health-checks"), "yaml", "device type")? {
            crate::web::admin::device_types::check(&check.name, &check.text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", check.path.display()))?;
            tree.health_checks.insert(check.name.clone(), check);
        }
        let beside = config.parent().map(|p| p.join("dispatcher.d"));
        let workers = match (dispatcher_d, beside) {
            (Some(d), _) if !d.is_dir() => bail!("{}: not a directory", d.display()),
            (Some(d), _) => Some(d.to_path_buf()),
            (None, Some(b)) if b.is_dir() => Some(b),
            _ => None,
        };
        if let Some(dir) = workers {
            tree.read_workers(&dir)?;
        }
        Ok(tree)
    }

    /// The `*.EXT` files of `dir` (none when it does not exist), by name; other entries are
    /// left out with a warning.
    fn files(&mut self, dir: &Path, ext: &str, kind: &'static str) -> anyhow::Result<Vec<Source>> {
        let mut out = Vec::new();
        for path in entries(dir)? {
            let name = match path.file_name().and_then(|n| n.to_str()) {
                Some(n) if n.ends_with(&format!(".{ext}")) && path.is_file() => {
                    n.trim_end_matches(&format!(".{ext}")).to_string()
                }
                _ => {
                    self.warnings
                        .push(format!("{}: not a .{ext} file, left out", path.display()));
                    continue;
                }
            };
            lava_common::ids::check_name(kind, &name)
                .with_context(|| format!("{}", path.display()))?;
            let text = read_bounded(&path)?;
            out.push(Source { name, path, text });
        }
        Ok(out)
    }

    fn read_workers(&mut self, dir: &Path) -> anyhow::Result<()> {
        for worker_dir in entries(dir)? {
            let Some(worker) = worker_dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !worker_dir.is_dir() {
                self.warnings.push(format!(
                    "{}: not a worker's directory, left out",
                    worker_dir.display()
                ));
                continue;
            }
            lava_common::ids::check_name("worker", worker)
                .with_context(|| format!("{}", worker_dir.display()))?;
            for kind in [WorkerFile::Config, WorkerFile::Env] {
                let path = worker_dir.join(kind.file_name());
                if !path.is_file() {
                    continue;
                }
                let text = read_bounded(&path)?;
                if let Err(e) = kind.check(&text) {
                    self.warnings.push(format!(
                        "{}: {e}; left out (this worker runs with its defaults)",
                        path.display()
                    ));
                    continue;
                }
                self.worker_files.push((
                    kind,
                    Source {
                        name: worker.to_string(),
                        path,
                        text,
                    },
                ));
            }
        }
        Ok(())
    }
}

/// The entries of `dir`, sorted; none when it does not exist.
fn entries(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in read {
        out.push(
            entry
                .with_context(|| format!("cannot read {}", dir.display()))?
                .path(),
        );
    }
    out.sort();
    Ok(out)
}

fn read_bounded(path: &Path) -> anyhow::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE + 1).read_to_string(&mut text))
        .with_context(|| format!("cannot read {}", path.display()))?;
    if text.len() as u64 > MAX_FILE {
        bail!("{}: larger than {MAX_FILE} bytes", path.display());
    }
    Ok(text)
}
