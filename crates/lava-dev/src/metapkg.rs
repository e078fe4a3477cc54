//! The `lava` metapackage: no binaries, so it is assembled with `dpkg-deb` from a staged tree
//! (cargo-deb packages crates), from the same `debian/control` paragraph.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::control::{Control, description, relations};
use crate::{Error, Result};

/// What the metapackage holds besides its control file.
#[derive(Debug, Clone)]
pub struct MetaPackage<'a> {
    /// The package name (`lava`).
    pub name: &'a str,
    /// The full version.
    pub version: &'a str,
    /// The build time, for every mtime.
    pub time: i64,
    /// `/usr/share/doc/NAME/` files: (name in the doc dir, content).
    pub docs: Vec<(&'a str, Vec<u8>)>,
    /// Maintainer scripts (`postinst`, `postrm`, …) for `DEBIAN/`: (name, content).
    pub scripts: Vec<(&'a str, Vec<u8>)>,
}

impl MetaPackage<'_> {
    /// The `DEBIAN/control` text, from `control`'s paragraph for this package.
    pub fn control_text(&self, control: &Control, installed_kib: u64) -> Result<String> {
        let p = control.package(self.name)?;
        let field = |f: &str| p.get(f).or_else(|| control.source.get(f)).unwrap_or("");
        let subst = |v: &str| {
            v.contains("${binary:Version}")
                .then(|| v.replace("${binary:Version}", self.version))
        };
        let relation = |f: &str| {
            let v = p.get(f).unwrap_or("");
            // `${binary:Version}` sits inside a relation, so substitute before splitting.
            relations(&v.replace("${binary:Version}", self.version), &subst).join(", ")
        };
        let (synopsis, extended) = description(field("Description"));
        let mut text = format!(
            "Package: {}\nVersion: {}\nArchitecture: {}\nMaintainer: {}\nInstalled-Size: {}\n",
            self.name,
            self.version,
            field("Architecture"),
            field("Maintainer"),
            installed_kib
        );
        for f in ["Depends", "Recommends", "Suggests"] {
            let r = relation(f);
            if !r.is_empty() {
                text.push_str(&format!("{f}: {r}\n"));
            }
        }
        for f in ["Section", "Priority", "Homepage"] {
            if !field(f).is_empty() {
                text.push_str(&format!("{f}: {}\n", field(f)));
            }
        }
        text.push_str(&format!("Description: {synopsis}\n"));
        for line in extended.lines() {
            text.push_str(if line.is_empty() { " ." } else { " " });
            text.push_str(line);
            text.push('\n');
        }
        Ok(text)
    }

    /// Stages the tree in `stage` and builds `OUTPUT/NAME_VERSION_all.deb` with `dpkg-deb`.
    pub fn build(&self, control: &Control, stage: &Path, output: &Path) -> Result<PathBuf> {
        if stage.exists() {
            std::fs::remove_dir_all(stage).map_err(Error::io(stage))?;
        }
        let doc = stage.join("usr/share/doc").join(self.name);
        std::fs::create_dir_all(&doc).map_err(Error::io(&doc))?;
        let mut kib = 0;
        for (name, content) in &self.docs {
            let path = doc.join(name);
            std::fs::write(&path, content).map_err(Error::io(&path))?;
            kib += (content.len() as u64).div_ceil(1024);
        }
        let debian = stage.join("DEBIAN");
        std::fs::create_dir_all(&debian).map_err(Error::io(&debian))?;
        let control_path = debian.join("control");
        let text = self.control_text(control, kib + 4)?;
        std::fs::write(&control_path, text).map_err(Error::io(&control_path))?;
        for (name, content) in &self.scripts {
            let path = debian.join(name);
            std::fs::write(&path, content).map_err(Error::io(&path))?;
        }
        set_tree_times(stage, self.time)?;
        // Maintainer scripts are programs: 0755 (the tree above is 0644).
        for (name, _) in &self.scripts {
            use std::os::unix::fs::PermissionsExt as _;
            let path = debian.join(name);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(Error::io(&path))?;
        }
        let deb = output.join(format!("{}_{}_all.deb", self.name, self.version));
        let command = format!("dpkg-deb --build {}", stage.display());
        crate::command::output(
            Command::new("dpkg-deb")
                .args(["--root-owner-group", "-Zxz", "--build"])
                .arg(stage)
                .arg(&deb)
                .env("SOURCE_DATE_EPOCH", self.time.to_string()),
            &command,
        )?;
        Ok(deb)
    }
}

/// Sets every file and directory under `dir` to mode 0644/0755 and mtime `time`.
fn set_tree_times(dir: &Path, time: i64) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(time.max(0) as u64);
    let entries = std::fs::read_dir(dir).map_err(Error::io(dir))?;
    for entry in entries {
        let path = entry.map_err(Error::io(dir))?.path();
        if path.is_dir() {
            set_tree_times(&path, time)?;
        } else {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
                .map_err(Error::io(&path))?;
            let f = File::options()
                .write(true)
                .open(&path)
                .map_err(Error::io(&path))?;
            f.set_modified(when).map_err(Error::io(&path))?;
        }
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .map_err(Error::io(dir))?;
    let d = File::open(dir).map_err(Error::io(dir))?;
    d.set_modified(when).map_err(Error::io(dir))?;
    Ok(())
}
