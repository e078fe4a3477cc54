//! `debian/control`: the one place for package descriptions and relations.
//!
//! A small deb822 reader: paragraphs of `Field: value` lines, continuation lines starting with
//! a space, `#` comments. Values keep their continuation lines so relations and descriptions
//! can be handed on as they are written.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// One paragraph: fields in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paragraph {
    /// (name, value) pairs; a multi-line value keeps its `\n` and leading spaces.
    pub fields: Vec<(String, String)>,
}

impl Paragraph {
    /// The value of `name` (case-insensitive), if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The parsed control file.
#[derive(Debug, Clone)]
pub struct Control {
    /// Where it was read from.
    pub path: PathBuf,
    /// The `Source:` paragraph.
    pub source: Paragraph,
    /// The `Package:` paragraphs.
    pub packages: Vec<Paragraph>,
}

impl Control {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<Control> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        Control::parse(path, &text)
    }

    /// Parses `text` (read from `path`, named in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Control> {
        let bad = |line: usize, message: String| Error::Debian {
            path: path.to_path_buf(),
            message: format!("line {line}: {message}"),
        };
        let mut paragraphs: Vec<Paragraph> = Vec::new();
        let mut current = Paragraph::default();
        for (i, line) in text.lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            if line.trim().is_empty() {
                if !current.fields.is_empty() {
                    paragraphs.push(std::mem::take(&mut current));
                }
                continue;
            }
            if line.starts_with([' ', '\t']) {
                let Some((_, value)) = current.fields.last_mut() else {
                    return Err(bad(i + 1, "continuation line without a field".into()));
                };
                value.push('\n');
                value.push_str(line);
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(bad(i + 1, format!("'{line}' is not 'Field: value'")));
            };
            current
                .fields
                .push((name.trim().to_string(), value.trim().to_string()));
        }
        if !current.fields.is_empty() {
            paragraphs.push(current);
        }
        let mut it = paragraphs.into_iter();
        let source = it
            .next()
            .filter(|p| p.get("Source").is_some())
            .ok_or_else(|| bad(1, "the first paragraph must be the Source paragraph".into()))?;
        Ok(Control {
            path: path.to_path_buf(),
            source,
            packages: it.collect(),
        })
    }

    /// The paragraph of binary package `name`.
    pub fn package(&self, name: &str) -> Result<&Paragraph> {
        self.packages
            .iter()
            .find(|p| p.get("Package") == Some(name))
            .ok_or_else(|| Error::Debian {
                path: self.path.clone(),
                message: format!("no 'Package: {name}' paragraph"),
            })
    }

    /// The names of every binary package, in file order.
    pub fn package_names(&self) -> Vec<&str> {
        self.packages
            .iter()
            .filter_map(|p| p.get("Package"))
            .collect()
    }
}

/// A relation field as a list: `a, b (>= 1) | c` → `["a", "b (>= 1) | c"]`, substitution
/// variables (`${misc:Depends}`) dropped unless `keep` maps them to a value.
pub fn relations(value: &str, keep: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    value
        .split(',')
        .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|r| !r.is_empty())
        .filter_map(|r| {
            if r.starts_with("${") {
                keep(&r)
            } else {
                Some(r)
            }
        })
        .collect()
}

/// A `Description` split into its synopsis and its extended text (continuation lines with the
/// leading space removed and ` .` lines made empty).
pub fn description(value: &str) -> (String, String) {
    let mut lines = value.lines();
    let synopsis = lines.next().unwrap_or("").trim().to_string();
    let extended = lines
        .map(|l| {
            let l = l.strip_prefix(' ').unwrap_or(l);
            if l == "." { "" } else { l }
        })
        .collect::<Vec<_>>()
        .join("\n");
    (synopsis, extended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_project_control_file() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../debian/control"));
        let c = Control::read(path).unwrap();
        assert_eq!(c.source.get("Source"), Some("lava"));
        assert_eq!(
            c.package_names(),
            ["lava", "lava-server", "lava-dispatcher", "lava-dev"]
        );
        let deps = relations(c.package("lava").unwrap().get("Depends").unwrap(), &|_| {
            None
        });
        assert!(deps.contains(&"postgresql".to_string()), "{deps:?}");
        let (syn, ext) = description(
            c.package("lava-server")
                .unwrap()
                .get("Description")
                .unwrap(),
        );
        assert!(syn.contains("server"));
        assert!(ext.contains("\n\n"), "{ext}");
    }

    #[test]
    fn errors_name_the_line() {
        let e = Control::parse(Path::new("c"), "Source: x\n\nPackage y\n").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
    }
}
