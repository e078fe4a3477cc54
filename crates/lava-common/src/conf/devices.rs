//! The devices of a dispatcher host: the `*.conf` files in `/etc/lava-dispatcher/devices/`,
//! each named. The worker reports them on every poll; the server finds a device's file here
//! on a host that runs both. A file that does not load is left out, with why.
//!
//! A device's name is its `hostname` key, as in LAVA 2014, where `add_device.py` wrote
//! `foo.conf` with `hostname = foo`; the file's name stands in only when the key is absent.
//! So the seed's `cp examples/devices/kvm.conf /etc/lava-dispatcher/devices/` serves the
//! device `kvm01` that `examples/models/kvm.json` adds, with a warning that names both.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{DeviceConfig, device_path};
use crate::worker_api::DeviceReport;

/// One scan's result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceScan {
    /// The directory scanned.
    pub dir: PathBuf,
    /// The usable devices, sorted by name.
    pub devices: Vec<DeviceReport>,
    /// Each usable device's file, by device name.
    pub files: BTreeMap<String, PathBuf>,
    /// The files left out: (file name, why).
    pub invalid: Vec<(String, String)>,
    /// The files served under their `hostname` rather than their own name: (file name,
    /// hostname).
    pub renamed: Vec<(String, String)>,
}

impl DeviceScan {
    /// The file of device `name`, if this scan found it.
    pub fn file_of(&self, name: &str) -> Option<&Path> {
        self.files.get(name).map(PathBuf::as_path)
    }
}

/// Reads every `*.conf` in `dispatcher_etc/devices`; a missing directory means no devices.
pub fn scan(dispatcher_etc: &Path) -> DeviceScan {
    let dir = dispatcher_etc.join("devices");
    let mut out = DeviceScan {
        dir: dir.clone(),
        ..DeviceScan::default()
    };
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return out,
        Err(e) => {
            out.invalid.push((dir.display().to_string(), e.to_string()));
            return out;
        }
    };
    let mut stems: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let p = e.path();
            let stem = p.file_stem()?.to_str()?.to_string();
            (p.extension().is_some_and(|x| x == "conf") && !stem.starts_with('.')).then_some(stem)
        })
        .collect();
    stems.sort();
    // name -> (file name, device type), and the names more than one file declares.
    let mut found: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for stem in stems {
        let file = format!("{stem}.conf");
        match identity(dispatcher_etc, &dir.join(&file), &stem) {
            Ok((name, device_type)) => found.entry(name).or_default().push((file, device_type)),
            Err(why) => out.invalid.push((file, why)),
        }
    }
    for (name, mut files) in found {
        if files.len() > 1 {
            let all: Vec<&str> = files.iter().map(|(f, _)| f.as_str()).collect();
            for (file, _) in &files {
                out.invalid.push((
                    file.clone(),
                    format!(
                        "device '{name}' is declared by {}: keep it in one file",
                        all.join(" and ")
                    ),
                ));
            }
            continue;
        }
        let (file, device_type) = files.remove(0);
        if file != format!("{name}.conf") {
            out.renamed.push((file.clone(), name.clone()));
        }
        out.files.insert(name.clone(), dir.join(&file));
        out.devices.push(DeviceReport {
            hostname: name.into(),
            device_type: device_type.into(),
        });
    }
    out.invalid.sort();
    out
}

/// The device name (`hostname`, else the file's name) and type of one device file.
fn identity(dispatcher_etc: &Path, file: &Path, stem: &str) -> Result<(String, String), String> {
    let conf = DeviceConfig::load_file(dispatcher_etc, file).map_err(|e| e.to_string())?;
    let device_type = match conf.get("device_type") {
        Ok(Some(t)) => t,
        Ok(None) => return Err("no device_type".into()),
        Err(e) => return Err(e.to_string()),
    };
    let name = match conf.get("hostname") {
        Ok(Some(h)) if !h.trim().is_empty() => h.trim().to_string(),
        Ok(_) => stem.to_string(),
        Err(e) => return Err(e.to_string()),
    };
    crate::ids::check_name("device", &name).map_err(|e| format!("hostname: {e}"))?;
    Ok((name, device_type))
}

/// The file of device `name` in `dispatcher_etc/devices`: `NAME.conf` when its `hostname`
/// is `name` or absent, else the one file that says `hostname = NAME`.
pub fn find(dispatcher_etc: &Path, name: &str) -> Option<PathBuf> {
    let own = device_path(dispatcher_etc, name);
    if let Ok(file) = super::ConfFile::read(&own) {
        match file.get("hostname").map(str::trim) {
            None | Some("") => return Some(own),
            Some(h) if h == name => return Some(own),
            Some(_) => {}
        }
    }
    scan(dispatcher_etc).file_of(name).map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn etc() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for d in ["devices", "device-types"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::write(
            dir.path().join("device-types/kvm.conf"),
            "client_type = qemu\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn find_takes_the_hostname_over_the_file_name() {
        let dir = etc();
        let devices = dir.path().join("devices");
        std::fs::write(
            devices.join("kvm.conf"),
            "device_type = kvm\nhostname = kvm01\n",
        )
        .unwrap();
        std::fs::write(devices.join("plain.conf"), "device_type = kvm\n").unwrap();
        assert_eq!(find(dir.path(), "kvm01"), Some(devices.join("kvm.conf")));
        assert_eq!(find(dir.path(), "kvm"), None);
        assert_eq!(find(dir.path(), "plain"), Some(devices.join("plain.conf")));
        assert_eq!(find(dir.path(), "missing"), None);
        let s = scan(dir.path());
        assert_eq!(s.renamed, [("kvm.conf".to_string(), "kvm01".to_string())]);
    }
}
