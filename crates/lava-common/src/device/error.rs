//! Why a device cannot be described, or a command set cannot be filled for a job.

use crate::conf::{ConfError, Location};

/// A device that cannot be used as configured, or a boot command that cannot be filled.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// A config file problem (interpolation, a missing layer).
    #[error(transparent)]
    Conf(#[from] ConfError),
    /// A key the device needs is not set.
    #[error("device {device}: {key} is not set ({why}); set it in {file}")]
    Missing {
        /// The device's hostname.
        device: String,
        /// The dictionary key that is not set (`connection_command`, …).
        key: String,
        /// Why it is needed.
        why: String,
        /// The device's own file, where it can be set.
        file: String,
    },
    /// A value that cannot be used.
    #[error("{at}: {key} = {value:?}: {why}")]
    BadValue {
        /// Where it is set.
        at: Location,
        /// The key as written there.
        key: String,
        /// The value as written, quoted in the message.
        value: String,
        /// Why it cannot be used.
        why: String,
    },
    /// A device dictionary that did not render.
    #[error("device dictionary {}: {source}", .dictionary.display())]
    Render {
        /// The dictionary file.
        dictionary: std::path::PathBuf,
        /// What the template engine said (boxed: it is large, and rare).
        source: Box<crate::jinja::RenderError>,
    },
    /// The YAML a device dictionary rendered to is not a device LAVA would accept, or asks
    /// for something this dispatcher cannot do.
    #[error("device dictionary {}: rendered device yaml: {path}: {why}", .dictionary.display())]
    Yaml {
        /// The dictionary file.
        dictionary: std::path::PathBuf,
        /// The key's path in the rendered YAML (`actions.boot.methods.u-boot.parameters`).
        path: String,
        /// What LAVA's device schema, or this dispatcher, refuses there.
        why: String,
    },
    /// A job `context` value that cannot be used.
    #[error("context.{key}: {why}")]
    BadContext {
        /// The context key.
        key: String,
        /// What about its value is refused; the message ends with it.
        why: String,
    },
    /// A `{NAME}` that is not one of LAVA's placeholders.
    #[error("boot command set '{set}': unknown placeholder {{{name}}} in '{command}'")]
    UnknownPlaceholder {
        /// The command set (or `job` for commands given by the job).
        set: String,
        /// The name, without braces.
        name: String,
        /// The command it is in, as written.
        command: String,
    },
    /// A placeholder that cannot be filled for this job and device.
    #[error(
        "boot command set '{set}': placeholder {placeholder} in '{command}' cannot be filled: {why}"
    )]
    UndefinedPlaceholder {
        /// The command set (or `job`).
        set: String,
        /// The placeholder, with braces.
        placeholder: String,
        /// The command it is in, as written.
        command: String,
        /// What the job or device lacks for it.
        why: String,
    },
}
