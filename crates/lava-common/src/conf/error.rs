//! Errors for device and device-type config files, and where in a file a value came from.
//!
//! Every message names the file, and the line where there is one, in the `path:line: …` form
//! that editors and `grep -n` users already know, so an admin can jump straight to the fault.

use std::fmt;
use std::path::PathBuf;

/// Where a value was defined: a file and, for values read from disk, a 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file the value belongs to.
    pub path: PathBuf,
    /// The line of its `key = value` line; `None` for values set in memory and not yet written.
    pub line: Option<usize>,
}

impl Location {
    /// A location in `path` at `line`.
    pub fn new(path: impl Into<PathBuf>, line: Option<usize>) -> Location {
        Location {
            path: path.into(),
            line,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.path.display()),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

/// Anything that can go wrong reading, merging, expanding or writing config files.
#[derive(Debug, thiserror::Error)]
pub enum ConfError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The config file that could not be read.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file (or its temporary sibling).
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// `write_new` refused to replace a file that is already there.
    #[error("{} already exists; not overwriting it", .0.display())]
    Exists(PathBuf),
    /// A line that is neither blank, a comment, a continuation nor `key = value`.
    #[error("{at}: malformed line {text:?} (expected key = value)")]
    Malformed {
        /// File and line.
        at: Location,
        /// The offending line.
        text: String,
    },
    /// A line with nothing before its `=` or `:`.
    #[error("{at}: empty key in line {text:?}")]
    EmptyKey {
        /// File and line.
        at: Location,
        /// The offending line.
        text: String,
    },
    /// An indented line with no `key = value` line open above it.
    #[error("{at}: malformed line {text:?} (continuation line with no key above it)")]
    Continuation {
        /// File and line.
        at: Location,
        /// The offending line.
        text: String,
    },
    /// A `%(name)s` naming a key that no layer sets.
    #[error("{at}: key {key:?} refers to %({name})s, but no config layer sets {name:?}")]
    Missing {
        /// Where the referring value was defined.
        at: Location,
        /// The key whose value holds the reference.
        key: String,
        /// The key it refers to.
        name: String,
    },
    /// References nested more than ten deep, which in practice means a loop.
    #[error("{at}: interpolation too deep expanding key {key:?} (a %(name)s reference loop?)")]
    TooDeep {
        /// Where the key being expanded was defined.
        at: Location,
        /// The key being expanded.
        key: String,
    },
    /// A value whose references expand past the bounds (an expansion bomb: keys that each
    /// refer several times to the next).
    #[error("{at}: key {key:?} expands past {bytes} bytes or {references} references")]
    TooLarge {
        /// Where the key being expanded was defined.
        at: Location,
        /// The key being expanded.
        key: String,
        /// The bound on the expanded value, in bytes.
        bytes: usize,
        /// The bound on the references followed.
        references: usize,
    },
    /// A `%` not followed by `%` or `(name)s`.
    #[error("{at}: key {key:?}: '%' must be followed by '%' or '(name)s', found {found:?}")]
    BadPercent {
        /// Where the value was defined.
        at: Location,
        /// The key whose value holds the stray `%`.
        key: String,
        /// The text from the `%` on (shortened).
        found: String,
    },
    /// A device file without a `device_type` key, so its type file cannot be found.
    #[error("{}: no device_type key, so the device type config cannot be found", .0.display())]
    NoDeviceType(PathBuf),
    /// The device's type has no config file.
    #[error("{at}: device type {device_type:?} has no config file: {} does not exist", path.display())]
    NoTypeFile {
        /// Where the device file names its type.
        at: Location,
        /// The type it names.
        device_type: String,
        /// The type file that is missing.
        path: PathBuf,
    },
    /// A device or device-type name that cannot be a file name in a config directory.
    #[error("invalid {what} name {name:?}: {reason}")]
    BadName {
        /// `device` or `device type`.
        what: &'static str,
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key or value that could not be written so that it reads back unchanged.
    #[error("{}: cannot store key {key:?}: {reason}", path.display())]
    Unwritable {
        /// The file being edited.
        path: PathBuf,
        /// The key being set.
        key: String,
        /// What is wrong with the key or value.
        reason: &'static str,
    },
    /// Several problems, all reported at once so one edit can fix them all.
    #[error("{}", many(.0))]
    Many(Vec<ConfError>),
}

impl ConfError {
    /// Folds a list of errors into one: `Ok` for none, the error itself for one, `Many` for more.
    /// Nested `Many`s are flattened and repeated messages dropped, because an interpolation
    /// error shows up once for its own key and again for every key that refers to it.
    pub fn collect(errors: Vec<ConfError>) -> Result<(), ConfError> {
        let mut flat = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<ConfError> = errors.into_iter().rev().collect();
        while let Some(e) = stack.pop() {
            match e {
                ConfError::Many(inner) => stack.extend(inner.into_iter().rev()),
                e => {
                    if seen.insert(e.to_string()) {
                        flat.push(e);
                    }
                }
            }
        }
        match flat.len() {
            0 => Ok(()),
            1 => Err(flat.remove(0)),
            _ => Err(ConfError::Many(flat)),
        }
    }
}

fn many(errors: &[ConfError]) -> String {
    let mut out = format!("{} problems:", errors.len());
    for e in errors {
        out.push_str("\n  ");
        out.push_str(&e.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_shows_line_when_known() {
        assert_eq!(Location::new("/a.conf", Some(7)).to_string(), "/a.conf:7");
        assert_eq!(Location::new("/a.conf", None).to_string(), "/a.conf");
    }

    #[test]
    fn malformed_message_names_file_and_line() {
        let e = ConfError::Malformed {
            at: Location::new("/etc/lava-dispatcher/devices/foo.conf", Some(7)),
            text: "abc".into(),
        };
        assert_eq!(
            e.to_string(),
            r#"/etc/lava-dispatcher/devices/foo.conf:7: malformed line "abc" (expected key = value)"#
        );
    }

    #[test]
    fn collect_flattens_and_dedups() {
        let one = || ConfError::Exists("/x".into());
        assert!(ConfError::collect(vec![]).is_ok());
        assert!(matches!(
            ConfError::collect(vec![one()]),
            Err(ConfError::Exists(_))
        ));
        assert!(matches!(
            ConfError::collect(vec![one(), ConfError::Many(vec![one()])]),
            Err(ConfError::Exists(_))
        ));
        let two = ConfError::collect(vec![one(), ConfError::Exists("/y".into())]).unwrap_err();
        assert_eq!(
            two.to_string(),
            "2 problems:\n  /x already exists; not overwriting it\n  /y already exists; not overwriting it"
        );
    }
}
