//! One config file: its `key = value` entries in file order, read from text.
//!
//! The rules are Python `ConfigParser`'s as the classic dispatcher used them, minus sections:
//! the key ends at the first `=` or `:`, keys are lowercased, `#`/`;` lines are comments, an
//! indented line continues the value above it. Every bad line is reported, not just the first.

use std::path::{Path, PathBuf};

use super::error::{ConfError, Location};

/// One `key = value` setting and the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub(super) key: String,
    pub(super) value: String,
    pub(super) line: Option<usize>,
}

impl Entry {
    /// The key, lowercased.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The raw value, before `%(name)s` interpolation; continuation lines joined with `\n`.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The 1-based line of the (last) `key = value` line, or `None` if set in memory.
    pub fn line(&self) -> Option<usize> {
        self.line
    }
}

/// One parsed (or about to be written) config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfFile {
    pub(super) path: PathBuf,
    pub(super) entries: Vec<Entry>,
}

impl ConfFile {
    /// An empty file that will live at `path`.
    pub fn new(path: impl Into<PathBuf>) -> ConfFile {
        ConfFile {
            path: path.into(),
            entries: Vec::new(),
        }
    }

    /// Reads and parses the file at `path`.
    pub fn read(path: impl AsRef<Path>) -> Result<ConfFile, ConfError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfError::Read {
            path: path.to_owned(),
            source,
        })?;
        ConfFile::parse(path, &text)
    }

    /// Parses `text`; `path` is where it lives, used in messages and kept for writing.
    pub fn parse(path: &Path, text: &str) -> Result<ConfFile, ConfError> {
        let mut file = ConfFile::new(path);
        let mut errors = Vec::new();
        // Index into `entries` of the value that an indented line would continue.
        let mut open: Option<usize> = None;
        // Files saved by Windows editors start with a byte-order mark; it is not part of a key.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, line) in text.lines().enumerate() {
            let at = || Location::new(path, Some(index + 1));
            let trimmed = trim(line);
            if trimmed.is_empty() {
                open = None;
                continue;
            }
            // A comment inside a value is skipped without closing it, as ConfigParser does.
            if trimmed.starts_with(['#', ';']) {
                continue;
            }
            if line.starts_with(is_space) {
                match open {
                    Some(i) => {
                        let value = &mut file.entries[i].value;
                        value.push('\n');
                        value.push_str(trimmed);
                    }
                    None => errors.push(ConfError::Continuation {
                        at: at(),
                        text: line.to_owned(),
                    }),
                }
                continue;
            }
            let Some(split) = line.find(['=', ':']) else {
                errors.push(ConfError::Malformed {
                    at: at(),
                    text: line.to_owned(),
                });
                open = None;
                continue;
            };
            let key = trim(&line[..split]).to_lowercase();
            if key.is_empty() {
                errors.push(ConfError::EmptyKey {
                    at: at(),
                    text: line.to_owned(),
                });
                open = None;
                continue;
            }
            let value = trim(&line[split + 1..]).to_owned();
            open = Some(file.upsert(key, value, Some(index + 1)));
        }
        ConfError::collect(errors)?;
        Ok(file)
    }

    /// Replaces the value of `key` where it stands, or appends it; returns its index.
    /// A repeated key keeps its first position (so rewriting keeps the order) but takes the
    /// later line, because that is the line whose value is in effect.
    pub(super) fn upsert(&mut self, key: String, value: String, line: Option<usize>) -> usize {
        match self.entries.iter().position(|e| e.key == key) {
            Some(i) => {
                self.entries[i].value = value;
                self.entries[i].line = line;
                i
            }
            None => {
                self.entries.push(Entry { key, value, line });
                self.entries.len() - 1
            }
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry for `key` (matched case-insensitively, as keys are lowercased on read).
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        let key = key.to_lowercase();
        self.entries.iter().find(|e| e.key == key)
    }

    /// The raw value of `key`, without interpolation.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entry(key).map(|e| e.value.as_str())
    }

    /// Where `key` is defined in this file.
    pub fn location(&self, key: &str) -> Option<Location> {
        self.entry(key).map(|e| Location::new(&self.path, e.line))
    }
}

/// What counts as leading or trailing space: whitespace, and byte-order marks too, because
/// they are invisible in editors and a key starting with one could not be written back as
/// the first line of a file (where a byte-order mark is dropped).
pub(super) fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

/// Trims [`is_space`] characters from both ends.
pub(super) fn trim(text: &str) -> &str {
    text.trim_matches(is_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfFile, ConfError> {
        ConfFile::parse(Path::new("/etc/lava-dispatcher/devices/foo.conf"), text)
    }

    fn pairs(file: &ConfFile) -> Vec<(&str, &str)> {
        file.entries()
            .iter()
            .map(|e| (e.key(), e.value()))
            .collect()
    }

    #[test]
    fn key_ends_at_first_equals_or_colon() {
        let cases = [
            ("a = b", "a", "b"),
            ("a: b", "a", "b"),
            ("a=b=c", "a", "b=c"),
            ("login_prompt = login:", "login_prompt", "login:"),
            ("bootloader_prompt = =>", "bootloader_prompt", "=>"),
            ("url: http://x:80/a=b", "url", "http://x:80/a=b"),
            ("Hostname  =  Kvm01  ", "hostname", "Kvm01"),
            ("password =", "password", ""),
            (
                "qemu_options = -machine accel=kvm:tcg -m 512 -hda {DISK_IMAGE}",
                "qemu_options",
                "-machine accel=kvm:tcg -m 512 -hda {DISK_IMAGE}",
            ),
        ];
        for (text, key, value) in cases {
            let file = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(pairs(&file), [(key, value)], "{text:?}");
        }
    }

    #[test]
    fn comments_blanks_and_continuations() {
        let text = "# a comment\n; another\n\nboot_cmds = one\n    two\n  # skipped, value stays open\n\tthree # not a comment\n\nhostname = h\n";
        let file = parse(text).unwrap();
        assert_eq!(
            pairs(&file),
            [
                ("boot_cmds", "one\ntwo\nthree # not a comment"),
                ("hostname", "h")
            ]
        );
        assert_eq!(file.entry("boot_cmds").unwrap().line(), Some(4));
        assert_eq!(file.entry("HOSTNAME").unwrap().line(), Some(9));
    }

    #[test]
    fn empty_first_line_then_continuation() {
        let file = parse("boot_cmds =\n    a\n    b\n").unwrap();
        assert_eq!(file.get("boot_cmds"), Some("\na\nb"));
    }

    #[test]
    fn repeated_key_keeps_first_position_and_last_line() {
        let file = parse("a = 1\nb = 2\nA = 3\n").unwrap();
        assert_eq!(pairs(&file), [("a", "3"), ("b", "2")]);
        assert_eq!(file.entry("a").unwrap().line(), Some(3));
    }

    #[test]
    fn errors_name_file_and_line() {
        let f = "/etc/lava-dispatcher/devices/foo.conf";
        let cases = [
            (
                "a = 1\nabc\n",
                format!("{f}:2: malformed line \"abc\" (expected key = value)"),
            ),
            ("= x", format!("{f}:1: empty key in line \"= x\"")),
            (
                "a = 1\n\n  b\n",
                format!("{f}:3: malformed line \"  b\" (continuation line with no key above it)"),
            ),
            (
                "  b\n",
                format!("{f}:1: malformed line \"  b\" (continuation line with no key above it)"),
            ),
            (
                "[section]\n",
                format!("{f}:1: malformed line \"[section]\" (expected key = value)"),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap_err().to_string(), want, "{text:?}");
        }
    }

    #[test]
    fn every_bad_line_is_reported() {
        let err = parse("one\na = b\ntwo\n").unwrap_err();
        let ConfError::Many(errors) = &err else {
            panic!("{err}")
        };
        assert_eq!(errors.len(), 2);
        assert!(
            err.to_string()
                .contains("foo.conf:3: malformed line \"two\""),
            "{err}"
        );
    }

    #[test]
    fn byte_order_mark_and_crlf() {
        let file = parse("\u{feff}a = 1\r\nb = 2\r\n").unwrap();
        assert_eq!(pairs(&file), [("a", "1"), ("b", "2")]);
        // Elsewhere a byte-order mark counts as space, so this is a comment, not a key ";".
        let file = parse("a = 1\n\u{feff};=\n").unwrap();
        assert_eq!(pairs(&file), [("a", "1")]);
    }

    #[test]
    fn read_names_missing_path() {
        let err = ConfFile::read("/nonexistent/lava/x.conf").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read /nonexistent/lava/x.conf: "),
            "{err}"
        );
    }
}
