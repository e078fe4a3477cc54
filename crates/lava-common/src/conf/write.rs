//! Editing a config file in memory and writing it out, keeping key order.
//!
//! Only keys and values are written: comments and blank lines of a parsed file are not kept,
//! because the writer exists for generated files (the admin helpers' new device files).
//! `set` refuses what could not be read back unchanged, so `parse(write(x)) == x` holds.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::error::ConfError;
use super::parse::{ConfFile, trim};

/// Indentation of continuation lines; any whitespace would do, four spaces is what LAVA used.
const INDENT: &str = "    ";

impl ConfFile {
    /// Sets `key` (lowercased) to `value`, replacing an existing value where it stands or
    /// appending a new key. Lines of a multi-line `value` are separated by `\n`.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfError> {
        let key = key.to_lowercase();
        if let Err(reason) = check_key(&key).and_then(|()| check_value(value)) {
            return Err(ConfError::Unwritable {
                path: self.path.clone(),
                key,
                reason,
            });
        }
        self.upsert(key, value.to_owned(), None);
        Ok(())
    }

    /// Removes `key`, returning its raw value if it was set.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let key = key.to_lowercase();
        let i = self.entries.iter().position(|e| e.key == key)?;
        Some(self.entries.remove(i).value)
    }

    /// Writes the file to its path, atomically, failing with [`ConfError::Exists`] if
    /// something is already there. Readers never see a half-written file, and two admins
    /// adding the same device cannot overwrite each other.
    pub fn write_new(&self) -> Result<(), ConfError> {
        let tmp = temp_path(&self.path);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|source| ConfError::Write {
                path: tmp.clone(),
                source,
            })?;
        let result = self.fill_and_link(&mut file, &tmp);
        drop(file);
        // The temporary name is ours alone (create_new), and whether the link worked or not
        // it must not be left behind in the config directory.
        let _ = fs::remove_file(&tmp);
        result
    }

    fn fill_and_link(&self, file: &mut File, tmp: &Path) -> Result<(), ConfError> {
        let write_err = |source| ConfError::Write {
            path: tmp.to_owned(),
            source,
        };
        file.write_all(self.to_string().as_bytes())
            .map_err(write_err)?;
        file.sync_all().map_err(write_err)?;
        // Unlike rename, a hard link never replaces an existing file: this is the no-clobber
        // step, and it makes the complete file appear under its name in one go.
        fs::hard_link(tmp, &self.path).map_err(|source| {
            if source.kind() == ErrorKind::AlreadyExists {
                ConfError::Exists(self.path.clone())
            } else {
                ConfError::Write {
                    path: self.path.clone(),
                    source,
                }
            }
        })?;
        // Best effort: persist the new directory entry. Some filesystems refuse to sync a
        // directory, and the file is already complete and in place, so failure is ignored.
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let _ = File::open(dir).and_then(|d| d.sync_all());
        Ok(())
    }
}

/// `PATH.tmp-PID-N` next to `path`: the same directory (so the link cannot cross
/// filesystems), unique per process and per call (so threads do not collide).
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}-{n}", std::process::id()));
    path.with_file_name(name)
}

/// Why `key` (already lowercased) could not be read back as the same key, if it could not.
fn check_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() {
        Err("the key is empty")
    } else if trim(key) != key {
        Err("the key has leading or trailing whitespace")
    } else if key.contains(['=', ':', '\n']) {
        Err("the key contains '=', ':' or a line break")
    } else if key.starts_with(['#', ';']) {
        Err("the key starts with '#' or ';' and would read back as a comment")
    } else {
        Ok(())
    }
}

/// Why `value` could not be read back unchanged, if it could not.
fn check_value(value: &str) -> Result<(), &'static str> {
    for (i, line) in value.split('\n').enumerate() {
        if trim(line) != line {
            return Err("a line of the value has leading or trailing whitespace");
        }
        // A blank continuation line would end the value; a `#` one would be a comment.
        if i > 0 && line.is_empty() {
            return Err("the value has an empty line after its first");
        }
        if i > 0 && line.starts_with(['#', ';']) {
            return Err(
                "a line after the first starts with '#' or ';' and would read back as a comment",
            );
        }
    }
    Ok(())
}

/// `key = value` per entry, in order; later lines of a value indented as continuations.
impl fmt::Display for ConfFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for entry in &self.entries {
            let mut lines = entry.value.split('\n');
            match lines.next() {
                Some(first) if !first.is_empty() => writeln!(f, "{} = {first}", entry.key)?,
                // No trailing space after `=` for an empty first line.
                _ => writeln!(f, "{} =", entry.key)?,
            }
            for line in lines {
                writeln!(f, "{INDENT}{line}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pairs(file: &ConfFile) -> Vec<(String, String)> {
        let entries = file.entries().iter();
        entries
            .map(|e| (e.key().to_owned(), e.value().to_owned()))
            .collect()
    }

    #[test]
    fn keeps_key_order_and_replaces_in_place() {
        let mut f = ConfFile::new("/x/devices/b.conf");
        f.set("hostname", "b").unwrap();
        f.set("Device_Type", "mx53loco").unwrap();
        f.set("boot_cmds", "setenv a b\nboot").unwrap();
        f.set("password", "").unwrap();
        f.set("hostname", "board01").unwrap();
        assert_eq!(f.remove("PASSWORD").as_deref(), Some(""));
        assert_eq!(f.remove("password"), None);
        f.set("empty_first", "\nsecond").unwrap();
        assert_eq!(
            f.to_string(),
            "hostname = board01\ndevice_type = mx53loco\nboot_cmds = setenv a b\n    boot\nempty_first =\n    second\n"
        );
        let back = ConfFile::parse(f.path(), &f.to_string()).unwrap();
        assert_eq!(pairs(&back), pairs(&f));
    }

    #[test]
    fn set_refuses_what_would_not_read_back() {
        let cases = [
            ("", "v", "the key is empty"),
            (" k", "v", "the key has leading or trailing whitespace"),
            ("a=b", "v", "the key contains '=', ':' or a line break"),
            ("a:b", "v", "the key contains '=', ':' or a line break"),
            (
                "# k",
                "v",
                "the key starts with '#' or ';' and would read back as a comment",
            ),
            (
                "k",
                " v",
                "a line of the value has leading or trailing whitespace",
            ),
            ("k", "a\n\nb", "the value has an empty line after its first"),
            (
                "k",
                "a\n#b",
                "a line after the first starts with '#' or ';' and would read back as a comment",
            ),
        ];
        let mut f = ConfFile::new("/x/a.conf");
        for (key, value, reason) in cases {
            let err = f.set(key, value).unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "/x/a.conf: cannot store key {:?}: {reason}",
                    key.to_lowercase()
                )
            );
        }
        assert!(f.entries().is_empty());
    }

    #[test]
    fn write_new_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("board01.conf");
        let mut f = ConfFile::new(&path);
        f.set("device_type", "mx53loco").unwrap();
        f.write_new().unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "device_type = mx53loco\n"
        );

        f.set("device_type", "other").unwrap();
        let err = f.write_new().unwrap_err();
        assert!(matches!(&err, ConfError::Exists(p) if *p == path), "{err}");
        assert_eq!(
            err.to_string(),
            format!("{} already exists; not overwriting it", path.display())
        );
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "device_type = mx53loco\n"
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["board01.conf"], "temporary files left behind");
    }

    #[test]
    fn write_new_names_the_path_on_io_errors() {
        let f = ConfFile::new("/nonexistent/lava/devices/x.conf");
        let err = f.write_new().unwrap_err().to_string();
        assert!(
            err.starts_with("cannot write /nonexistent/lava/devices/x.conf.tmp-"),
            "{err}"
        );
    }

    /// Lines that `set` must accept: trimmed, and for later lines non-empty and not comments.
    fn value() -> impl Strategy<Value = String> {
        let line = "[a-zA-Z0-9=:%(){}<>,./#; -]{0,12}".prop_map(|s| s.trim().to_owned());
        (line.clone(), prop::collection::vec(line, 0..4)).prop_map(|(first, rest)| {
            let rest = rest
                .into_iter()
                .map(|l| l.trim_start_matches(['#', ';', ' ']).to_owned())
                .filter(|l| !l.is_empty());
            std::iter::once(first)
                .chain(rest)
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    proptest! {
        #[test]
        fn written_files_read_back(
            entries in prop::collection::vec(("[a-zA-Z_][a-zA-Z0-9_. -]{0,10}[a-z]", value()), 0..8)
        ) {
            let mut f = ConfFile::new("/p.conf");
            for (key, value) in &entries {
                f.set(key, value).unwrap();
            }
            let back = ConfFile::parse(f.path(), &f.to_string()).unwrap();
            prop_assert_eq!(pairs(&back), pairs(&f));
        }

        #[test]
        fn anything_set_reads_back(key in any::<String>(), value in any::<String>()) {
            let mut f = ConfFile::new("/p.conf");
            if f.set(&key, &value).is_ok() {
                let back = ConfFile::parse(f.path(), &f.to_string()).unwrap();
                prop_assert_eq!(pairs(&back), pairs(&f));
            }
        }

        #[test]
        fn parser_never_panics_and_its_output_rewrites(
            text in prop_oneof![any::<String>(), "[ \t#;=:%()aB\n\r\u{feff}]{0,80}"]
        ) {
            if let Ok(f) = ConfFile::parse(Path::new("/p.conf"), &text) {
                let mut copy = ConfFile::new("/p.conf");
                for e in f.entries() {
                    copy.set(e.key(), e.value()).unwrap();
                }
                let back = ConfFile::parse(f.path(), &copy.to_string()).unwrap();
                prop_assert_eq!(pairs(&back), pairs(&f));
            }
        }
    }
}
