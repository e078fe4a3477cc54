//! The `.conf` reader: a device's layered config (defaults < device type < device) and the
//! job's `context` turned into a [`Device`].
//!
//! The job's `context` may set a few keys the device type uses as `%(name)s` in its commands
//! ([`CONTEXT_KEYS`], as LAVA's device templates take them from the context); they become
//! the highest layer, so a type's `%(console_device)s` sees the job's value. Nothing else
//! from a job reaches the device's settings.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use super::commands::{BootCommand, CommandSet, LoadAddresses};
use super::error::DeviceError;
use super::{
    Bootloader, ClientType, Connection, DeployMethod, Device, DeviceTimeouts, Interrupt, Login,
    Network, Power, Qemu,
};
use crate::conf::{ConfFile, DeviceConfig, Location, escape};

/// The job `context` keys a device's config may use (`%(name)s`).
pub const CONTEXT_KEYS: [&str; 2] = ["extra_kernel_args", "console_device"];

/// The longest context value taken.
const MAX_CONTEXT_VALUE: usize = 1024;

/// What U-Boot prints when a command failed in a way that will not come right by waiting
/// (`bootloader_error_messages` replaces the list; one text per line).
pub const DEFAULT_UBOOT_ERRORS: [&str; 10] = [
    "TFTP error",
    "Retry count exceeded",
    "File not found",
    "Bad Linux ARM64 Image magic!",
    "Wrong Ramdisk Image Format",
    "Ramdisk image is corrupt or invalid",
    "Wrong Image Format for bootm command",
    "ERROR: Failed to allocate",
    "Must RESET board to recover",
    "Unknown command",
];

/// The kernel command line of QEMU kernel boots when the device sets no `kernel_args`.
pub(crate) const DEFAULT_KERNEL_ARGS: &str = "console=ttyS0,115200 panic=-1";

/// Checks a `context` value the device may use: a string of at most 1024 characters without
/// control characters (it is typed into the bootloader, so a newline would be a command).
pub fn check_context_value(key: &str, value: &Value) -> Result<String, DeviceError> {
    let bad = |why: &str| DeviceError::BadContext {
        key: key.to_string(),
        why: why.to_string(),
    };
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(bad("expected a string")),
    };
    if text.chars().count() > MAX_CONTEXT_VALUE {
        return Err(bad("longer than 1024 characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(bad("contains a control character (a newline, a tab, …)"));
    }
    Ok(text)
}

/// Reads the device from its layered config, with the job's `context` on top.
pub fn from_conf(conf: &DeviceConfig, context: &Map<String, Value>) -> Result<Device, DeviceError> {
    let mut conf = conf.clone();
    let mut layer = ConfFile::new("the job's context");
    for key in CONTEXT_KEYS {
        if let Some(v) = context.get(key) {
            let text = check_context_value(key, v)?;
            layer
                .set(key, &escape(&text))
                .map_err(|e| DeviceError::BadContext {
                    key: key.to_string(),
                    why: e.to_string(),
                })?;
        }
    }
    if !layer.entries().is_empty() {
        conf.overlay(&layer);
    }
    Reader { conf: &conf }.device()
}

struct Reader<'a> {
    conf: &'a DeviceConfig,
}

impl Reader<'_> {
    /// An interpolated value; empty counts as set.
    fn get(&self, key: &str) -> Result<Option<String>, DeviceError> {
        Ok(self.conf.get(key)?)
    }

    /// An interpolated value, `None` when unset or blank.
    fn nonblank(&self, key: &str) -> Result<Option<String>, DeviceError> {
        Ok(self.get(key)?.filter(|v| !v.trim().is_empty()))
    }

    fn bad(&self, key: &str, value: &str, why: impl Into<String>) -> DeviceError {
        DeviceError::BadValue {
            at: self
                .conf
                .source(key)
                .cloned()
                .unwrap_or_else(|| Location::new(self.device_file(), None)),
            key: key.to_string(),
            value: value.to_string(),
            why: why.into(),
        }
    }

    /// The device's own file: the highest layer read from disk.
    fn device_file(&self) -> PathBuf {
        self.conf
            .layers()
            .iter()
            .rev()
            .find(|p| p.extension().is_some_and(|e| e == "conf"))
            .cloned()
            .unwrap_or_default()
    }

    fn missing(&self, device: &str, key: &str, why: &str) -> DeviceError {
        DeviceError::Missing {
            device: device.to_string(),
            key: key.to_string(),
            why: why.to_string(),
            file: self.device_file().display().to_string(),
        }
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool, DeviceError> {
        match self.nonblank(key)? {
            None => Ok(default),
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => Ok(true),
                "false" | "no" | "0" | "off" => Ok(false),
                _ => Err(self.bad(key, &v, "expected true or false")),
            },
        }
    }

    fn seconds(&self, key: &str, value: &str) -> Result<Duration, DeviceError> {
        match value.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Duration::from_secs(n)),
            _ => Err(self.bad(key, value, "expected a positive number of seconds")),
        }
    }

    fn device(&self) -> Result<Device, DeviceError> {
        let device_type = self.get("device_type")?.unwrap_or_default();
        let hostname = match self.nonblank("hostname")? {
            Some(h) => h,
            None => self
                .device_file()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let client_type = match self.get("client_type")?.as_deref().map(str::trim) {
            Some("qemu") => ClientType::Qemu,
            Some("bootloader") | Some("uboot") | Some("u-boot") => ClientType::Bootloader,
            Some(other) => ClientType::Other(other.to_string()),
            None => ClientType::Other(String::new()),
        };
        let connection = match self.nonblank("connection_command")? {
            Some(command) => Some(Connection {
                command,
                char_delay: self.char_delay()?,
            }),
            None => None,
        };
        let power = Power {
            hard_reset: self.nonblank("hard_reset_command")?.into_iter().collect(),
            power_on: self.nonblank("power_on_cmd")?.into_iter().collect(),
            power_off: self.nonblank("power_off_cmd")?.into_iter().collect(),
        };
        let bootloader = if client_type == ClientType::Bootloader {
            Some(self.bootloader(&hostname)?)
        } else {
            None
        };
        let login = Login {
            login_prompt: self.get("login_prompt")?,
            username: self.get("username")?,
            password_prompt: self.get("password_prompt")?,
            password: self.get("password")?,
            shell_prompt: self.nonblank("test_shell_prompt")?,
        };
        let qemu = if client_type == ClientType::Qemu || self.get("qemu_options")?.is_some() {
            Some(self.qemu()?)
        } else {
            None
        };
        Ok(Device {
            deploy_methods: self.deploy_methods(&client_type)?,
            network: self.network()?,
            timeouts: self.timeouts()?,
            hostname,
            device_type,
            client_type,
            connection,
            power,
            bootloader,
            login,
            qemu,
        })
    }

    fn char_delay(&self) -> Result<Duration, DeviceError> {
        match self.nonblank("char_delay_ms")? {
            None => Ok(Duration::ZERO),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms <= 10_000)
                .map(Duration::from_millis)
                .ok_or_else(|| self.bad("char_delay_ms", &v, "expected milliseconds, 0 to 10000")),
        }
    }

    fn bootloader(&self, device: &str) -> Result<Bootloader, DeviceError> {
        let prompt = self.nonblank("bootloader_prompt")?.ok_or_else(|| {
            self.missing(device, "bootloader_prompt", "a bootloader device needs it")
        })?;
        let interrupt = match self.nonblank("interrupt_boot_prompt")? {
            Some(prompt) => Some(Interrupt {
                prompt,
                text: self.get("interrupt_boot_command")?.unwrap_or_default(),
                newline: true,
            }),
            None => None,
        };
        let mut command_sets = BTreeMap::new();
        for key in self.conf.keys() {
            let name = match key {
                "boot_cmds" => "default",
                _ => match key.strip_prefix("boot_cmds_") {
                    Some(name) => name,
                    None => continue,
                },
            };
            let value = self.get(key)?.unwrap_or_default();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(self.bad(
                    key,
                    &value,
                    "a command set's name is letters, digits, _ and -",
                ));
            }
            let commands: Vec<String> = value
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            command_sets.insert(
                name.to_string(),
                CommandSet {
                    name: name.to_string(),
                    commands,
                },
            );
        }
        let mut load_addresses = BTreeMap::new();
        for command in BootCommand::ALL {
            let mut addresses = LoadAddresses::default();
            for (what, slot) in [
                ("kernel", &mut addresses.kernel),
                ("ramdisk", &mut addresses.ramdisk),
                ("dtb", &mut addresses.dtb),
            ] {
                let key = format!("{command}_{what}_addr");
                if let Some(v) = self.nonblank(&key)? {
                    *slot = Some(self.address(&key, &v)?);
                }
            }
            if addresses != LoadAddresses::default() {
                load_addresses.insert(command, addresses);
            }
        }
        let mkimage_arch = match self.nonblank("uboot_mkimage_arch")? {
            Some(arch) => {
                let word = arch.trim();
                if !word
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(self.bad(
                        "uboot_mkimage_arch",
                        &arch,
                        "expected one word (arm, arm64, …)",
                    ));
                }
                Some(word.to_string())
            }
            None => None,
        };
        let ramdisk_uboot_header = self.bool("ramdisk_uboot_header", false)?;
        if ramdisk_uboot_header && mkimage_arch.is_none() {
            return Err(self.missing(
                device,
                "uboot_mkimage_arch",
                "ramdisk_uboot_header = true needs the architecture mkimage is given",
            ));
        }
        let error_messages = match self.get("bootloader_error_messages")? {
            Some(v) => v
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            None => DEFAULT_UBOOT_ERRORS.iter().map(|s| s.to_string()).collect(),
        };
        Ok(Bootloader {
            interrupt,
            prompt,
            boot_message: self.nonblank("image_boot_msg")?,
            command_sets,
            load_addresses,
            ramdisk_uboot_header,
            mkimage_arch,
            error_messages,
        })
    }

    /// A load address: hexadecimal with `0x`, or decimal (it is typed into the bootloader).
    fn address(&self, key: &str, value: &str) -> Result<String, DeviceError> {
        let v = value.trim();
        if super::is_address(v) {
            Ok(v.to_string())
        } else {
            Err(self.bad(key, value, "expected an address such as 0x40400000"))
        }
    }

    fn qemu(&self) -> Result<Qemu, DeviceError> {
        let mut kernel_args = self
            .nonblank("kernel_args")?
            .unwrap_or_else(|| DEFAULT_KERNEL_ARGS.to_string());
        let uses_extra = self
            .conf
            .raw("kernel_args")
            .is_some_and(|raw| raw.contains("%(extra_kernel_args)s"));
        if !uses_extra && let Some(extra) = self.nonblank("extra_kernel_args")? {
            kernel_args = format!("{kernel_args} {}", extra.trim());
        }
        Ok(Qemu {
            binary: self
                .nonblank("qemu_binary")?
                .unwrap_or_else(|| "qemu-system-x86_64".to_string()),
            options: self.get("qemu_options")?.unwrap_or_default(),
            kernel_args,
            job_options: Vec::new(),
        })
    }

    fn deploy_methods(&self, client: &ClientType) -> Result<Vec<DeployMethod>, DeviceError> {
        if let Some(v) = self.nonblank("deploy_methods")? {
            let mut methods = Vec::new();
            for word in v.split([' ', ',', '\n']).filter(|w| !w.is_empty()) {
                let m = [
                    DeployMethod::Tmpfs,
                    DeployMethod::Tftp,
                    DeployMethod::Nfs,
                    DeployMethod::Image,
                ]
                .into_iter()
                .find(|m| m.as_str() == word)
                .ok_or_else(|| {
                    self.bad(
                        "deploy_methods",
                        &v,
                        format!("unknown deploy method '{word}' (tmpfs, tftp, nfs, image)"),
                    )
                })?;
                methods.push(m);
            }
            return Ok(methods);
        }
        Ok(match client {
            ClientType::Qemu => vec![DeployMethod::Tmpfs, DeployMethod::Image],
            ClientType::Bootloader => vec![DeployMethod::Tftp, DeployMethod::Nfs],
            ClientType::Other(_) => vec![DeployMethod::Tmpfs],
        })
    }

    fn network(&self) -> Result<Network, DeviceError> {
        let server_ip = match self.nonblank("server_ip")? {
            Some(v) => match v.trim().parse::<IpAddr>() {
                Ok(ip) => Some(ip.to_string()),
                Err(_) => return Err(self.bad("server_ip", &v, "expected an IP address")),
            },
            None => None,
        };
        let tftp_root = match self.nonblank("tftp_root")? {
            Some(v) if Path::new(v.trim()).is_absolute() => Some(PathBuf::from(v.trim())),
            Some(v) => return Err(self.bad("tftp_root", &v, "expected an absolute path")),
            None => None,
        };
        Ok(Network {
            server_ip,
            tftp_root,
        })
    }

    fn timeouts(&self) -> Result<DeviceTimeouts, DeviceError> {
        let mut t = DeviceTimeouts::default();
        for key in self.conf.keys() {
            let (table, name) = if let Some(n) = key.strip_prefix("action_timeout_") {
                (&mut t.actions, n)
            } else if let Some(n) = key.strip_prefix("connection_timeout_") {
                (&mut t.connections, n)
            } else {
                continue;
            };
            let value = self.get(key)?.unwrap_or_default();
            table.insert(name.to_string(), self.seconds(key, &value)?);
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests;
