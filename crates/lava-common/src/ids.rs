//! Identifiers: job ids and the names of devices, device types and workers.

use std::fmt;
use std::str::FromStr;

/// A job's number, as users see it in URLs and `lavacli`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for JobId {
    type Err = InvalidName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().parse::<i64>() {
            Ok(n) if n > 0 => Ok(JobId(n)),
            _ => Err(InvalidName {
                kind: "job id",
                name: s.to_string(),
                why: "expected a positive whole number",
            }),
        }
    }
}

/// A name that cannot be used for a device, device type, worker or job id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} '{name}': {why}")]
pub struct InvalidName {
    /// What the name is for.
    pub kind: &'static str,
    /// The name as given.
    pub name: String,
    /// Why it was refused.
    pub why: &'static str,
}

/// Checks a device hostname, device type name or worker name.
///
/// These names become file names (`devices/NAME.conf`) and URL path segments, so they are
/// limited to letters, digits, `.`, `_` and `-`, and must start with a letter or digit.
pub fn check_name(kind: &'static str, name: &str) -> Result<(), InvalidName> {
    let err = |why| InvalidName {
        kind,
        name: name.to_string(),
        why,
    };
    let first = name.chars().next().ok_or_else(|| err("it is empty"))?;
    if !first.is_ascii_alphanumeric() {
        return Err(err("it must start with a letter or digit"));
    }
    if name.len() > 200 {
        return Err(err("it is longer than 200 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(err("only letters, digits, '.', '_' and '-' are allowed"));
    }
    Ok(())
}

/// Checks a bundle stream pathname such as `/anonymous/lab-health/`.
pub fn check_stream_pathname(pathname: &str) -> Result<(), InvalidName> {
    let inner = pathname.strip_prefix('/').and_then(|p| p.strip_suffix('/'));
    match inner {
        Some(inner) if !inner.is_empty() && !inner.split('/').any(str::is_empty) => Ok(()),
        _ => Err(InvalidName {
            kind: "bundle stream pathname",
            name: pathname.to_string(),
            why: "it must start and end with '/' and look like /anonymous/NAME/",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["kvm01", "mx53loco", "qemu-01", "a.b_c"] {
            assert_eq!(check_name("device", ok), Ok(()), "{ok}");
        }
        for bad in ["", "-x", "../etc", "a/b", "a b", ".hidden"] {
            assert!(check_name("device", bad).is_err(), "{bad}");
        }
        let e = check_name("device", "a/b").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid device 'a/b': only letters, digits, '.', '_' and '-' are allowed"
        );
    }

    #[test]
    fn stream_pathnames() {
        for ok in ["/anonymous/lab-health/", "/private/team/x/"] {
            assert_eq!(check_stream_pathname(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "/",
            "//",
            "lab-health",
            "/anonymous/lab-health",
            "/a//b/",
        ] {
            assert!(check_stream_pathname(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn job_ids() {
        assert_eq!("42".parse::<JobId>(), Ok(JobId(42)));
        assert!("0".parse::<JobId>().is_err());
        assert!("x".parse::<JobId>().is_err());
    }
}
