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

/// The most one value may expand to, in bytes. ConfigParser has no such bound, so a small
/// file whose keys each refer several times to the next expands exponentially; real values
/// (command lines, boot commands) stay far below it.
const MAX_EXPANDED_BYTES: usize = 1 << 20;

/// The most references one value's expansion may follow (counting repeats): the same bomb
/// with empty values produces no bytes but still takes exponential time.
const MAX_REFERENCES: usize = 100_000;

/// Escapes `%` as `%%`, so that `text` reads back unchanged after interpolation.
pub fn escape(text: &str) -> String {
    text.replace('%', "%%")
}

/// The key being expanded, for the errors about the whole expansion (too deep, too large),
/// which are about it rather than the inner keys; and the references followed so far.
struct Top<'a> {
    key: &'a str,
    at: &'a Location,
    references: std::cell::Cell<usize>,
}

impl Top<'_> {
    fn too_large(&self) -> ConfError {
        ConfError::TooLarge {
            at: self.at.clone(),
            key: self.key.to_owned(),
            bytes: MAX_EXPANDED_BYTES,
            references: MAX_REFERENCES,
        }
    }
}

/// Expands every reference in `value`, the raw value of `key` defined at `at`.
pub(super) fn expand(
    config: &DeviceConfig,
    key: &str,
    value: &str,
    at: &Location,
) -> Result<String, ConfError> {
    let mut out = String::with_capacity(value.len());
    let top = Top {
        key,
        at,
        references: std::cell::Cell::new(0),
    };
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
        top.references.set(top.references.get() + 1);
        if top.references.get() > MAX_REFERENCES {
            return Err(top.too_large());
        }
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
        if out.len() > MAX_EXPANDED_BYTES {
            return Err(top.too_large());
        }
    }
    out.push_str(rest);
    if out.len() > MAX_EXPANDED_BYTES {
        return Err(top.too_large());
    }
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

    /// `levels` keys, each referring 16 times to the next; the last holds `leaf`.
    fn fan_out(levels: usize, leaf: &str) -> DeviceConfig {
        let mut text = String::new();
        for i in 0..levels {
            text.push_str(&format!(
                "k{i} = {}\n",
                format!("%(k{})s", i + 1).repeat(16)
            ));
        }
        text.push_str(&format!("k{levels} = {leaf}\n"));
        config(&[("/t.conf", &text)])
    }

    // Found with the device_conf fuzz target (a libFuzzer timeout, input kept in
    // fuzz/regressions/device_conf/): ten levels of 16 references in a 1 KiB file expand to
    // 16^10 copies of the last value, which no machine finishes; five levels already make
    // 64 MiB. Each expansion is bounded in bytes and in references followed.
    #[test]
    fn an_expansion_bomb_is_refused_naming_its_key() {
        let e = fan_out(5, &"x".repeat(64)).get("k0").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"/t.conf:1: key "k0" expands past 1048576 bytes or 100000 references"#
        );
        // The same with empty values: no output, but a million references to follow.
        let e = fan_out(5, "").get("k0").unwrap_err();
        assert!(e.to_string().contains("100000 references"), "{e}");
        // Keys that do not reach the bomb's top stay usable.
        assert_eq!(fan_out(5, "x").get("k4").unwrap().unwrap(), "x".repeat(16));
    }

    #[test]
    fn escape_round_trips() {
        let c = config(&[("/t.conf", &format!("a = {}", escape("100% %(x)s %%")))]);
        assert_eq!(c.get("a").unwrap().as_deref(), Some("100% %(x)s %%"));
    }
}
