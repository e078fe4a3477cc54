//! Finding and reading a device's layers under the dispatcher's config directory.
//!
//! Layout (as the classic dispatcher had it): `devices/NAME.conf` names its type with
//! `device_type`, `device-types/TYPE.conf` holds what boards of that type share, and an
//! optional `device-defaults.conf` sits under both.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::error::{ConfError, Location};
use super::layers::DeviceConfig;
use super::parse::ConfFile;

/// The lowest layer, below `dispatcher_etc`; optional.
pub const DEFAULTS_FILE: &str = "device-defaults.conf";

/// Where device `name`'s config lives: `dispatcher_etc/devices/NAME.conf`.
pub fn device_path(dispatcher_etc: &Path, name: &str) -> PathBuf {
    dispatcher_etc.join("devices").join(format!("{name}.conf"))
}

/// Where device type `name`'s config lives: `dispatcher_etc/device-types/NAME.conf`.
pub fn device_type_path(dispatcher_etc: &Path, name: &str) -> PathBuf {
    dispatcher_etc
        .join("device-types")
        .join(format!("{name}.conf"))
}

/// Checks that `name` is a plain file stem (the rules of [`crate::ids::check_name`]), so that
/// a name from a database row or a config value cannot point outside its directory.
pub fn check_name(what: &'static str, name: &str) -> Result<(), ConfError> {
    crate::ids::check_name(what, name).map_err(|e| ConfError::BadName {
        what,
        name: name.to_owned(),
        reason: e.why,
    })
}

impl DeviceConfig {
    /// Loads device `device_name` from `dispatcher_etc/devices/NAME.conf`, layered on its
    /// type's config and `device-defaults.conf` (if there is one).
    pub fn load(dispatcher_etc: &Path, device_name: &str) -> Result<DeviceConfig, ConfError> {
        check_name("device", device_name)?;
        DeviceConfig::load_file(dispatcher_etc, &device_path(dispatcher_etc, device_name))
    }

    /// Like [`DeviceConfig::load`], for a device file at an explicit path; the type and the
    /// defaults still come from `dispatcher_etc`.
    pub fn load_file(dispatcher_etc: &Path, device_conf: &Path) -> Result<DeviceConfig, ConfError> {
        let device = ConfFile::read(device_conf)?;
        // Interpolated on its own, so `%%` works; the type cannot depend on the type's file.
        let device_type = DeviceConfig::layered(&[&device])
            .get("device_type")?
            .ok_or_else(|| ConfError::NoDeviceType(device_conf.to_owned()))?;
        check_name("device type", &device_type)?;
        let type_path = device_type_path(dispatcher_etc, &device_type);
        let ty = ConfFile::read(&type_path).map_err(|e| match e {
            ConfError::Read { source, .. } if source.kind() == ErrorKind::NotFound => {
                ConfError::NoTypeFile {
                    at: device
                        .location("device_type")
                        .unwrap_or_else(|| Location::new(device_conf, None)),
                    device_type: device_type.clone(),
                    path: type_path.clone(),
                }
            }
            e => e,
        })?;
        match read_optional(&dispatcher_etc.join(DEFAULTS_FILE))? {
            Some(defaults) => Ok(DeviceConfig::layered(&[&defaults, &ty, &device])),
            None => Ok(DeviceConfig::layered(&[&ty, &device])),
        }
    }
}

/// Reads `path`, or `None` if it does not exist; other failures (permissions) are errors,
/// since silently dropping a layer would change what runs.
fn read_optional(path: &Path) -> Result<Option<ConfFile>, ConfError> {
    match ConfFile::read(path) {
        Ok(file) => Ok(Some(file)),
        Err(ConfError::Read { source, .. }) if source.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn etc(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for dir_name in ["devices", "device-types"] {
            fs::create_dir(dir.path().join(dir_name)).unwrap();
        }
        for (path, text) in files {
            fs::write(dir.path().join(path), text).unwrap();
        }
        dir
    }

    #[test]
    fn loads_three_layers() {
        let dir = etc(&[
            (
                "device-defaults.conf",
                "username = root\nlogin_prompt = login:\n",
            ),
            (
                "device-types/t.conf",
                "connection_command = telnet %(hostname)s 4006\nusername = u\n",
            ),
            ("devices/b1.conf", "device_type = t\nhostname = b1\n"),
        ]);
        let c = DeviceConfig::load(dir.path(), "b1").unwrap();
        assert_eq!(
            c.get("connection_command").unwrap().as_deref(),
            Some("telnet b1 4006")
        );
        assert_eq!(c.get("username").unwrap().as_deref(), Some("u"));
        assert_eq!(c.get("login_prompt").unwrap().as_deref(), Some("login:"));
        assert_eq!(c.layers().len(), 3);
    }

    #[test]
    fn defaults_are_optional_and_explicit_path_works() {
        let dir = etc(&[("device-types/t.conf", "username = u\n")]);
        let device = dir.path().join("elsewhere.conf");
        fs::write(&device, "device_type = t\n").unwrap();
        let c = DeviceConfig::load_file(dir.path(), &device).unwrap();
        assert_eq!(c.layers(), [device_type_path(dir.path(), "t"), device]);
    }

    #[test]
    fn errors_name_the_file() {
        let dir = etc(&[
            ("devices/notype.conf", "hostname = x\n"),
            ("devices/orphan.conf", "hostname = x\ndevice_type = gone\n"),
            ("devices/sneaky.conf", "device_type = ../devices/sneaky\n"),
        ]);
        let d = dir.path().display();
        let cases = [
            (
                "notype",
                format!(
                    "{d}/devices/notype.conf: no device_type key, so the device type config cannot be found"
                ),
            ),
            (
                "orphan",
                format!(
                    "{d}/devices/orphan.conf:2: device type \"gone\" has no config file: {d}/device-types/gone.conf does not exist"
                ),
            ),
            (
                "sneaky",
                "invalid device type name \"../devices/sneaky\": it must start with a letter or digit"
                    .to_owned(),
            ),
            (
                "../x",
                "invalid device name \"../x\": it must start with a letter or digit".to_owned(),
            ),
            ("", "invalid device name \"\": it is empty".to_owned()),
        ];
        for (name, want) in cases {
            assert_eq!(
                DeviceConfig::load(dir.path(), name)
                    .unwrap_err()
                    .to_string(),
                want
            );
        }
        let missing = DeviceConfig::load(dir.path(), "absent")
            .unwrap_err()
            .to_string();
        assert!(
            missing.starts_with(&format!("cannot read {d}/devices/absent.conf: ")),
            "{missing}"
        );
    }
}
