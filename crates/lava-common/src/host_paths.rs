//! The paths of a dispatcher host: what the worker and `lava-dispatch` need to know about
//! where things are, and nothing else.
//!
//! A worker host needs its device files, its token file and its state directories; it needs
//! neither the database URL nor the session secret. Those live in the server's settings
//! file, `/etc/lava-server/settings.toml`, which is `root:lavaserver 0640` because it holds
//! secrets, so on a host that runs both the worker (user `lava-dispatcher`) cannot read it.
//! This type is therefore built from the environment alone (`LAVA_ROOT`,
//! `LAVA_DISPATCHER_ETC`) and never opens that file: the worker's own settings are in
//! `dispatcher.toml` ([`crate::dispatcher_settings`]).

use std::path::{Path, PathBuf};

use crate::settings::SettingsError;

/// The dispatcher's configuration directory below the root.
pub const DISPATCHER_ETC: &str = "/etc/lava-dispatcher";

/// Where a dispatcher host keeps its configuration and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPaths {
    /// `/`, or `LAVA_ROOT`: every default path is below it.
    pub root: PathBuf,
    /// `/etc/lava-dispatcher` (`LAVA_DISPATCHER_ETC`): `devices/`, `device-types/`,
    /// `dispatcher.toml`, `worker.token`.
    pub dispatcher_etc: PathBuf,
}

impl HostPaths {
    /// The paths from the process environment.
    pub fn load() -> Result<HostPaths, SettingsError> {
        HostPaths::load_with(|name| std::env::var(name).ok())
    }

    /// The paths, taking environment variables from `env` (for tests).
    pub fn load_with(env: impl Fn(&str) -> Option<String>) -> Result<HostPaths, SettingsError> {
        let mut problems = Vec::new();
        let root = root_from_env(&env, &mut problems);
        let etc = env("LAVA_DISPATCHER_ETC").unwrap_or_else(|| DISPATCHER_ETC.to_string());
        let p = Path::new(&etc);
        if !p.is_absolute() {
            problems.push(format!(
                "LAVA_DISPATCHER_ETC: '{etc}' must be an absolute path"
            ));
        }
        let dispatcher_etc = root.join(p.strip_prefix("/").unwrap_or(p));
        if !problems.is_empty() {
            return Err(SettingsError {
                file: PathBuf::from("(environment)"),
                problems,
            });
        }
        Ok(HostPaths {
            root,
            dispatcher_etc,
        })
    }

    /// `/etc/lava-dispatcher/devices`.
    pub fn devices_dir(&self) -> PathBuf {
        self.dispatcher_etc.join("devices")
    }

    /// `/etc/lava-dispatcher/devices/NAME.conf`.
    pub fn device_conf(&self, name: &str) -> PathBuf {
        crate::conf::device_path(&self.dispatcher_etc, name)
    }

    /// `/var/lib/lava-dispatcher`, below the root: the worker's job directories.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join("var/lib/lava-dispatcher")
    }

    /// `/var/cache/lava-dispatcher`, below the root: downloads kept between jobs.
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("var/cache/lava-dispatcher")
    }
}

/// `LAVA_ROOT`, below which every default path lies: `/` when unset or empty, a relative
/// value taken from the working directory. A problem goes into `problems`, naming the variable.
pub(crate) fn root_from_env(
    env: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> PathBuf {
    match env("LAVA_ROOT").filter(|r| !r.is_empty()) {
        Some(r) if Path::new(&r).is_absolute() => PathBuf::from(r),
        Some(r) => match std::env::current_dir() {
            Ok(cwd) => cwd.join(r),
            Err(e) => {
                problems.push(format!(
                    "LAVA_ROOT: cannot resolve relative path '{r}': {e}"
                ));
                PathBuf::from("/")
            }
        },
        None => PathBuf::from("/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_moves_every_path_and_no_settings_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        // A settings file the worker could not use (and, installed, could not read): it is
        // never opened, so even an invalid one changes nothing.
        let etc = dir.path().join("etc/lava-server");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("settings.toml"), "not [valid toml").unwrap();
        let r = dir.path().display().to_string();
        let p = HostPaths::load_with(|k| (k == "LAVA_ROOT").then(|| r.clone())).unwrap();
        assert_eq!(p.dispatcher_etc, dir.path().join("etc/lava-dispatcher"));
        assert_eq!(
            p.device_conf("kvm"),
            dir.path().join("etc/lava-dispatcher/devices/kvm.conf")
        );
        assert_eq!(p.state_dir(), dir.path().join("var/lib/lava-dispatcher"));
        assert_eq!(p.cache_dir(), dir.path().join("var/cache/lava-dispatcher"));
    }

    #[test]
    fn dispatcher_etc_from_the_environment_must_be_absolute() {
        let p = HostPaths::load_with(|k| (k == "LAVA_DISPATCHER_ETC").then(|| "/srv/d".into()))
            .unwrap();
        assert_eq!(p.dispatcher_etc, PathBuf::from("/srv/d"));
        let e = HostPaths::load_with(|k| (k == "LAVA_DISPATCHER_ETC").then(|| "rel".into()))
            .unwrap_err();
        assert_eq!(
            e.problems,
            ["LAVA_DISPATCHER_ETC: 'rel' must be an absolute path"]
        );
    }
}
