//! Boot command sets and LAVA's placeholders in them.
//!
//! A command set is one bootloader command per line. `{NAME}` (capitals, digits and `_`) is
//! one of LAVA's placeholders, filled per job; U-Boot's own variables (`${filesize}`) are left
//! alone. Filling follows LAVA: a placeholder whose value this job does not have (no dtb
//! deployed, so no `{DTB}`) drops its line, as a `tftp {DTB_ADDR} {DTB}` line is not needed
//! then; a placeholder that cannot be filled at all (an unknown name, an address the device
//! type does not define) is an error naming it.

use std::collections::BTreeMap;
use std::fmt;

use super::error::DeviceError;

/// A named list of bootloader commands, placeholders not yet filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSet {
    /// Its name (`ramdisk`, `nfs`; `default` for the seed's `boot_cmds`).
    pub name: String,
    /// One command per entry.
    pub commands: Vec<String>,
}

/// LAVA's placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Placeholder {
    /// The worker's address as the device sees it.
    ServerIp,
    /// Where the kernel is loaded.
    KernelAddr,
    /// Where the ramdisk is loaded.
    RamdiskAddr,
    /// Where the device tree is loaded.
    DtbAddr,
    /// The kernel's path on the TFTP server.
    Kernel,
    /// The ramdisk's path on the TFTP server.
    Ramdisk,
    /// The device tree's path on the TFTP server.
    Dtb,
    /// The boot command with its addresses (`booti 0x… 0x… 0x…`).
    Bootx,
    /// The NFS-exported root file system.
    NfsRootfs,
    /// The NFS server's address as the device sees it.
    NfsServerIp,
    /// Where a trusted-execution image is loaded (LAVA's `{TEE_ADDR}`).
    TeeAddr,
    /// A trusted-execution image's path on the TFTP server (LAVA's `{TEE}`): this
    /// dispatcher deploys none, so lines using it are left out.
    Tee,
}

impl Placeholder {
    /// Every placeholder and its name.
    pub const ALL: [(Placeholder, &'static str); 12] = [
        (Placeholder::ServerIp, "SERVER_IP"),
        (Placeholder::KernelAddr, "KERNEL_ADDR"),
        (Placeholder::RamdiskAddr, "RAMDISK_ADDR"),
        (Placeholder::DtbAddr, "DTB_ADDR"),
        (Placeholder::Kernel, "KERNEL"),
        (Placeholder::Ramdisk, "RAMDISK"),
        (Placeholder::Dtb, "DTB"),
        (Placeholder::Bootx, "BOOTX"),
        (Placeholder::NfsRootfs, "NFSROOTFS"),
        (Placeholder::NfsServerIp, "NFS_SERVER_IP"),
        (Placeholder::TeeAddr, "TEE_ADDR"),
        (Placeholder::Tee, "TEE"),
    ];

    /// The placeholder called `name` (without braces).
    pub fn from_name(name: &str) -> Option<Placeholder> {
        Placeholder::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(p, _)| *p)
    }

    /// Its name, without braces.
    pub fn name(self) -> &'static str {
        Placeholder::ALL
            .iter()
            .find(|(p, _)| *p == self)
            .map(|(_, n)| *n)
            .unwrap_or_else(|| unreachable!("every placeholder is listed"))
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.name())
    }
}

/// The `{NAME}`s of a command, in order: each known placeholder, or the unknown name. A `{`
/// right after `$` opens a U-Boot variable, not a placeholder.
pub fn placeholders(command: &str) -> Vec<Result<Placeholder, String>> {
    let mut found = Vec::new();
    let bytes = command.as_bytes();
    let mut i = 0;
    while let Some(open) = command[i..].find('{').map(|o| o + i) {
        i = open + 1;
        if open > 0 && bytes[open - 1] == b'$' {
            continue;
        }
        let Some(len) = command[i..].find('}') else {
            break;
        };
        let name = &command[i..i + len];
        let is_name = name.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if is_name {
            found.push(Placeholder::from_name(name).ok_or_else(|| name.to_string()));
            i += len + 1;
        }
    }
    found
}

/// A boot command of U-Boot, chosen by the kernel's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BootCommand {
    /// A uImage (`type: uimage`).
    Bootm,
    /// A 32-bit ARM zImage (`type: zimage`).
    Bootz,
    /// An arm64 or RISC-V Image (`type: image`).
    Booti,
}

impl BootCommand {
    /// Every boot command.
    pub const ALL: [BootCommand; 3] = [BootCommand::Bootm, BootCommand::Bootz, BootCommand::Booti];

    /// The command's name, which also prefixes its address keys (`booti_kernel_addr`).
    pub fn as_str(self) -> &'static str {
        match self {
            BootCommand::Bootm => "bootm",
            BootCommand::Bootz => "bootz",
            BootCommand::Booti => "booti",
        }
    }
}

impl fmt::Display for BootCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one boot command wants the kernel, ramdisk and device tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadAddresses {
    /// `{KERNEL_ADDR}`.
    pub kernel: Option<String>,
    /// `{RAMDISK_ADDR}`.
    pub ramdisk: Option<String>,
    /// `{DTB_ADDR}`.
    pub dtb: Option<String>,
}

/// What each placeholder becomes for one job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Substitutions {
    values: BTreeMap<Placeholder, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Text(String),
    /// The job has no such thing: the line is dropped.
    Absent(String),
    /// It cannot be filled: an error naming why.
    Undefined(String),
}

impl Substitutions {
    /// `placeholder` becomes `value`.
    pub fn set(&mut self, placeholder: Placeholder, value: impl Into<String>) {
        self.values.insert(placeholder, Value::Text(value.into()));
    }

    /// This job has no value for `placeholder` (`why`): lines using it are dropped.
    pub fn absent(&mut self, placeholder: Placeholder, why: impl Into<String>) {
        self.values.insert(placeholder, Value::Absent(why.into()));
    }

    /// `placeholder` cannot be filled (`why`): a command using it is refused.
    pub fn undefined(&mut self, placeholder: Placeholder, why: impl Into<String>) {
        self.values
            .insert(placeholder, Value::Undefined(why.into()));
    }

    /// The value of `placeholder`, when it has one.
    pub fn get(&self, placeholder: Placeholder) -> Option<&str> {
        match self.values.get(&placeholder) {
            Some(Value::Text(t)) => Some(t),
            _ => None,
        }
    }
}

/// Commands with their placeholders filled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filled {
    /// The commands to send.
    pub commands: Vec<String>,
    /// Commands left out, each with why (the job has no value for one of its placeholders).
    pub dropped: Vec<(String, String)>,
}

/// Fills `commands` from `subs`. Fails on the first placeholder that is unknown or cannot be
/// filled, naming it and its command.
pub fn fill(set: &str, commands: &[String], subs: &Substitutions) -> Result<Filled, DeviceError> {
    let mut out = Filled::default();
    'commands: for command in commands {
        let mut text = command.clone();
        for found in placeholders(command) {
            let placeholder = found.map_err(|name| DeviceError::UnknownPlaceholder {
                set: set.to_string(),
                name,
                command: command.clone(),
            })?;
            match subs.values.get(&placeholder) {
                Some(Value::Text(v)) => text = text.replace(&placeholder.to_string(), v),
                Some(Value::Absent(why)) => {
                    out.dropped
                        .push((command.clone(), format!("{placeholder}: {why}")));
                    continue 'commands;
                }
                Some(Value::Undefined(why)) => {
                    return Err(DeviceError::UndefinedPlaceholder {
                        set: set.to_string(),
                        placeholder: placeholder.to_string(),
                        command: command.clone(),
                        why: why.clone(),
                    });
                }
                None => {
                    return Err(DeviceError::UndefinedPlaceholder {
                        set: set.to_string(),
                        placeholder: placeholder.to_string(),
                        command: command.clone(),
                        why: "this job gives it no value".to_string(),
                    });
                }
            }
        }
        out.commands.push(text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_capitals_and_uboot_variables_are_not() {
        let found =
            placeholders("tftp {KERNEL_ADDR} {KERNEL}; setenv s ${filesize} {} {lower} {DTBX}");
        assert_eq!(
            found,
            [
                Ok(Placeholder::KernelAddr),
                Ok(Placeholder::Kernel),
                Err("DTBX".to_string())
            ]
        );
        assert!(placeholders("echo ${BOOTX}").is_empty());
        assert!(placeholders("echo {").is_empty());
        assert_eq!(Placeholder::NfsServerIp.to_string(), "{NFS_SERVER_IP}");
    }

    #[test]
    fn filling_drops_absent_lines_and_refuses_undefined_ones() {
        let mut subs = Substitutions::default();
        subs.set(Placeholder::KernelAddr, "0x40400000");
        subs.set(Placeholder::Kernel, "7/kernel/Image");
        subs.absent(Placeholder::Dtb, "the job deploys no dtb");
        subs.set(Placeholder::DtbAddr, "0x43f00000");
        let commands: Vec<String> = [
            "tftp {KERNEL_ADDR} {KERNEL}",
            "tftp {DTB_ADDR} {DTB}",
            "setenv initrd_size ${filesize}",
        ]
        .map(String::from)
        .to_vec();
        let filled = fill("ramdisk", &commands, &subs).unwrap();
        assert_eq!(
            filled.commands,
            [
                "tftp 0x40400000 7/kernel/Image",
                "setenv initrd_size ${filesize}"
            ]
        );
        assert_eq!(filled.dropped.len(), 1);
        subs.undefined(
            Placeholder::DtbAddr,
            "the device type defines no booti_dtb_addr",
        );
        subs.set(Placeholder::Dtb, "7/dtb/x.dtb");
        let e = fill("ramdisk", &commands, &subs).unwrap_err();
        assert_eq!(
            e.to_string(),
            "boot command set 'ramdisk': placeholder {DTB_ADDR} in 'tftp {DTB_ADDR} {DTB}' cannot be filled: the device type defines no booti_dtb_addr"
        );
        let e = fill("x", &["boot {ROOTFS}".to_string()], &subs).unwrap_err();
        assert_eq!(
            e.to_string(),
            "boot command set 'x': unknown placeholder {ROOTFS} in 'boot {ROOTFS}'"
        );
    }
}
