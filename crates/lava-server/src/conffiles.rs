//! Files an admin edits through the APIs (a device's `.conf`, a device type's `.conf`, a
//! worker's `dispatcher.yaml` and `env.yaml`): read whole, and replaced atomically, so a
//! reader sees the old file or the new one and never half of either.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use lava_common::conf::{ConfFile, DeviceConfig};
use lava_common::settings::Settings;

/// The per-worker files of LAVA's layout below `/etc/lava-server/dispatcher.d/WORKER/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerFile {
    /// `dispatcher.yaml`: worker settings.
    Config,
    /// `env.yaml`: the environment of its jobs.
    Env,
}

impl WorkerFile {
    /// The file's name.
    pub fn file_name(self) -> &'static str {
        match self {
            WorkerFile::Config => "dispatcher.yaml",
            WorkerFile::Env => "env.yaml",
        }
    }

    /// Where the file of worker `hostname` lives (the name is checked by the caller).
    pub fn path(self, settings: &Settings, hostname: &str) -> PathBuf {
        settings
            .server_etc
            .join("dispatcher.d")
            .join(hostname)
            .join(self.file_name())
    }

    /// Checks the text as the worker will read it.
    pub fn check(self, text: &str) -> Result<(), lava_common::worker_files::WorkerFileError> {
        match self {
            WorkerFile::Config => lava_common::worker_files::parse_config(text).map(|_| ()),
            WorkerFile::Env => lava_common::worker_files::parse_env(text).map(|_| ()),
        }
    }
}

/// The file's text; `None` when it does not exist.
pub fn read_optional(path: &Path) -> std::io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `text`: written to a new file beside it ([`stage`]), then renamed
/// over it.
pub fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = stage(path, text)?;
    install(&tmp, path)
}

/// Writes `text` to a new file beside `path`, synced, and returns it; [`install`] renames it
/// over `path`. The file gets the mode `path` has (0644 for a new one: workers read these
/// files as another user); missing parent directories are created 0755.
pub fn stage(path: &Path, text: &str) -> std::io::Result<PathBuf> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other(format!("{} has no directory", path.display())))?;
    fs::create_dir_all(dir)?;
    let mode = fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        // The umask may have narrowed the mode given at creation.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.sync_all()
    })();
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Renames a file made by [`stage`] over `path`, and syncs the directory.
pub fn install(tmp: &Path, path: &Path) -> std::io::Result<()> {
    if let Err(e) = fs::rename(tmp, path) {
        let _ = fs::remove_file(tmp);
        return Err(e);
    }
    match path.parent() {
        Some(dir) => fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// Checks a device's new `.conf`: it parses, names the device's type, and layered on the
/// type's file every `%(name)s` resolves. Errors name the file and line.
pub fn check_device_conf(
    s: &Settings,
    hostname: &str,
    device_type: &str,
    text: &str,
) -> Result<(), String> {
    let path = s.device_conf(hostname);
    let file = ConfFile::parse(&path, text).map_err(|e| e.to_string())?;
    let named = DeviceConfig::layered(&[&file])
        .get("device_type")
        .map_err(|e| e.to_string())?;
    match named.as_deref() {
        Some(t) if t == device_type => {}
        Some(t) => {
            let line = file
                .location("device_type")
                .map(|l| l.to_string())
                .unwrap_or_else(|| path.display().to_string());
            return Err(format!(
                "{line}: device_type is '{t}', but device '{hostname}' is a '{device_type}'"
            ));
        }
        None => {
            return Err(format!(
                "{}: no device_type key (device '{hostname}' is a '{device_type}')",
                path.display()
            ));
        }
    }
    let type_path = s.device_type_conf(device_type);
    let ty = match ConfFile::read(&type_path) {
        Ok(t) => t,
        Err(_) => ConfFile::new(&type_path),
    };
    DeviceConfig::layered(&[&ty, &file])
        .to_map()
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The device's `.conf` rendered: every key of the type and device files layered and
/// interpolated, as a YAML mapping of strings.
pub fn render_device_conf(s: &Settings, hostname: &str) -> Result<String, String> {
    let config = DeviceConfig::load(&s.dispatcher_etc, hostname)
        .and_then(|c| c.to_map())
        .map_err(|e| e.to_string())?;
    let mut yaml = String::new();
    for (k, v) in config {
        yaml.push_str(&format!(
            "{k}: {}\n",
            serde_json::to_string(&v).unwrap_or_default()
        ));
    }
    Ok(yaml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_keeps_the_mode_and_leaves_no_temporary_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/x.conf");
        replace(&p, "a = 1\n").unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644
        );
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        replace(&p, "a = 2\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "a = 2\n");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }
}
