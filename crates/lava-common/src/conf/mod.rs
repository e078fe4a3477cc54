//! Device and device-type config files: `/etc/lava-dispatcher/devices/NAME.conf` and
//! `/etc/lava-dispatcher/device-types/TYPE.conf`, in the classic dispatcher's format.
//!
//! The format is Python `ConfigParser`'s without section headers:
//!
//! ```text
//! # comment (also `;`)
//! device_type = mx53loco
//! connection_command: telnet %(hostname)s 4006
//! boot_cmds = setenv autoload no
//!     boot
//! ```
//!
//! - The key is everything before the first `=` or `:`, trimmed and lowercased; the value is
//!   the rest, trimmed, so values may hold `=` and `:` (`-machine accel=kvm:tcg`).
//! - An indented line continues the value above it (joined with `\n`); a blank line ends it.
//! - A repeated key: the later value wins, in the place of the first.
//! - `%(name)s` is replaced by `name`'s value from the merged layers, `%%` is `%`
//!   ([`DeviceConfig::get`]); layers are defaults < device type < device ([`DeviceConfig`]).
//!
//! Code map: `parse` (one file, [`ConfFile`]), `layers` (the merged view), `interpolate`,
//! `load` (the directory layout), `devices` (a host's devices, named by `hostname`), `write` (editing and atomic no-clobber writing), `error`.
//!
//! Architecture invariant: a malformed line is an error naming file and line; an unknown key
//! is not an error, it is kept and listed by [`DeviceConfig::unknown_keys`].

pub mod devices;
mod error;
mod interpolate;
mod layers;
mod load;
mod parse;
mod write;

pub use error::{ConfError, Location};
pub use interpolate::escape;
pub use layers::{DeviceConfig, KNOWN_KEYS, KNOWN_PREFIXES};
pub use load::{DEFAULTS_FILE, check_name, device_path, device_type_path};
pub use parse::{ConfFile, Entry};
