//! The merged view of a device's config: defaults < device type < device.
//!
//! Values are kept raw and interpolated on request, because a `%(name)s` in a lower layer
//! must see the value from the highest layer that sets `name` (a type file's
//! `connection_command` using the device's `%(hostname)s`).

use std::collections::HashMap;
use std::path::PathBuf;

use super::error::{ConfError, Location};
use super::interpolate;
use super::parse::ConfFile;

/// Keys the dispatcher knows. Others are kept and shown (see
/// [`DeviceConfig::unknown_keys`]) rather than rejected, since a typo should be visible but a
/// key for a newer dispatcher should not stop an older one.
pub const KNOWN_KEYS: &[&str] = &[
    "device_type",
    "hostname",
    "client_type",
    "connection_command",
    "pre_connect_command",
    "hard_reset_command",
    "power_off_cmd",
    "power_on_cmd",
    "qemu_binary",
    "qemu_accel",
    "qemu_options",
    "bootloader_prompt",
    "interrupt_boot_prompt",
    "interrupt_boot_command",
    "boot_cmds",
    "image_boot_msg",
    "login_prompt",
    "username",
    "password",
    "password_prompt",
    "test_shell_prompt",
    "char_delay_ms",
    "kernel_args",
    "ramdisk_uboot_header",
    "uboot_mkimage_arch",
    "bootloader_error_messages",
    "deploy_methods",
    "server_ip",
    "tftp_root",
    "console_device",
    "baud_rate",
    "extra_kernel_args",
];

/// Families of keys the dispatcher knows: `boot_cmds_NAME` (a named command set),
/// `bootm_kernel_addr` and the other load addresses, `action_timeout_NAME`,
/// `connection_timeout_NAME`.
pub const KNOWN_PREFIXES: &[&str] = &[
    "boot_cmds_",
    "bootm_",
    "bootz_",
    "booti_",
    "action_timeout_",
    "connection_timeout_",
];

/// One key of the merged view: the value from the highest layer that sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Merged {
    key: String,
    value: String,
    at: Location,
}

/// A device's configuration: its layers merged, later layers overriding earlier ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    layers: Vec<PathBuf>,
    /// In first-seen order: the lowest layer's keys first, then each layer's new keys.
    entries: Vec<Merged>,
    index: HashMap<String, usize>,
}

impl DeviceConfig {
    /// Merges `layers`, lowest first (defaults, device type, device).
    pub fn layered(layers: &[&ConfFile]) -> DeviceConfig {
        let mut config = DeviceConfig {
            layers: Vec::new(),
            entries: Vec::new(),
            index: HashMap::new(),
        };
        for layer in layers {
            config.overlay(layer);
        }
        config
    }

    /// Merges one more layer on top (for example settings from the environment, such as
    /// `LAVA_QEMU_ACCEL`), before interpolation, so `%(key)s` references see the new values.
    pub fn overlay(&mut self, layer: &ConfFile) {
        self.layers.push(layer.path().to_owned());
        for entry in layer.entries() {
            let merged = Merged {
                key: entry.key().to_owned(),
                value: entry.value().to_owned(),
                at: Location::new(layer.path(), entry.line()),
            };
            match self.index.get(entry.key()) {
                Some(&i) => self.entries[i] = merged,
                None => {
                    self.index.insert(merged.key.clone(), self.entries.len());
                    self.entries.push(merged);
                }
            }
        }
    }

    /// The files merged, lowest layer first.
    pub fn layers(&self) -> &[PathBuf] {
        &self.layers
    }

    fn entry(&self, key: &str) -> Option<&Merged> {
        let i = *self.index.get(&key.to_lowercase())?;
        Some(&self.entries[i])
    }

    /// The raw value and its location, for interpolation; `name` is already lowercased.
    pub(super) fn lookup(&self, name: &str) -> Option<(&str, &Location)> {
        let i = *self.index.get(name)?;
        let e = &self.entries[i];
        Some((&e.value, &e.at))
    }

    /// The value of `key` with `%(name)s` references expanded; `None` if no layer sets it.
    pub fn get(&self, key: &str) -> Result<Option<String>, ConfError> {
        match self.entry(key) {
            Some(e) => interpolate::expand(self, &e.key, &e.value, &e.at).map(Some),
            None => Ok(None),
        }
    }

    /// The value of `key` as written, without interpolation.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.entry(key).map(|e| e.value.as_str())
    }

    /// Every key, in first-seen order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|e| e.key.as_str())
    }

    /// The file and line whose value of `key` is in effect.
    pub fn source(&self, key: &str) -> Option<&Location> {
        self.entry(key).map(|e| &e.at)
    }

    /// Every key with its interpolated value, in first-seen order. Fails with every
    /// interpolation problem at once ([`ConfError::Many`] when there is more than one).
    pub fn to_map(&self) -> Result<Vec<(String, String)>, ConfError> {
        let mut map = Vec::with_capacity(self.entries.len());
        let mut errors = Vec::new();
        for e in &self.entries {
            match interpolate::expand(self, &e.key, &e.value, &e.at) {
                Ok(value) => map.push((e.key.clone(), value)),
                Err(err) => errors.push(err),
            }
        }
        ConfError::collect(errors)?;
        Ok(map)
    }

    /// Keys not in [`KNOWN_KEYS`] nor of a [`KNOWN_PREFIXES`] family, in first-seen order, for callers to show.
    pub fn unknown_keys(&self) -> Vec<&str> {
        self.keys()
            .filter(|k| !KNOWN_KEYS.contains(k) && !KNOWN_PREFIXES.iter().any(|p| k.starts_with(p)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn file(path: &str, text: &str) -> ConfFile {
        ConfFile::parse(Path::new(path), text).unwrap()
    }

    fn three() -> DeviceConfig {
        let defaults = file(
            "/d.conf",
            "username = root\nlogin_prompt = login:\nboot_cmds = x\n",
        );
        let ty = file(
            "/t.conf",
            "client_type = bootloader\nconnection_command = telnet %(hostname)s 4006\nusername = linaro\n",
        );
        let dev = file(
            "/v.conf",
            "device_type = t\nhostname = board01\nUsername = me\nfrobnicate = 1\n",
        );
        DeviceConfig::layered(&[&defaults, &ty, &dev])
    }

    #[test]
    fn later_layers_override_earlier_ones() {
        let c = three();
        assert_eq!(c.raw("username"), Some("me"));
        assert_eq!(c.source("username").unwrap().to_string(), "/v.conf:3");
        assert_eq!(c.raw("login_prompt"), Some("login:"));
        assert_eq!(c.source("login_prompt").unwrap().to_string(), "/d.conf:2");
        assert_eq!(c.raw("nope"), None);
        assert_eq!(c.get("nope").unwrap(), None);
        assert_eq!(
            c.layers(),
            [
                Path::new("/d.conf"),
                Path::new("/t.conf"),
                Path::new("/v.conf")
            ]
        );
    }

    #[test]
    fn type_file_uses_device_hostname() {
        let c = three();
        assert_eq!(
            c.raw("connection_command"),
            Some("telnet %(hostname)s 4006")
        );
        assert_eq!(
            c.get("Connection_Command").unwrap().as_deref(),
            Some("telnet board01 4006")
        );
    }

    #[test]
    fn keys_in_first_seen_order() {
        let c = three();
        let keys: Vec<&str> = c.keys().collect();
        assert_eq!(
            keys,
            [
                "username",
                "login_prompt",
                "boot_cmds",
                "client_type",
                "connection_command",
                "device_type",
                "hostname",
                "frobnicate"
            ]
        );
        assert_eq!(c.unknown_keys(), ["frobnicate"]);
        let map = c.to_map().unwrap();
        assert_eq!(map.len(), keys.len());
        assert_eq!(
            map[4],
            (
                "connection_command".to_owned(),
                "telnet board01 4006".to_owned()
            )
        );
    }

    #[test]
    fn to_map_reports_every_problem_once() {
        let c =
            DeviceConfig::layered(&[&file("/t.conf", "a = %(x)s\nb = %(a)s\nc = 5%\nd = ok\n")]);
        let err = c.to_map().unwrap_err();
        let ConfError::Many(errors) = &err else {
            panic!("{err}")
        };
        assert_eq!(errors.len(), 2, "{err}");
        assert!(
            err.to_string()
                .contains("/t.conf:1: key \"a\" refers to %(x)s"),
            "{err}"
        );
        assert!(err.to_string().contains("/t.conf:3: key \"c\""), "{err}");
    }

    #[test]
    fn no_layers_is_empty() {
        let c = DeviceConfig::layered(&[]);
        assert_eq!(c.keys().count(), 0);
        assert!(c.to_map().unwrap().is_empty());
    }
}
