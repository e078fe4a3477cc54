//! Readers for fields whose rules are shared between the formats or between several keys:
//! priority, visibility, LAVA timeouts, metadata and test parameters.

use std::collections::BTreeMap;
use std::time::Duration;

use super::error::JobError;
use super::node::Data;
use super::plan::Visibility;
use super::reader::At;

/// `priority`: an integer 0–100 or LAVA's `high` (100), `medium` (50), `low` (0).
pub(crate) fn priority(at: &At<'_>) -> Result<u8, JobError> {
    let bad = || at.error("expected an integer 0 to 100 or one of high, medium, low");
    if let Ok(name) = at.str() {
        return match name {
            "high" => Ok(100),
            "medium" => Ok(50),
            "low" => Ok(0),
            _ => Err(at.error(format!(
                "unknown priority '{name}' (expected high, medium, low or 0 to 100)"
            ))),
        };
    }
    let n = at.u64().map_err(|_| bad())?;
    u8::try_from(n).ok().filter(|n| *n <= 100).ok_or_else(bad)
}

/// `visibility`: `public`, `personal` or `{group: [names]}`.
pub(crate) fn visibility(at: &At<'_>) -> Result<Visibility, JobError> {
    if let Ok(name) = at.str() {
        return match name {
            "public" => Ok(Visibility::Public),
            "personal" => Ok(Visibility::Personal),
            _ => Err(at.error(format!(
                "unknown visibility '{name}' (expected public, personal or group)"
            ))),
        };
    }
    let map = at.map()?;
    map.deny_unknown(&["group"])?;
    let groups = map.required("group")?.strings()?;
    if groups.is_empty() {
        return Err(map.required("group")?.error("expected at least one group"));
    }
    Ok(Visibility::Group(groups))
}

/// A LAVA timeout: a mapping with exactly one of `days`, `hours`, `minutes`, `seconds`.
pub(crate) fn timeout(at: &At<'_>) -> Result<Duration, JobError> {
    const UNITS: [(&str, u64); 4] = [
        ("days", 86_400),
        ("hours", 3_600),
        ("minutes", 60),
        ("seconds", 1),
    ];
    let map = at.map()?;
    let mut found = None;
    for (key, value) in map.entries() {
        let Some((_, scale)) = UNITS.iter().find(|(unit, _)| *unit == key) else {
            if key == "skip" {
                continue;
            }
            return Err(
                value.error("extra keys not allowed (expected days, hours, minutes or seconds)")
            );
        };
        if found.is_some() {
            return Err(value.error("two of the exclusive keys days, hours, minutes, seconds"));
        }
        let secs = value
            .u64()?
            .checked_mul(*scale)
            .ok_or_else(|| value.error("timeout too large"))?;
        found = Some(Duration::from_secs(secs));
    }
    found.ok_or_else(|| at.error("expected one of days, hours, minutes or seconds"))
}

/// A mapping of timeouts by action name (`timeouts.actions`, `timeouts.connections`).
pub(crate) fn timeout_map(at: &At<'_>) -> Result<BTreeMap<String, Duration>, JobError> {
    at.map()?
        .entries()
        .map(|(name, value)| Ok((name.to_string(), timeout(&value)?)))
        .collect()
}

/// A mapping of scalars, every value as a string (`metadata`, test `parameters`).
pub(crate) fn string_map(at: &At<'_>) -> Result<BTreeMap<String, String>, JobError> {
    if at.is_null() {
        return Ok(BTreeMap::new());
    }
    at.map()?
        .entries()
        .map(|(key, value)| Ok((key.to_string(), value.scalar_string()?)))
        .collect()
}

/// The most entries a `secrets` block may hold.
pub const MAX_SECRETS: usize = 64;

/// `secrets`: names that a shell can `source` from the overlay's `secrets` file, each with a
/// string value on one line (the log is masked line by line, so a value spanning lines could
/// not be masked).
pub(crate) fn secrets(at: &At<'_>) -> Result<BTreeMap<String, String>, JobError> {
    let map = at.map()?;
    let mut out = BTreeMap::new();
    for (key, value) in map.entries() {
        let shell_name = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !shell_name {
            return Err(value.error(format!(
                "secret name '{key}' is not a shell variable name ([A-Za-z_][A-Za-z0-9_]*)"
            )));
        }
        // The value is never quoted in an error: it is a secret.
        let text = match &value.node.data {
            Data::Str(s) => s.clone(),
            _ => return Err(value.error("expected a string (quote it)")),
        };
        if text.contains(['\n', '\r']) {
            return Err(value.error("a secret must be on one line: the log is masked line by line"));
        }
        out.insert(key.to_string(), text);
    }
    if out.len() > MAX_SECRETS {
        return Err(at.error(format!("at most {MAX_SECRETS} secrets")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::node::Node;
    use super::*;

    fn with(text: &str, check: impl FnOnce(&At<'_>)) {
        let node = Node::from_yaml_text(&format!("v: {text}\n")).unwrap();
        let root = At::root(&node);
        check(&root.map().unwrap().required("v").unwrap());
    }

    #[test]
    fn priorities() {
        for (text, want) in [
            ("high", Some(100)),
            ("medium", Some(50)),
            ("low", Some(0)),
            ("42", Some(42)),
            ("101", None),
            ("-1", None),
            ("urgent", None),
            ("[1]", None),
        ] {
            with(text, |at| assert_eq!(priority(at).ok(), want, "{text}"));
        }
    }

    #[test]
    fn visibilities() {
        with("public", |at| {
            assert_eq!(visibility(at).unwrap(), Visibility::Public)
        });
        with("{group: [lab]}", |at| {
            assert_eq!(
                visibility(at).unwrap(),
                Visibility::Group(vec!["lab".into()])
            )
        });
        with("secret", |at| {
            assert!(visibility(at).unwrap_err().to_string().contains("'secret'"))
        });
    }

    #[test]
    fn timeouts() {
        with("{minutes: 10}", |at| {
            assert_eq!(timeout(at).unwrap(), Duration::from_secs(600))
        });
        with("{hours: 1}", |at| {
            assert_eq!(timeout(at).unwrap(), Duration::from_secs(3600))
        });
        with("{minutes: 1, seconds: 2}", |at| {
            assert!(timeout(at).is_err())
        });
        with("{weeks: 1}", |at| assert!(timeout(at).is_err()));
        with("{}", |at| assert!(timeout(at).is_err()));
        with("{days: 9223372036854775807}", |at| {
            assert!(timeout(at).is_err())
        });
    }

    #[test]
    fn string_maps_stringify_scalars() {
        with("{a: 1, b: true, c: x}", |at| {
            let m = string_map(at).unwrap();
            assert_eq!(m["a"], "1");
            assert_eq!(m["b"], "true");
        });
        with("{a: [1]}", |at| assert!(string_map(at).is_err()));
    }
}
