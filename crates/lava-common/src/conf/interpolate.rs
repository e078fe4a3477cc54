//! `%(name)s` interpolation, with the rules of Python's `configparser.BasicInterpolation`.
//!
//! Names are looked up in the merged layers, so a device-type file may use `%(hostname)s`
//! that only the device file sets. `%%` is a literal `%`; any other `%` is an error rather
//! than being passed through, because the classic dispatcher rejected such files too and a
//! silently half-expanded command line is worse than a clear message.

use super::error::{ConfError, Location};
use super::layers::DeviceConfig;

/// ConfigParser's `MAX_INTERPOLATION_DEPTH`: deeper nesting is taken to be a reference loop.
const MAX_DEPTH: usize = 10;

/// Escapes `%` as `%%`, so that `text` reads back unchanged after interpolation.
pub fn escape(text: &str) -> String {
    text.replace('%', "%%")
}

/// The key being expanded, for the too-deep error (which is about it, not the inner keys).
struct Top<'a> {
    key: &'a str,
    at: &'a Location,
}

/// Expands every reference in `value`, the raw value of `key` defined at `at`.
pub(super) fn expand(
    config: &DeviceConfig,
    key: &str,
    value: &str,
    at: &Location,
) -> Result<String, ConfError> {
    let mut out = String::with_capacity(value.len());
    let top = Top { key, at };
    expand_into(config, &top, key, value, at, 1, &mut out)?;
    Ok(out)
}

fn expand_into(
    config: &DeviceConfig,
    top: &Top<'_>,
    key: &str,
    value: &str,
    at: &Location,
    depth: usize,
    out: &mut String,
) -> Result<(), ConfError> {
    if depth > MAX_DEPTH {
        return Err(ConfError::TooDeep {
            at: top.at.clone(),
            key: top.key.to_owned(),
        });
    }
    let mut rest = value;
    while let Some(p) = rest.find('%') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        if let Some(after) = rest.strip_prefix("%%") {
            out.push('%');
            rest = after;
            continue;
        }
        let Some((name, after)) = reference(rest) else {
            return Err(ConfError::BadPercent {
                at: at.clone(),
                key: key.to_owned(),
                found: rest.chars().take(20).collect(),
            });
        };
        rest = after;
        // Names are lowercased like keys, so `%(HOSTNAME)s` finds `hostname`.
        let name = name.to_lowercase();
        let Some((inner, inner_at)) = config.lookup(&name) else {
            return Err(ConfError::Missing {
                at: at.clone(),
                key: key.to_owned(),
                name,
            });
        };
        if inner.contains('%') {
            expand_into(config, top, &name, inner, inner_at, depth + 1, out)?;
        } else {
            out.push_str(inner);
        }
    }
    out.push_str(rest);
    Ok(())
}

/// Splits `%(name)s…` into `name` and the text after it; `None` unless `text` starts so.
/// Like ConfigParser's `%\(([^)]+)\)s`: any characters but `)`, at least one.
fn reference(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix("%(")?;
    let close = inner.find(')')?;
    let after = inner[close + 1..].strip_prefix('s')?;
    let name = &inner[..close];
    (!name.is_empty()).then_some((name, after))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::conf::ConfFile;

    fn config(layers: &[(&str, &str)]) -> DeviceConfig {
        let files: Vec<ConfFile> = layers
            .iter()
            .map(|(path, text)| ConfFile::parse(Path::new(path), text).unwrap())
            .collect();
        DeviceConfig::layered(&files.iter().collect::<Vec<_>>())
    }

    #[test]
    fn expansions() {
        let cases = [
            ("a = x%(b)sy\nb = B", "xBy"),
            ("a = 100%%\n", "100%"),
            ("a = %%(b)s\nb = B", "%(b)s"),
            ("a = %(B)s\nb = B", "B"),
            ("a = %(b)s %(c)s\nb = %(c)s-%(c)s\nc = C", "C-C C"),
            ("a = %(b)s\nb = 50%%", "50%"),
            ("a = no references", "no references"),
            ("a = %(b)s\nb = x=y:z", "x=y:z"),
        ];
        for (text, want) in cases {
            let c = config(&[("/t.conf", text)]);
            assert_eq!(c.get("a").unwrap().as_deref(), Some(want), "{text:?}");
        }
    }

    #[test]
    fn errors() {
        let cases = [
            (
                "a = x\nb = %(nope)s\n",
                r#"/t.conf:2: key "b" refers to %(nope)s, but no config layer sets "nope""#,
            ),
            (
                "b = 50%\n",
                r#"/t.conf:1: key "b": '%' must be followed by '%' or '(name)s', found "%""#,
            ),
            (
                "b = %(a)d\na = 1",
                r#"/t.conf:1: key "b": '%' must be followed by '%' or '(name)s', found "%(a)d""#,
            ),
            (
                "b = %()s\n",
                r#"/t.conf:1: key "b": '%' must be followed by '%' or '(name)s', found "%()s""#,
            ),
            (
                "b = %(a\n",
                r#"/t.conf:1: key "b": '%' must be followed by '%' or '(name)s', found "%(a""#,
            ),
            (
                "b = %(b)s\n",
                r#"/t.conf:1: interpolation too deep expanding key "b" (a %(name)s reference loop?)"#,
            ),
            (
                "b = %(c)s\nc = %(b)s\n",
                r#"/t.conf:1: interpolation too deep expanding key "b" (a %(name)s reference loop?)"#,
            ),
        ];
        for (text, want) in cases {
            let c = config(&[("/t.conf", text)]);
            assert_eq!(c.get("b").unwrap_err().to_string(), want, "{text:?}");
        }
    }

    #[test]
    fn nested_error_names_the_inner_key_and_its_file() {
        let c = config(&[
            ("/type.conf", "opts = -x %(port)s\n"),
            ("/dev.conf", "port = %(nope)s\n"),
        ]);
        assert_eq!(
            c.get("opts").unwrap_err().to_string(),
            r#"/dev.conf:1: key "port" refers to %(nope)s, but no config layer sets "nope""#
        );
    }

    #[test]
    fn ten_levels_are_allowed() {
        let mut text = String::from("k0 = end\n");
        for i in 1..10 {
            text.push_str(&format!("k{i} = %(k{})s\n", i - 1));
        }
        let c = config(&[("/t.conf", &text)]);
        assert_eq!(c.get("k9").unwrap().as_deref(), Some("end"));
    }

    #[test]
    fn escape_round_trips() {
        let c = config(&[("/t.conf", &format!("a = {}", escape("100% %(x)s %%")))]);
        assert_eq!(c.get("a").unwrap().as_deref(), Some("100% %(x)s %%"));
    }
}
