//! The worker's devices: the `*.conf` files in `/etc/lava-dispatcher/devices/`, named by
//! their `hostname` ([`lava_common::conf::devices`]).
//!
//! Scanned on every poll, so moving a `.conf` file from one worker to another moves the
//! device at the next poll of each (the seed's remote-worker rule). A file that does not
//! load is left out with a warning naming it, once per distinct error.

use std::collections::BTreeMap;

use lava_common::conf::DeviceConfig;
use lava_common::host_paths::HostPaths;

pub use lava_common::conf::devices::DeviceScan;

/// Reads every `*.conf` in the host's devices directory; a missing directory means no
/// devices.
pub fn scan(host: &HostPaths) -> DeviceScan {
    lava_common::conf::devices::scan(&host.dispatcher_etc)
}

/// The TFTP roots jobs of this worker use: the dispatcher's `tftp.root` and every device's
/// own `tftp_root`.
pub fn tftp_roots(host: &HostPaths) -> Vec<std::path::PathBuf> {
    let mut roots = Vec::new();
    if let Ok(d) = lava_common::dispatcher_settings::DispatcherSettings::load(host) {
        roots.push(d.tftp_root);
    }
    let devices = scan(host);
    for file in devices.files.values() {
        let Ok(conf) = DeviceConfig::load_file(&host.dispatcher_etc, file) else {
            continue;
        };
        if let Ok(d) = lava_common::device::from_conf(&conf, &serde_json::Map::new())
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
