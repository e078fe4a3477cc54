//! The second device reader: LAVA 2023's Jinja2 device dictionaries.
//!
//! `devices/NAME.jinja2` extends its device type's template and sets variables; rendered with
//! the job's `context` (every key of it, as LAVA does) it gives LAVA's device YAML, which
//! [`from_lava_yaml`] reads into the same [`Device`] the `.conf` reader fills.
//! [`DeviceSource`] holds either kind of file, so what runs a job asks for a `Device` with the
//! job's context and never looks at which file it came from.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::DeviceError;
use super::lava_yaml::from_lava_yaml;
use super::{Device, from_conf};
use crate::conf::DeviceConfig;
use crate::jinja::Renderer;

/// The file extension of a device dictionary.
pub const DICTIONARY_EXTENSION: &str = "jinja2";

/// The largest device dictionary read.
const MAX_DICTIONARY_BYTES: u64 = 1024 * 1024;

/// A device's description, from either reader.
#[derive(Debug)]
pub enum DeviceSource {
    /// The seed's `.conf` layers.
    Conf(DeviceConfig),
    /// A LAVA 2023 device dictionary (boxed: its renderer is large).
    Dictionary(Box<Dictionary>),
}

/// A device dictionary and the renderer that finds its templates.
#[derive(Debug)]
pub struct Dictionary {
    /// The dictionary file.
    pub path: PathBuf,
    /// The device's name: the file's name without `.jinja2`.
    pub hostname: String,
    /// Its type: the template it extends, without `.jinja2`.
    pub device_type: String,
    /// Context the worker sets for every job, over the job's own (`no_kvm` when
    /// `LAVA_QEMU_ACCEL=tcg`): [`DeviceSource::force_context`].
    forced: Map<String, Value>,
    renderer: Renderer,
}

impl DeviceSource {
    /// Reads the dictionary at `path`, whose templates are found in its own directory and
    /// then in `types` (see [`crate::jinja::search_path`]).
    pub fn dictionary(path: &Path, types: &[PathBuf]) -> Result<DeviceSource, DeviceError> {
        let text = read_dictionary(path)?;
        let hostname = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        crate::conf::check_name("device", &hostname)?;
        let device_type = dictionary_device_type(&text).ok_or_else(|| DeviceError::Yaml {
            dictionary: path.to_path_buf(),
            path: "(dictionary)".into(),
            why: "it does not {% extends %} a device-type template, so its type is unknown".into(),
        })?;
        crate::conf::check_name("device type", &device_type)?;
        Ok(DeviceSource::Dictionary(Box::new(Dictionary {
            path: path.to_path_buf(),
            hostname,
            device_type,
            forced: Map::new(),
            renderer: Renderer::for_dictionary(path, types),
        })))
    }

    /// Sets `key` in every job's context for a dictionary, over what the job says (the
    /// worker's own setting, such as `no_kvm` where `/dev/kvm` cannot run guests). A `.conf`
    /// device takes the worker's settings as a layer instead; this returns false for one.
    pub fn force_context(&mut self, key: &str, value: Value) -> bool {
        match self {
            DeviceSource::Conf(_) => false,
            DeviceSource::Dictionary(d) => {
                d.forced.insert(key.to_string(), value);
                true
            }
        }
    }

    /// The device's name.
    pub fn hostname(&self) -> String {
        match self {
            DeviceSource::Conf(c) => c
                .get("hostname")
                .ok()
                .flatten()
                .filter(|h| !h.trim().is_empty())
                .or_else(|| {
                    c.layers()
                        .last()
                        .and_then(|p| p.file_stem())
                        .map(|s| s.to_string_lossy().into_owned())
                })
                .unwrap_or_default(),
            DeviceSource::Dictionary(d) => d.hostname.clone(),
        }
    }

    /// The device's type.
    pub fn device_type(&self) -> String {
        match self {
            DeviceSource::Conf(c) => c.get("device_type").ok().flatten().unwrap_or_default(),
            DeviceSource::Dictionary(d) => d.device_type.clone(),
        }
    }

    /// The device as a job with `context` sees it.
    pub fn device(&self, context: &Map<String, Value>) -> Result<Device, DeviceError> {
        match self {
            DeviceSource::Conf(conf) => from_conf(conf, context),
            DeviceSource::Dictionary(d) => {
                let read = |context: &Map<String, Value>| {
                    let text = d.render(context)?;
                    from_lava_yaml(&text, &d.hostname, &d.device_type, &d.path)
                };
                super::job_context::check_values(context)?;
                let mut full = context.clone();
                full.extend(d.forced.clone());
                let device = read(&full)?;
                if !context.is_empty() {
                    // What the device is without the job: the job may not change its
                    // commands (see `job_context`).
                    let without = read(&d.forced)?;
                    super::job_context::check(&d.path, context, &device, &without)?;
                }
                Ok(device)
            }
        }
    }
}

impl Dictionary {
    /// The device YAML for a job with `context` (LAVA's `device-dictionary --review`).
    pub fn render(&self, context: &Map<String, Value>) -> Result<String, DeviceError> {
        let name = format!("{}.{DICTIONARY_EXTENSION}", self.hostname);
        self.renderer
            .render(&name, context)
            .map_err(|source| DeviceError::Render {
                dictionary: self.path.clone(),
                source: Box::new(source),
            })
    }
}

/// Reads the dictionary at `path` and the device YAML it renders to with `context`, into a
/// [`Device`]: the reader in one call.
pub fn from_dictionary(
    path: &Path,
    types: &[PathBuf],
    context: &Map<String, Value>,
) -> Result<Device, DeviceError> {
    DeviceSource::dictionary(path, types)?.device(context)
}

fn read_dictionary(path: &Path) -> Result<String, DeviceError> {
    let read = |why: String| {
        DeviceError::Conf(crate::conf::ConfError::Read {
            path: path.to_path_buf(),
            source: std::io::Error::other(why),
        })
    };
    let meta = std::fs::metadata(path).map_err(|e| read(e.to_string()))?;
    if meta.len() > MAX_DICTIONARY_BYTES {
        return Err(read(format!(
            "{} bytes, more than a device dictionary may have (1 MiB)",
            meta.len()
        )));
    }
    std::fs::read_to_string(path).map_err(|e| read(e.to_string()))
}

/// The device type a dictionary's text names: the template of its `{% extends %}`, without
/// `.jinja2` (`{% extends 'beaglebone-black.jinja2' %}` is `beaglebone-black`).
pub fn dictionary_device_type(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(open) = rest.find("{%") {
        rest = &rest[open + 2..];
        let close = rest.find("%}")?;
        let tag = rest[..close].trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
        rest = &rest[close + 2..];
        let Some(arg) = tag.strip_prefix("extends") else {
            continue;
        };
        let arg = arg.trim();
        let quote = arg.chars().next().filter(|q| *q == '\'' || *q == '"')?;
        let name = arg[1..].strip_suffix(quote)?;
        return name
            .strip_suffix(&format!(".{DICTIONARY_EXTENSION}"))
            .map(str::to_string);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_is_the_template_extended() {
        let t = "{# a comment #}\n{% extends 'beaglebone-black.jinja2' %}\n{% set x = 1 %}";
        assert_eq!(
            dictionary_device_type(t).as_deref(),
            Some("beaglebone-black")
        );
        assert_eq!(
            dictionary_device_type("{%- extends \"qemu.jinja2\" -%}").as_deref(),
            Some("qemu")
        );
        assert_eq!(dictionary_device_type("{% set x = 1 %}"), None);
        assert_eq!(dictionary_device_type("{% extends base %}"), None);
        assert_eq!(dictionary_device_type("{% extends 'x.yaml' %}"), None);
    }
}
