//! Package versions: `BASE+gitYYYYMMDD.HHMMSS.gHASH[+dirty]`.
//!
//! `BASE` is the latest git tag (a leading `v` dropped), or the workspace version when there is
//! no tag. The time is the build time (`SOURCE_DATE_EPOCH` when set), in UTC, so every later
//! build sorts higher, and so does every later commit built later; the hash says which commit
//! it is. `+dirty` marks a build that holds uncommitted changes.

use std::fmt;

use chrono::DateTime;

use crate::{Error, Result};

/// A package version made from the git state and a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The tag or workspace version.
    pub base: String,
    /// Seconds since the epoch.
    pub time: i64,
    /// The abbreviated commit hash.
    pub short: String,
    /// Holds uncommitted changes.
    pub dirty: bool,
}

impl Version {
    /// The version for a tag (or the fallback base), a time and a commit.
    pub fn new(
        tag: Option<&str>,
        fallback: &str,
        time: i64,
        short: &str,
        dirty: bool,
    ) -> Result<Version> {
        let base = match tag {
            Some(t) => t.strip_prefix('v').unwrap_or(t),
            None => fallback,
        };
        let valid = base.starts_with(|c: char| c.is_ascii_digit())
            && base
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~'));
        if !valid {
            return Err(Error::Version(format!(
                "'{base}' cannot start a Debian version (tag or workspace version): it must start \
                 with a digit and hold only letters, digits, '.', '+' and '~'"
            )));
        }
        if !short.chars().all(|c| c.is_ascii_hexdigit()) || short.is_empty() {
            return Err(Error::Version(format!("'{short}' is not a commit hash")));
        }
        if DateTime::from_timestamp(time, 0).is_none() {
            return Err(Error::Version(format!("time {time} is out of range")));
        }
        Ok(Version {
            base: base.to_string(),
            time,
            short: short.to_string(),
            dirty,
        })
    }

    /// The build time, e.g. `20261125.215803`.
    pub fn stamp(&self) -> String {
        DateTime::from_timestamp(self.time, 0)
            .map(|t| t.format("%Y%m%d.%H%M%S").to_string())
            .unwrap_or_default()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+git{}.g{}", self.base, self.stamp(), self.short)?;
        if self.dirty {
            f.write_str("+dirty")?;
        }
        Ok(())
    }
}

/// The build time: `SOURCE_DATE_EPOCH` if set (reproducible builds), else now.
pub fn build_time(source_date_epoch: Option<&str>) -> Result<i64> {
    match source_date_epoch.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s.parse().map_err(|_| {
            Error::Version(format!(
                "SOURCE_DATE_EPOCH='{s}' is not a number of seconds"
            ))
        }),
        None => Ok(chrono::Utc::now().timestamp()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_tag_time_and_commit() {
        let v = Version::new(None, "0.1.0", 1_795_643_883, "abcdef0", false).unwrap();
        assert_eq!(v.to_string(), "0.1.0+git20261125.215803.gabcdef0");
        let v = Version::new(Some("v2026.11.0"), "0.1.0", 1_795_643_883, "abcdef0", true).unwrap();
        assert_eq!(v.to_string(), "2026.11.0+git20261125.215803.gabcdef0+dirty");
    }

    #[test]
    fn rejects_bad_tags_and_epochs() {
        assert!(Version::new(Some("release-1"), "0.1.0", 0, "abc", false).is_err());
        assert!(build_time(Some("yesterday")).is_err());
        assert_eq!(build_time(Some("42")).unwrap(), 42);
    }
}
