//! Identifiers: job ids and the names of devices, device types, workers and bundle streams.
//!
//! Each is its own type, so a device name never goes where a worker's is expected and a job
//! id is never confused with another number. A name is taken as given when it is read (from
//! the database, a URL, a worker's report: an unknown name is simply not found); the places
//! that create a device, type, worker or stream check it with [`check_name`] or
//! [`check_stream_pathname`] (or build it with `new`, which does).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

/// A job's number, as users see it in URLs and `lavacli`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(
    feature = "postgres",
    derive(postgres_types::ToSql, postgres_types::FromSql),
    postgres(transparent)
)]
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

/// A name type: text with its own type, checked when made with `new`.
macro_rules! name_type {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $check:path) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        #[cfg_attr(
            feature = "postgres",
            derive(postgres_types::ToSql, postgres_types::FromSql),
            postgres(transparent)
        )]
        pub struct $name(String);

        impl $name {
            /// A new name, refused when it breaks the naming rules.
            pub fn new(name: impl Into<String>) -> Result<$name, InvalidName> {
                let name = name.into();
                $check($kind, &name)?;
                Ok($name(name))
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The name as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        /// A name as given, unchecked: for looking things up.
        impl From<String> for $name {
            fn from(name: String) -> $name {
                $name(name)
            }
        }

        /// A name as given, unchecked: for looking things up.
        impl From<&str> for $name {
            fn from(name: &str) -> $name {
                $name(name.to_string())
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<std::path::Path> for $name {
            fn as_ref(&self) -> &std::path::Path {
                self.0.as_ref()
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

name_type!(
    /// A device's hostname (`kvm01`): its `.conf` file's name and its URL segment.
    DeviceName,
    "device",
    check_name
);

name_type!(
    /// A device type's name (`kvm`, `qemu`).
    DeviceTypeName,
    "device type",
    check_name
);

name_type!(
    /// A worker's hostname, as it names itself to the server.
    WorkerName,
    "worker",
    check_name
);

name_type!(
    /// A bundle stream's pathname (`/anonymous/lab-health/`).
    StreamPath,
    "bundle stream pathname",
    check_stream
);

fn check_stream(_kind: &'static str, pathname: &str) -> Result<(), InvalidName> {
    check_stream_pathname(pathname)
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

/// Checks a job failure tag's name (LAVA's `JobFailureTag.name`, a `CharField` of 256).
/// Unlike device names it is free text ("lab network"), shown on pages and in REST, so only
/// its length and control characters (which would break a line of `manage` output or a
/// log entry) are refused.
pub fn check_failure_tag_name(name: &str) -> Result<(), InvalidName> {
    let n = name.chars().count();
    if n == 0 || n > 256 || name.chars().any(char::is_control) {
        return Err(InvalidName {
            kind: "failure tag",
            name: name.to_string(),
            why: "it must have 1 to 256 characters, none of them control characters",
        });
    }
    Ok(())
}

/// Checks a group's name (Django's `Group.name`, a `CharField` of 150): free text shown on
/// pages and in `manage` output, so only its length and control characters are refused.
pub fn check_group_name(name: &str) -> Result<(), InvalidName> {
    let n = name.chars().count();
    if n == 0 || n > 150 || name.chars().any(char::is_control) {
        return Err(InvalidName {
            kind: "group",
            name: name.to_string(),
            why: "it must have 1 to 150 characters, none of them control characters",
        });
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
    fn typed_names() {
        assert_eq!(DeviceName::new("kvm01").unwrap(), "kvm01");
        assert_eq!(
            WorkerName::new("a/b").unwrap_err().to_string(),
            "invalid worker 'a/b': only letters, digits, '.', '_' and '-' are allowed"
        );
        assert!(StreamPath::new("/anonymous/x/").is_ok());
        assert!(StreamPath::new("x").is_err());
        // Looked-up names are taken as given.
        assert_eq!(DeviceName::from("../x").as_str(), "../x");
        let json = serde_json::to_string(&DeviceTypeName::from("kvm")).unwrap();
        assert_eq!(json, "\"kvm\"");
        assert_eq!(serde_json::to_string(&JobId(7)).unwrap(), "7");
    }

    #[test]
    fn job_ids() {
        assert_eq!("42".parse::<JobId>(), Ok(JobId(42)));
        assert!("0".parse::<JobId>().is_err());
        assert!("x".parse::<JobId>().is_err());
    }
}
