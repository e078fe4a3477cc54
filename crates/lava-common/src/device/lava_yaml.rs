//! LAVA's device YAML (what a device dictionary renders to) read into a [`Device`].
//!
//! The keys are LAVA 2023's: `commands` (`connect`, `hard_reset`, `power_on`, `power_off`,
//! each a command or a list), `character_delays.boot`, `constants.u-boot` (interrupt and
//! error texts), `parameters.{booti,bootm,bootz}` (load addresses), `actions.deploy`
//! (`methods`; `parameters.add_header: u-boot` and `mkimage_arch`), `actions.boot.methods`
//! (`u-boot` with its `parameters` and named command sets, `qemu` with its command and
//! options) and `timeouts.{actions,connections}`. Everything else LAVA's dispatcher reads
//! for methods this one does not run (fastboot, lxc, ssh, …) is left alone: a job that asks
//! for those is refused when it is parsed. Two keys of our own, which LAVA ignores, give
//! what LAVA keeps in the worker's configuration: `dispatcher_ip` (the worker's address as
//! this device sees it) and `tftp_root` (a TFTP server of the device's own).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::commands::{BootCommand, CommandSet, LoadAddresses};
use super::conf::{DEFAULT_KERNEL_ARGS, check_context_value};
use super::error::DeviceError;
use super::{
    Bootloader, ClientType, Connection, DeployMethod, Device, DeviceTimeouts, Interrupt, Login,
    Network, Power, Qemu,
};

/// Reads the device YAML `text`, rendered from `dictionary`, for device `hostname` of type
/// `device_type`.
pub fn from_lava_yaml(
    text: &str,
    hostname: &str,
    device_type: &str,
    dictionary: &Path,
) -> Result<Device, DeviceError> {
    let root = lenient::parse(text).map_err(|e| DeviceError::Yaml {
        dictionary: dictionary.to_path_buf(),
        path: "(document)".into(),
        why: e.to_string(),
    })?;
    let r = Reader {
        dictionary: dictionary.to_path_buf(),
    };
    let root = At {
        v: &root,
        path: String::new(),
    };
    r.device(&root, hostname, device_type)
}

/// A value and its path in the document.
#[derive(Clone)]
struct At<'a> {
    v: &'a Value,
    path: String,
}

impl<'a> At<'a> {
    fn get(&self, key: &str) -> Option<At<'a>> {
        let v = self.v.as_object()?.get(key)?;
        let path = if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        };
        Some(At { v, path }).filter(|a| !a.v.is_null())
    }

    fn at(&self, keys: &[&str]) -> Option<At<'a>> {
        keys.iter().try_fold(self.clone(), |at, k| at.get(k))
    }

    fn keys(&self) -> Vec<&'a str> {
        self.v
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }
}

struct Reader {
    dictionary: PathBuf,
}

impl Reader {
    fn bad(&self, at: &At<'_>, why: impl Into<String>) -> DeviceError {
        DeviceError::Yaml {
            dictionary: self.dictionary.clone(),
            path: at.path.clone(),
            why: why.into(),
        }
    }

    /// A scalar as text (numbers and booleans as YAML wrote them).
    fn text(&self, at: &At<'_>) -> Result<String, DeviceError> {
        match at.v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(self.bad(at, "expected a string")),
        }
    }

    fn opt_text(&self, at: Option<At<'_>>) -> Result<Option<String>, DeviceError> {
        at.map(|a| self.text(&a)).transpose()
    }

    fn bool(&self, at: Option<At<'_>>, default: bool) -> Result<bool, DeviceError> {
        match at.map(|a| (a.v.clone(), a)) {
            None => Ok(default),
            Some((Value::Bool(b), _)) => Ok(b),
            Some((Value::String(s), a)) => match s.to_ascii_lowercase().as_str() {
                "true" | "yes" => Ok(true),
                "false" | "no" => Ok(false),
                _ => Err(self.bad(&a, "expected true or false")),
            },
            Some((_, a)) => Err(self.bad(&a, "expected true or false")),
        }
    }

    /// A command or a list of commands, each one line.
    fn commands(&self, at: Option<At<'_>>) -> Result<Vec<String>, DeviceError> {
        let Some(at) = at else {
            return Ok(Vec::new());
        };
        let items: Vec<String> = match at.v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    self.text(&At {
                        v,
                        path: format!("{}[{i}]", at.path),
                    })
                })
                .collect::<Result<_, _>>()?,
            _ => vec![self.text(&at)?],
        };
        let items: Vec<String> = items
            .into_iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        if let Some(c) = items.iter().find(|c| c.contains(['\n', '\r'])) {
            return Err(self.bad(&at, format!("a command is one line: {c:?}")));
        }
        Ok(items)
    }

    fn device(
        &self,
        root: &At<'_>,
        hostname: &str,
        device_type: &str,
    ) -> Result<Device, DeviceError> {
        let boot_methods = root.at(&["actions", "boot", "methods"]);
        let has_boot = |m: &str| boot_methods.as_ref().is_some_and(|b| b.keys().contains(&m));
        let client_type = if has_boot("u-boot") {
            ClientType::Bootloader
        } else if has_boot("qemu") {
            ClientType::Qemu
        } else {
            ClientType::Other("minimal".into())
        };
        let char_delay = match root.at(&["character_delays", "boot"]) {
            None => Duration::ZERO,
            Some(a) => match a.v.as_u64().filter(|ms| *ms <= 10_000) {
                Some(ms) => Duration::from_millis(ms),
                None => return Err(self.bad(&a, "expected milliseconds, 0 to 10000")),
            },
        };
        let connection = self
            .opt_text(root.at(&["commands", "connect"]))?
            .filter(|c| !c.trim().is_empty())
            .map(|command| Connection {
                command: command.trim().to_string(),
                char_delay,
            });
        if let Some(c) = root.at(&["commands", "connections"]) {
            return Err(self.bad(
                &c,
                "several connections per device are not supported; give one commands.connect",
            ));
        }
        let power = Power {
            hard_reset: self.commands(root.at(&["commands", "hard_reset"]))?,
            power_on: self.commands(root.at(&["commands", "power_on"]))?,
            power_off: self.commands(root.at(&["commands", "power_off"]))?,
        };
        let bootloader = match client_type {
            ClientType::Bootloader => Some(self.bootloader(root)?),
            _ => None,
        };
        let qemu = match root.at(&["actions", "boot", "methods", "qemu"]) {
            Some(q) => Some(self.qemu(&q)?),
            None => None,
        };
        Ok(Device {
            hostname: hostname.to_string(),
            device_type: device_type.to_string(),
            deploy_methods: self.deploy_methods(root),
            network: self.network(root)?,
            timeouts: self.timeouts(root)?,
            client_type,
            connection,
            power,
            bootloader,
            login: Login::default(),
            qemu,
        })
    }

    fn bootloader(&self, root: &At<'_>) -> Result<Bootloader, DeviceError> {
        let method = root
            .at(&["actions", "boot", "methods", "u-boot"])
            .unwrap_or(At {
                v: &Value::Null,
                path: "actions.boot.methods.u-boot".into(),
            });
        let params = method.get("parameters");
        let param = |k: &str| params.as_ref().and_then(|p| p.get(k));
        let constants = root.at(&["constants", "u-boot"]);
        let constant = |k: &str| constants.as_ref().and_then(|c| c.get(k));
        let prompt = self
            .opt_text(param("bootloader_prompt"))?
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| {
                self.bad(
                    &At {
                        v: &Value::Null,
                        path: format!("{}.parameters.bootloader_prompt", method.path),
                    },
                    "not set (a U-Boot device needs it)",
                )
            })?;
        let interrupt = if self.bool(param("needs_interrupt"), true)? {
            let prompt = match self.opt_text(param("interrupt_prompt"))? {
                Some(p) => p,
                None => self
                    .opt_text(constant("interrupt-prompt"))?
                    .unwrap_or_else(|| "Hit any key to stop autoboot".into()),
            };
            let ctrl = self.commands(constant("interrupt_ctrl_list"))?;
            let newline = self.bool(constant("interrupt-newline"), true)?;
            if !ctrl.is_empty() {
                let mut text = String::new();
                for c in &ctrl {
                    match c.as_bytes() {
                        [b] if b.is_ascii_alphabetic() => {
                            text.push(char::from(b.to_ascii_lowercase() - b'a' + 1));
                        }
                        _ => {
                            return Err(self.bad(
                                &constant("interrupt_ctrl_list").unwrap_or(method.clone()),
                                format!("'{c}' is not a control character name (a letter)"),
                            ));
                        }
                    }
                }
                Some(Interrupt {
                    prompt,
                    text,
                    newline: false,
                })
            } else {
                let text = match self.opt_text(param("interrupt_char"))? {
                    Some(t) => t,
                    None => self
                        .opt_text(constant("interrupt-character"))?
                        .unwrap_or_default(),
                };
                Some(Interrupt {
                    prompt,
                    text,
                    newline,
                })
            }
        } else {
            None
        };
        let boot_message = match self.opt_text(param("boot_message"))? {
            Some(m) => Some(m),
            None => self.opt_text(constant("final-message"))?,
        };
        let mut command_sets = BTreeMap::new();
        for name in method.keys() {
            if name == "parameters" {
                continue;
            }
            let Some(set) = method.get(name) else {
                continue;
            };
            let Some(commands) = set.get("commands") else {
                continue;
            };
            command_sets.insert(
                name.to_string(),
                CommandSet {
                    name: name.to_string(),
                    commands: self.commands(Some(commands))?,
                },
            );
        }
        let mut load_addresses = BTreeMap::new();
        for command in BootCommand::ALL {
            let Some(table) = root.at(&["parameters", command.as_str()]) else {
                continue;
            };
            let address = |what: &str| -> Result<Option<String>, DeviceError> {
                match table.get(what) {
                    None => Ok(None),
                    Some(a) => self.address(&a).map(Some),
                }
            };
            load_addresses.insert(
                command,
                LoadAddresses {
                    kernel: address("kernel")?,
                    ramdisk: address("ramdisk")?,
                    dtb: address("dtb")?,
                },
            );
        }
        let deploy_params = root.at(&["actions", "deploy", "parameters"]);
        let ramdisk_uboot_header = match deploy_params.as_ref().and_then(|p| p.get("add_header")) {
            None => false,
            Some(h) => match self.text(&h)?.as_str() {
                "u-boot" => true,
                other => return Err(self.bad(&h, format!("unknown header '{other}' (u-boot)"))),
            },
        };
        let arch_at = deploy_params
            .as_ref()
            .and_then(|p| p.get("mkimage_arch"))
            .or_else(|| param("mkimage_arch"));
        let mkimage_arch = match arch_at {
            None => None,
            Some(a) => {
                let arch = self.text(&a)?;
                if arch.is_empty()
                    || !arch
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(self.bad(&a, "expected one word (arm, arm64, …)"));
                }
                Some(arch)
            }
        };
        if ramdisk_uboot_header && mkimage_arch.is_none() {
            return Err(self.bad(
                &At {
                    v: &Value::Null,
                    path: "actions.deploy.parameters.mkimage_arch".into(),
                },
                "add_header: u-boot needs the architecture mkimage is given",
            ));
        }
        let error_messages = match constant("error-messages") {
            Some(e) => self.commands(Some(e))?,
            None => super::conf::DEFAULT_UBOOT_ERRORS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        Ok(Bootloader {
            interrupt,
            prompt,
            boot_message,
            command_sets,
            load_addresses,
            ramdisk_uboot_header,
            mkimage_arch,
            error_messages,
        })
    }

    /// A load address, typed into the bootloader: hexadecimal with `0x`, or decimal.
    fn address(&self, at: &At<'_>) -> Result<String, DeviceError> {
        let v = self.text(at)?;
        let v = v.trim();
        if super::is_address(v) {
            Ok(v.to_string())
        } else {
            Err(self.bad(at, format!("{v:?}: expected an address such as 0x40400000")))
        }
    }

    fn qemu(&self, method: &At<'_>) -> Result<Qemu, DeviceError> {
        let params = method.get("parameters");
        let param = |k: &str| params.as_ref().and_then(|p| p.get(k));
        let binary = self
            .opt_text(param("command"))?
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                self.bad(
                    &At {
                        v: &Value::Null,
                        path: format!("{}.parameters.command", method.path),
                    },
                    "not set (the QEMU program)",
                )
            })?;
        let options = self.commands(param("options"))?.join(" ");
        let mut job_options = Vec::new();
        if let Some(extra) = param("extra") {
            for option in self.commands(Some(extra.clone()))? {
                // These come from the job's `extra_options`: checked as the job's context was.
                check_context_value("extra_options", &Value::String(option.clone()))?;
                job_options.push(option);
            }
        }
        Ok(Qemu {
            binary,
            options,
            kernel_args: DEFAULT_KERNEL_ARGS.to_string(),
            job_options,
        })
    }

    fn deploy_methods(&self, root: &At<'_>) -> Vec<DeployMethod> {
        let methods = root
            .at(&["actions", "deploy", "methods"])
            .map(|m| m.keys())
            .unwrap_or_default();
        let mut out = Vec::new();
        for m in methods {
            match m {
                // LAVA deploys `to: tmpfs` on devices that have the image method.
                "image" => out.extend([DeployMethod::Tmpfs, DeployMethod::Image]),
                "tftp" => out.push(DeployMethod::Tftp),
                "nfs" => out.push(DeployMethod::Nfs),
                _ => {}
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn network(&self, root: &At<'_>) -> Result<Network, DeviceError> {
        let server_ip = match root.get("dispatcher_ip") {
            None => None,
            Some(a) => {
                let v = self.text(&a)?;
                match v.trim().parse::<IpAddr>() {
                    Ok(ip) => Some(ip.to_string()),
                    Err(_) => return Err(self.bad(&a, format!("{v:?}: expected an IP address"))),
                }
            }
        };
        let tftp_root = match root.get("tftp_root") {
            None => None,
            Some(a) => {
                let v = self.text(&a)?;
                if !Path::new(v.trim()).is_absolute() {
                    return Err(self.bad(&a, format!("{v:?}: expected an absolute path")));
                }
                Some(PathBuf::from(v.trim()))
            }
        };
        Ok(Network {
            server_ip,
            tftp_root,
        })
    }

    fn timeouts(&self, root: &At<'_>) -> Result<DeviceTimeouts, DeviceError> {
        let mut t = DeviceTimeouts::default();
        for (key, table) in [
            ("actions", &mut t.actions),
            ("connections", &mut t.connections),
        ] {
            let Some(map) = root.at(&["timeouts", key]) else {
                continue;
            };
            for name in map.keys() {
                let Some(at) = map.get(name) else { continue };
                table.insert(name.to_string(), self.timeout(&at)?);
            }
        }
        Ok(t)
    }

    /// A LAVA timeout: one of `days`, `hours`, `minutes`, `seconds` (a whole number).
    fn timeout(&self, at: &At<'_>) -> Result<Duration, DeviceError> {
        const UNITS: [(&str, u64); 4] = [
            ("days", 86_400),
            ("hours", 3_600),
            ("minutes", 60),
            ("seconds", 1),
        ];
        let mut found = None;
        for (unit, scale) in UNITS {
            let Some(v) = at.get(unit) else { continue };
            let n = match v.v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            let secs = n
                .and_then(|n| n.checked_mul(scale))
                .ok_or_else(|| self.bad(&v, "expected a whole number"))?;
            if found.is_some() {
                return Err(self.bad(at, "two of days, hours, minutes, seconds"));
            }
            found = Some(Duration::from_secs(secs));
        }
        found.ok_or_else(|| self.bad(at, "expected one of days, hours, minutes or seconds"))
    }
}

mod lenient;

#[cfg(test)]
mod tests;
