//! Hands `debian/control`'s facts to cargo-deb: the build copy of a crate's `Cargo.toml` gets
//! the package's synopsis, extended description, section, priority, maintainer and relations
//! written into `[package.metadata.deb]`. The committed manifests hold only what goes where
//! (assets, units, scripts), so each fact lives in one place; a committed manifest that sets
//! one of the injected keys is an error.

use std::path::Path;

use toml::{Table, Value};

use crate::control::{Control, description, relations};
use crate::{Error, Result};

/// The `[package.metadata.deb]` keys that come from `debian/control`.
pub const INJECTED: [&str; 7] = [
    "name",
    "maintainer",
    "section",
    "priority",
    "extended-description",
    "depends",
    "recommends",
];

/// What `debian/control` says about one binary package, in cargo-deb's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebFields {
    /// The package name.
    pub name: String,
    /// The one-line synopsis.
    pub synopsis: String,
    /// The extended description (paragraphs separated by empty lines).
    pub extended: String,
    /// The `Maintainer` (from the package, else the source paragraph).
    pub maintainer: String,
    /// `Section` (from the package, else the source paragraph).
    pub section: String,
    /// `Priority` (from the package, else the source paragraph).
    pub priority: String,
    /// `Depends`, `${shlibs:Depends}` as cargo-deb's `$auto`.
    pub depends: Vec<String>,
    /// `Recommends`.
    pub recommends: Vec<String>,
    /// `Suggests`.
    pub suggests: Vec<String>,
}

impl DebFields {
    /// The fields of package `name` in `control`.
    pub fn from_control(control: &Control, name: &str) -> Result<DebFields> {
        let p = control.package(name)?;
        let field = |f: &str| p.get(f).or_else(|| control.source.get(f));
        let required = |f: &str| {
            field(f).map(str::to_string).ok_or_else(|| Error::Debian {
                path: control.path.clone(),
                message: format!("package {name}: no {f} field"),
            })
        };
        let subst = |v: &str| (v == "${shlibs:Depends}").then(|| "$auto".to_string());
        let rel = |f: &str| relations(p.get(f).unwrap_or(""), &subst);
        let (synopsis, extended) = description(&required("Description")?);
        Ok(DebFields {
            name: name.to_string(),
            synopsis,
            extended,
            maintainer: required("Maintainer")?,
            section: required("Section")?,
            priority: required("Priority")?,
            depends: rel("Depends"),
            recommends: rel("Recommends"),
            suggests: rel("Suggests"),
        })
    }
}

/// Writes `fields` into the manifest at `path` (a build copy, never the committed one).
pub fn inject(path: &Path, fields: &DebFields) -> Result<()> {
    let bad = |message: String| Error::Manifest {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    let mut doc: Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.message().to_string()))?;
    let package = doc
        .get_mut("package")
        .and_then(Value::as_table_mut)
        .ok_or_else(|| bad("no [package] table".into()))?;
    package.insert("description".into(), fields.synopsis.clone().into());
    let metadata = package
        .entry("metadata")
        .or_insert_with(|| Table::new().into())
        .as_table_mut()
        .ok_or_else(|| bad("package.metadata is not a table".into()))?;
    let deb = metadata
        .entry("deb")
        .or_insert_with(|| Table::new().into())
        .as_table_mut()
        .ok_or_else(|| bad("package.metadata.deb is not a table".into()))?;
    for key in INJECTED.iter().chain(&["suggests"]) {
        if deb.contains_key(*key) {
            return Err(bad(format!(
                "[package.metadata.deb] sets '{key}', which belongs in debian/control"
            )));
        }
    }
    let mut set = |k: &str, v: &str| {
        if !v.is_empty() {
            deb.insert(k.into(), v.to_string().into());
        }
    };
    set("name", &fields.name);
    set("maintainer", &fields.maintainer);
    set("section", &fields.section);
    set("priority", &fields.priority);
    set("extended-description", &fields.extended);
    set("depends", &fields.depends.join(", "));
    set("recommends", &fields.recommends.join(", "));
    set("suggests", &fields.suggests.join(", "));
    let out = toml::to_string(&doc).map_err(|e| bad(e.to_string()))?;
    std::fs::write(path, out).map_err(Error::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_facts_reach_the_manifest() {
        let control = Control::read(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../debian/control"
        )))
        .unwrap();
        let f = DebFields::from_control(&control, "lava-server").unwrap();
        assert!(f.depends.contains(&"$auto".to_string()), "{:?}", f.depends);
        assert!(!f.depends.iter().any(|d| d.contains("misc:")));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Cargo.toml");
        std::fs::write(
            &path,
            "[package]\nname = \"x\"\n[package.metadata.deb]\nassets = []\n",
        )
        .unwrap();
        inject(&path, &f).unwrap();
        let doc: Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        let deb = &doc["package"]["metadata"]["deb"];
        assert_eq!(deb["section"].as_str(), Some("net"));
        assert!(
            doc["package"]["description"]
                .as_str()
                .unwrap()
                .contains("server")
        );
        std::fs::write(
            &path,
            "[package]\nname = \"x\"\n[package.metadata.deb]\ndepends = \"a\"\n",
        )
        .unwrap();
        let e = inject(&path, &f).unwrap_err().to_string();
        assert!(e.contains("'depends'"), "{e}");
    }
}
