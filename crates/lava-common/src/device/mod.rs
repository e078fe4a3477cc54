//! The device model: one typed description of a device that the dispatcher works from,
//! whichever file it came from.
//!
//! A device is its connection, its power commands, its bootloader (prompts, named boot
//! command sets with LAVA's placeholders, load addresses per boot command), its login, its
//! QEMU settings, the deploy methods it supports, the worker's network as the device sees it
//! and its timeouts. Two readers fill it: the seed's `.conf` layers ([`from_conf`]) and LAVA
//! 2023's Jinja2 device dictionaries ([`from_dictionary`]: rendered with the job's `context`
//! into LAVA's device YAML, read by [`from_lava_yaml`]); [`DeviceSource`] is either, so the
//! dispatcher never knows which reader a device came from.
//!
//! Code map: `commands` (command sets, placeholders, boot commands and addresses), `conf`
//! (the `.conf` reader and the job `context` keys it applies), `dictionary` (finding and
//! rendering a `.jinja2` dictionary), `job_context` (what a job's context may not change in a
//! rendered device), `lava_yaml` (LAVA's device YAML), `error`.

mod commands;
mod conf;
mod dictionary;
mod error;
mod job_context;
mod lava_yaml;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use commands::{
    BootCommand, CommandSet, LoadAddresses, Placeholder, Substitutions, fill, placeholders,
};
pub use conf::{CONTEXT_KEYS, DEFAULT_UBOOT_ERRORS, check_context_value, from_conf};
pub use dictionary::{
    DICTIONARY_EXTENSION, DeviceSource, Dictionary, dictionary_device_type, from_dictionary,
};
pub use error::DeviceError;
pub use lava_yaml::from_lava_yaml;

/// Everything the dispatcher needs to know about one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The device's name (`hostname`).
    pub hostname: String,
    /// Its device type's name: the template its dictionary extends.
    pub device_type: String,
    /// What kind of device it is, which decides how seed-era jobs deploy and boot.
    pub client_type: ClientType,
    /// Its console, for devices reached over a serial line.
    pub connection: Option<Connection>,
    /// Its power commands.
    pub power: Power,
    /// Its bootloader, for devices booted by U-Boot.
    pub bootloader: Option<Bootloader>,
    /// How to log in once booted.
    pub login: Login,
    /// How to start it, for QEMU devices.
    pub qemu: Option<Qemu>,
    /// Where its deploys may put images, first the one seed-era kernel deploys use.
    pub deploy_methods: Vec<DeployMethod>,
    /// The worker's network as the device sees it.
    pub network: Network,
    /// The device's own action and connection timeouts (a job's override them).
    pub timeouts: DeviceTimeouts,
}

/// What kind of device: the seed's `client_type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientType {
    /// A QEMU guest on the worker.
    Qemu,
    /// A board booted by its bootloader (U-Boot) over a serial console.
    Bootloader,
    /// Anything else: powered on and left to boot by itself.
    Other(String),
}

/// A console reached by a command (`telnet localhost 4006`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The command line (split into words by the dispatcher, never run by a shell).
    pub command: String,
    /// A delay between characters sent (slow bootloaders drop fast input).
    pub char_delay: Duration,
}

/// A device's power commands: each a list of command lines run in order (one from a
/// `.conf`; LAVA's device dictionaries may give a list), empty when the device has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Power {
    /// Power cycles the device (`hard_reset_command`).
    pub hard_reset: Vec<String>,
    /// Switches it on (`power_on_cmd`, LAVA's `power_on_command`).
    pub power_on: Vec<String>,
    /// Switches it off (`power_off_cmd`, LAVA's `power_off_command`).
    pub power_off: Vec<String>,
}

/// A U-Boot style bootloader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootloader {
    /// How to stop the autoboot countdown, when there is one.
    pub interrupt: Option<Interrupt>,
    /// The bootloader's prompt, waited for after every command.
    pub prompt: String,
    /// What the bootloader prints when the kernel starts (`boot_message`).
    pub boot_message: Option<String>,
    /// The named command sets (`ramdisk`, `nfs`, …; `default` is the seed's `boot_cmds`).
    pub command_sets: BTreeMap<String, CommandSet>,
    /// Load addresses per boot command.
    pub load_addresses: BTreeMap<BootCommand, LoadAddresses>,
    /// Whether a ramdisk must carry a U-Boot header (`mkimage -T ramdisk`).
    pub ramdisk_uboot_header: bool,
    /// The architecture `mkimage -A` is given for that header.
    pub mkimage_arch: Option<String>,
    /// Texts that mean the bootloader failed (a TFTP error, a bad image), looked for while
    /// its commands run.
    pub error_messages: Vec<String>,
}

impl Bootloader {
    /// The command set `name`.
    pub fn command_set(&self, name: &str) -> Option<&CommandSet> {
        self.command_sets.get(name)
    }
}

/// The autoboot interrupt: wait for `prompt`, send `text` and (when `newline`) a line end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupt {
    /// What the bootloader prints while counting down (`interrupt_prompt`).
    pub prompt: String,
    /// What to send to stop it (`interrupt_char`; empty: just the line end). LAVA's
    /// `interrupt_ctrl_list` becomes the control characters themselves (`c` is `\x03`).
    pub text: String,
    /// Whether a line end follows `text` (LAVA's `interrupt-newline`; control characters
    /// are sent alone).
    pub newline: bool,
}

/// How to log in after a boot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Login {
    /// Text the board prints to ask for a username, matched literally; none or empty: no login.
    pub login_prompt: Option<String>,
    /// The user to log in as.
    pub username: Option<String>,
    /// Text the board prints to ask for the password, matched literally (default `Password:`).
    pub password_prompt: Option<String>,
    /// The password (empty means none is asked).
    pub password: Option<String>,
    /// A regular expression for the shell prompt after login.
    pub shell_prompt: Option<String>,
}

/// How to start a QEMU device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qemu {
    /// The program (`qemu-system-x86_64`).
    pub binary: String,
    /// Its options, with `{KERNEL}`, `{RAMDISK}`, `{DISK_IMAGE}`, `{DTB}` placeholders.
    pub options: String,
    /// The kernel command line for kernel boots.
    pub kernel_args: String,
    /// Options that came from the job (LAVA's `extra_options` context key, rendered into the
    /// device's `extra`): they pass the QEMU allow-list like a job's own arguments.
    pub job_options: Vec<String>,
}

/// Where a deploy may put a job's images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeployMethod {
    /// Files on the worker (QEMU reads them directly).
    Tmpfs,
    /// Files served over TFTP to the bootloader.
    Tftp,
    /// A root file system exported over NFS.
    Nfs,
    /// A whole disk image.
    Image,
}

impl DeployMethod {
    /// LAVA's name (`to:` in a YAML deploy).
    pub fn as_str(self) -> &'static str {
        match self {
            DeployMethod::Tmpfs => "tmpfs",
            DeployMethod::Tftp => "tftp",
            DeployMethod::Nfs => "nfs",
            DeployMethod::Image => "image",
        }
    }
}

/// The worker as the device sees it; unset values come from the dispatcher's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    /// The worker's address as the device reaches it (`{SERVER_IP}`), when this device sees
    /// it under an address of its own (`server_ip`).
    pub server_ip: Option<String>,
    /// The directory this device's TFTP server serves, when not the worker's (`tftp_root`).
    pub tftp_root: Option<PathBuf>,
}

/// A device's own timeouts, by LAVA action name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceTimeouts {
    /// Whole actions (`action_timeout_NAME`).
    pub actions: BTreeMap<String, Duration>,
    /// Single waits on the console during an action (`connection_timeout_NAME`).
    pub connections: BTreeMap<String, Duration>,
}
/// Whether `v` is a load address as it may be typed into a bootloader: hexadecimal with `0x`
/// or decimal, at most 18 characters (a 64-bit address).
pub(crate) fn is_address(v: &str) -> bool {
    let digits = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()),
    };
    digits && v.len() <= 18
}
