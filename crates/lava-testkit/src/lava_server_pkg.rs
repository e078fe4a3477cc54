//! LAVA's own device-type templates, from Debian's `lava-server` 2023.01 package.
//!
//! The tests of the Jinja2 device reader render LAVA's real templates, never copies written
//! here: [`lava_device_types`] fetches the package with `apt-get download` and unpacks it with
//! `dpkg-deb -x` into `<workspace>/target/lava-server-2023.01/` (once, under a lock between
//! processes). The package's files are LAVA's (GPL-2+) and stay out of the repository.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

use crate::Error;
use crate::command;
use crate::image::{DirLock, workspace_root};

/// The LAVA release whose templates the tests compare with.
pub const LAVA_RELEASE: &str = "2023.01";

/// The unpacked package: `usr/share/lava-server/device-types/` and LAVA's Python code.
#[derive(Debug, Clone)]
pub struct LavaServerPackage {
    /// Where it is unpacked.
    pub root: PathBuf,
    /// The package's version (`2023.01-2`).
    pub version: String,
}

impl LavaServerPackage {
    /// `usr/share/lava-server/device-types` in the package: LAVA's device-type templates.
    pub fn device_types(&self) -> PathBuf {
        self.root.join("usr/share/lava-server/device-types")
    }

    /// `usr/share/lava-server`, for `LAVA_SHARE`: a dispatcher started with it finds the
    /// templates where an installed LAVA has them.
    pub fn share(&self) -> PathBuf {
        self.root.join("usr/share/lava-server")
    }
}

/// Debian's `lava-server` 2023.01, unpacked under `target/`: fetched with `apt-get download`
/// the first time (it needs the Debian archive; `apt-get update` first on a fresh machine).
pub fn lava_device_types() -> Result<LavaServerPackage, Error> {
    static DONE: Mutex<Option<LavaServerPackage>> = Mutex::new(None);
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = done.as_ref() {
        return Ok(p.clone());
    }
    let root = workspace_root().join(format!("target/lava-server-{LAVA_RELEASE}"));
    let unpacked = root.join("unpacked");
    let version_file = root.join("version");
    std::fs::create_dir_all(&root).map_err(Error::io("create directory", &root))?;
    let _lock = DirLock::acquire(&root.join(".lock"))?;
    if !version_file.is_file() || !unpacked.join("usr/share/lava-server/device-types").is_dir() {
        let download = root.join("download");
        let _ = std::fs::remove_dir_all(&download);
        let _ = std::fs::remove_dir_all(&unpacked);
        std::fs::create_dir_all(&download).map_err(Error::io("create directory", &download))?;
        // apt's sandbox user must be able to write the download directory.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&download, PermissionsExt::from_mode(0o777))
            .map_err(Error::io("chmod", &download))?;
        command::run(
            Command::new("apt-get")
                .args(["download", "lava-server"])
                .current_dir(&download),
            None,
        )?;
        let deb = std::fs::read_dir(&download)
            .map_err(Error::io("read directory", &download))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "deb"))
            .ok_or_else(|| Error::Missing {
                what: "lava-server_*.deb after apt-get download lava-server".into(),
            })?;
        let version = deb
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split('_').nth(1))
            .unwrap_or_default()
            .to_string();
        if !version.starts_with(LAVA_RELEASE) {
            return Err(Error::Missing {
                what: format!(
                    "lava-server {LAVA_RELEASE} (apt-get download gave {version}: the tests compare with Debian 12's lava-server)"
                ),
            });
        }
        command::run(
            Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked),
            None,
        )?;
        std::fs::write(&version_file, &version).map_err(Error::io("write", &version_file))?;
        let _ = std::fs::remove_dir_all(&download);
    }
    let version = std::fs::read_to_string(&version_file)
        .map_err(Error::io("read", &version_file))?
        .trim()
        .to_string();
    let package = LavaServerPackage {
        root: unpacked,
        version,
    };
    *done = Some(package.clone());
    Ok(package)
}

/// What LAVA's renderer (Python Jinja2, run by `python3`) made of one dictionary.
#[derive(Debug, Clone, PartialEq)]
pub enum PythonRender {
    /// The rendered text and the YAML it parses to (as `yaml.safe_load` reads it).
    Rendered {
        /// The device YAML, as text.
        text: String,
        /// The same, parsed.
        data: serde_json::Value,
    },
    /// Jinja2 or YAML refused it.
    Failed(String),
}

/// Renders each `(template, context)` as LAVA 2023 does, with Debian's `python3-jinja2` and
/// `python3-yaml` (`lava_render.py`), finding templates in `dirs` in order.
pub fn python_render(
    dirs: &[PathBuf],
    renders: &[(String, serde_json::Value)],
) -> Result<Vec<PythonRender>, Error> {
    use std::io::Write;
    let request = serde_json::json!({
        "dirs": dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
        "renders": renders.iter().map(|(t, c)| serde_json::json!({"template": t, "context": c})).collect::<Vec<_>>(),
    });
    let mut child = Command::new("python3")
        .args(["-c", include_str!("lava_render.py")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|source| Error::Spawn {
            command: "python3 (install python3, python3-jinja2 and python3-yaml)".into(),
            source,
        })?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let body = request.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(body.as_bytes()));
    let output = child.wait_with_output().map_err(|source| Error::Spawn {
        command: "python3".into(),
        source,
    })?;
    let _ = writer.join();
    if !output.status.success() {
        return Err(Error::Command {
            command: "python3 lava_render.py (needs python3-jinja2 and python3-yaml)".into(),
            status: output.status,
            output: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let results: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).map_err(|e| Error::Missing {
            what: format!("json from lava_render.py: {e}"),
        })?;
    Ok(results
        .into_iter()
        .map(|r| match r.get("error").and_then(|e| e.as_str()) {
            Some(e) => PythonRender::Failed(e.to_string()),
            None => PythonRender::Rendered {
                text: r["text"].as_str().unwrap_or_default().to_string(),
                data: r["data"].clone(),
            },
        })
        .collect())
}
