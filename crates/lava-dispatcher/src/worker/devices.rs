//! The worker's devices: the `*.conf` files and LAVA device dictionaries (`*.jinja2`) in
//! `/etc/lava-dispatcher/devices/`.
//!
//! Scanned on every poll, so moving a device's file from one worker to another moves the
//! device at the next poll of each (the seed's remote-worker rule). A file that does not
//! load is left out with a warning naming it, once per distinct error; a device with both a
//! `.conf` and a `.jinja2` is left out too, since which one runs would be a guess.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lava_common::conf::DeviceConfig;
use lava_common::device::{DICTIONARY_EXTENSION, DeviceSource};
use lava_common::settings::Settings;
use lava_common::worker_api::DeviceReport;

/// One scan's result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceScan {
    /// The usable devices, sorted by name.
    pub devices: Vec<DeviceReport>,
    /// The files left out: (file name, why).
    pub invalid: Vec<(String, String)>,
}

/// Reads every `*.conf` in `settings.devices_dir()`; a missing directory means no devices.
pub fn scan(settings: &Settings) -> DeviceScan {
    let dir = settings.devices_dir();
    let mut out = DeviceScan::default();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return out,
        Err(e) => {
            out.invalid.push((dir.display().to_string(), e.to_string()));
            return out;
        }
    };
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        let (Some(stem), Some(ext)) = (
            p.file_stem().and_then(|s| s.to_str()),
            p.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        if (ext == "conf" || ext == DICTIONARY_EXTENSION) && !stem.starts_with('.') {
            files
                .entry(stem.to_string())
                .or_default()
                .push(ext.to_string());
        }
    }
    for (name, exts) in files {
        if exts.len() > 1 {
            out.invalid.push((
                format!("{name}.{DICTIONARY_EXTENSION}"),
                format!("{name}.conf is there too: keep one of the two"),
            ));
            continue;
        }
        let file = format!("{name}.{}", exts[0]);
        match device_type(settings, &name, &exts[0]) {
            Ok(device_type) => out.devices.push(DeviceReport {
                hostname: name,
                device_type,
            }),
            Err(why) => out.invalid.push((file, why)),
        }
    }
    out
}

fn device_type(settings: &Settings, name: &str, ext: &str) -> Result<String, String> {
    if ext == DICTIONARY_EXTENSION {
        return source(settings, name)
            .map(|s| s.device_type())
            .map_err(|e| e.to_string());
    }
    let conf = DeviceConfig::load(&settings.dispatcher_etc, name).map_err(|e| e.to_string())?;
    match conf.get("device_type") {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err("no device_type".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The file that describes device `name` on this worker: its dictionary when it has one,
/// else its `.conf`.
pub fn device_file(settings: &Settings, name: &str) -> PathBuf {
    let dictionary = settings
        .devices_dir()
        .join(format!("{name}.{DICTIONARY_EXTENSION}"));
    if dictionary.is_file() {
        dictionary
    } else {
        settings.device_conf(name)
    }
}

/// Device `name` as this worker has it, from either kind of file.
pub fn source(settings: &Settings, name: &str) -> anyhow::Result<DeviceSource> {
    lava_common::conf::check_name("device", name)?;
    let file = device_file(settings, name);
    if file.extension().is_some_and(|e| e == DICTIONARY_EXTENSION) {
        return Ok(DeviceSource::dictionary(
            &file,
            &lava_common::jinja::search_path(settings),
        )?);
    }
    Ok(DeviceSource::Conf(DeviceConfig::load(
        &settings.dispatcher_etc,
        name,
    )?))
}

/// The TFTP roots jobs of this worker use: the dispatcher's `tftp.root` and every device's
/// own `tftp_root`.
pub fn tftp_roots(settings: &Settings) -> Vec<std::path::PathBuf> {
    let mut roots = Vec::new();
    if let Ok(d) = lava_common::dispatcher_settings::DispatcherSettings::load(settings) {
        roots.push(d.tftp_root);
    }
    for device in scan(settings).devices {
        let Ok(source) = source(settings, &device.hostname) else {
            continue;
        };
        if let Ok(d) = source.device(&serde_json::Map::new())
            && let Some(root) = d.network.tftp_root
            && !roots.contains(&root)
        {
            roots.push(root);
        }
    }
    roots
}

/// Removes the TFTP directories of jobs whose `lava-dispatch` is gone (killed, crashed, lost
/// with a worker restart): a job removes its own when it ends, these are what is left.
pub fn sweep_tftp(settings: &Settings) {
    for root in tftp_roots(settings) {
        for dir in crate::actions::tftp::sweep(&root) {
            tracing::info!("removed the stale TFTP directory {}", dir.display());
        }
    }
}

/// Logs the devices that appeared or went and the files that stopped (or started) loading,
/// comparing with the previous scan: quiet while nothing changes.
pub fn log_changes(before: &DeviceScan, now: &DeviceScan) {
    let old: BTreeMap<&str, &str> = before
        .devices
        .iter()
        .map(|d| (d.hostname.as_str(), d.device_type.as_str()))
        .collect();
    let new: BTreeMap<&str, &str> = now
        .devices
        .iter()
        .map(|d| (d.hostname.as_str(), d.device_type.as_str()))
        .collect();
    for (name, ty) in &new {
        if old.get(name) != Some(ty) {
            let _span = tracing::info_span!("device", device = %name).entered();
            tracing::info!(device_type = %ty, "device configured on this worker");
        }
    }
    for name in old.keys().filter(|n| !new.contains_key(*n)) {
        let _span = tracing::info_span!("device", device = %name).entered();
        tracing::info!("device no longer configured on this worker");
    }
    for (file, why) in &now.invalid {
        if !before.invalid.iter().any(|(f, w)| f == file && w == why) {
            tracing::warn!("device file {file} left out: {why}");
        }
    }
}
