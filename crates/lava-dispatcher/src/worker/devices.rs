//! The worker's devices: the `*.conf` files in `/etc/lava-dispatcher/devices/`, named by
//! their `hostname` ([`lava_common::conf::devices`]), and LAVA device dictionaries
//! (`NAME.jinja2`, named by their file as LAVA 2023 names them).
//!
//! Scanned on every poll, so moving a device's file from one worker to another moves the
//! device at the next poll of each (the seed's remote-worker rule). A file that does not
//! load is left out with a warning naming it, once per distinct error; a device with both a
//! `.conf` and a `.jinja2` is left out too, since which one runs would be a guess.

use std::collections::BTreeMap;
use std::path::Path;

use lava_common::conf::DeviceConfig;
use lava_common::device::{DICTIONARY_EXTENSION, DeviceSource};
use lava_common::host_paths::HostPaths;
use lava_common::worker_api::DeviceReport;

pub use lava_common::conf::devices::DeviceScan;

/// Reads every `*.conf` and `*.jinja2` in the host's devices directory; a missing directory
/// means no devices.
pub fn scan(host: &HostPaths) -> DeviceScan {
    let mut out = lava_common::conf::devices::scan(&host.dispatcher_etc);
    add_dictionaries(host, &mut out);
    out
}

/// Adds the device dictionaries of `out.dir` to a scan of its `.conf` files.
fn add_dictionaries(host: &HostPaths, out: &mut DeviceScan) {
    let Ok(entries) = std::fs::read_dir(&out.dir) else {
        return;
    };
    let mut stems: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let p = e.path();
            let stem = p.file_stem()?.to_str()?.to_string();
            (p.extension().is_some_and(|x| x == DICTIONARY_EXTENSION) && !stem.starts_with('.'))
                .then_some(stem)
        })
        .collect();
    stems.sort();
    let types = lava_common::jinja::search_path(host);
    for name in stems {
        let file = format!("{name}.{DICTIONARY_EXTENSION}");
        if let Some(conf) = out.files.remove(&name) {
            let conf = conf
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.invalid
                .push((file, format!("{conf} is there too: keep one of the two")));
            out.devices.retain(|d| d.hostname != name);
            out.renamed.retain(|(_, n)| *n != name);
            continue;
        }
        if let Err(e) = lava_common::ids::check_name("device", &name) {
            out.invalid.push((file, e.to_string()));
            continue;
        }
        let path = out.dir.join(&file);
        match DeviceSource::dictionary(&path, &types) {
            Ok(source) => {
                out.devices.push(DeviceReport {
                    hostname: name.clone().into(),
                    device_type: source.device_type().into(),
                });
                out.files.insert(name, path);
            }
            Err(e) => out.invalid.push((file, e.to_string())),
        }
    }
    out.devices.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    out.invalid.sort();
}

/// The device a file of this worker describes, from either kind of file.
pub fn source(host: &HostPaths, file: &Path) -> anyhow::Result<DeviceSource> {
    if file.extension().is_some_and(|e| e == DICTIONARY_EXTENSION) {
        return Ok(DeviceSource::dictionary(
            file,
            &lava_common::jinja::search_path(host),
        )?);
    }
    Ok(DeviceSource::Conf(DeviceConfig::load_file(
        &host.dispatcher_etc,
        file,
    )?))
}

/// The TFTP roots jobs of this worker use: the dispatcher's `tftp.root` and every device's
/// own `tftp_root`.
pub fn tftp_roots(host: &HostPaths) -> Vec<std::path::PathBuf> {
    let mut roots = Vec::new();
    if let Ok(d) = lava_common::dispatcher_settings::DispatcherSettings::load(host) {
        roots.push(d.tftp_root);
    }
    for file in scan(host).files.values() {
        let Ok(source) = source(host, file) else {
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
pub fn sweep_tftp(host: &HostPaths) {
    for root in tftp_roots(host) {
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
    for (file, name) in &now.renamed {
        if !before.renamed.iter().any(|(f, n)| f == file && n == name) {
            tracing::warn!(
                "device file {file} says hostname = {name}: the device is served as '{name}' (rename the file to {name}.conf to silence this)"
            );
        }
    }
}
