//! Secret values out of log lines.
//!
//! A job's `secrets` reach its test shell, which may print them (a `set -x`, a failing
//! `curl` quoting its URL). The dispatcher masks every value in every line before it is
//! written, as LAVA's `lava-run` does, with LAVA's replacement text, so no copy of the log
//! (worker, server, REST, callbacks) ever holds one. Values are replaced in the message's
//! text before it is escaped, so a value with quotes or backslashes is found too.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{LogLine, Message, Value};

/// What a masked log line shows where a secret was (LAVA's text).
pub const LOG_MASK: &str = "[MASKED]";

/// The secret values to take out of log lines.
#[derive(Clone, Default)]
pub struct SecretMask {
    /// Longest first, so a value that contains another is masked whole.
    values: Vec<String>,
}

impl std::fmt::Debug for SecretMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretMask({} values)", self.values.len())
    }
}

impl SecretMask {
    /// A mask for `values`; empty values are left out (they would match everywhere).
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(values: I) -> SecretMask {
        let mut values: Vec<String> = values
            .into_iter()
            .map(Into::into)
            .filter(|v| !v.is_empty())
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        SecretMask { values }
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret value replaced by [`LOG_MASK`].
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = Cow::Owned(out.replace(v.as_str(), LOG_MASK));
            }
        }
        out
    }

    /// Where to cut `bytes`, the start of an over-long console line whose rest has not come
    /// yet, so that no secret value is split between the part logged now and the part logged
    /// later (each part is masked on its own): `bytes.len()` unless a value starts at the
    /// end and may go on in the next read, or a value would straddle the cut.
    pub fn cut_point(&self, bytes: &[u8]) -> usize {
        let mut cut = bytes.len();
        // A value whose beginning ends the bytes may be completed by the next read.
        for v in &self.values {
            let v = v.as_bytes();
            let from = bytes.len().saturating_sub(v.len() - 1);
            if let Some(s) = (from..bytes.len()).find(|&s| v.starts_with(&bytes[s..])) {
                cut = cut.min(s);
            }
        }
        // No whole value may straddle the cut; moving the cut may make another straddle it.
        loop {
            let before = cut;
            for v in &self.values {
                let v = v.as_bytes();
                let from = (cut + 1).saturating_sub(v.len());
                if let Some(s) = (from..cut).find(|&s| bytes[s..].starts_with(v)) {
                    cut = s;
                }
            }
            if cut == before {
                return cut;
            }
        }
    }

    /// `line` with every secret value masked in its message, its namespace and the keys and
    /// values of a mapping; `None` when nothing had to change.
    pub fn line(&self, line: &LogLine) -> Option<LogLine> {
        if self.is_empty() {
            return None;
        }
        let msg = match &line.msg {
            Message::Text(t) => Message::Text(self.text(t).into_owned()),
            Message::Map(m) => Message::Map(self.map(m)),
        };
        let ns = line.ns.as_deref().map(|n| self.text(n).into_owned());
        let masked = LogLine {
            dt: line.dt.clone(),
            lvl: line.lvl,
            msg,
            ns,
        };
        (masked != *line).then_some(masked)
    }

    fn map(&self, m: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
        m.iter()
            .map(|(k, v)| (self.text(k).into_owned(), self.value(v)))
            .collect()
    }

    fn value(&self, v: &Value) -> Value {
        match v {
            Value::Str(s) => Value::Str(self.text(s).into_owned()),
            Value::Scalar(s) => Value::Scalar(self.text(s).into_owned()),
            Value::Map(m) => Value::Map(self.map(m)),
            Value::List(l) => Value::List(l.iter().map(|v| self.value(v)).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Level;
    use super::*;

    #[test]
    fn every_value_is_masked_longest_first_and_empty_ones_ignored() {
        let mask = SecretMask::new(["abc", "abcdef", "", "q\"uo\\te"]);
        assert_eq!(mask.text("x abcdef y abc z"), "x [MASKED] y [MASKED] z");
        assert_eq!(mask.text("nothing here"), "nothing here");
        let line = LogLine::text("2026-12-07T00:00:00", Level::Target, "pw=q\"uo\\te!");
        let masked = mask.line(&line).unwrap();
        assert_eq!(
            masked.to_line(),
            "- {\"dt\": \"2026-12-07T00:00:00\", \"lvl\": \"target\", \"msg\": \"pw=[MASKED]!\"}\n"
        );
        assert!(
            mask.line(&LogLine::text("t", Level::Info, "clean"))
                .is_none()
        );
        assert!(SecretMask::new([""]).is_empty());
    }

    #[test]
    fn a_cut_never_splits_a_value() {
        let mask = SecretMask::new(["s3cret", "cr"]);
        // Nothing secret near the end: cut at the end.
        assert_eq!(mask.cut_point(b"plain text"), 10);
        // A value's beginning at the end may go on in the next read.
        assert_eq!(mask.cut_point(b"token=s3c"), 6);
        assert_eq!(mask.cut_point(b"token=s3cre"), 6);
        // A whole value at the end is masked in this part.
        assert_eq!(mask.cut_point(b"token=s3cret"), 12);
        // Once the cut moves, a value straddling the new cut moves it again.
        let mask = SecretMask::new(["abcd", "xab"]);
        assert_eq!(mask.cut_point(b"--xabc"), 2);
        assert_eq!(SecretMask::default().cut_point(b"anything"), 8);
    }

    #[test]
    fn mappings_are_masked_in_keys_and_nested_values() {
        let mask = SecretMask::new(["s3cret"]);
        let mut inner = BTreeMap::new();
        inner.insert("s3cret-key".to_string(), Value::Str("v".into()));
        let mut m = BTreeMap::new();
        m.insert("case".to_string(), Value::Str("login-s3cret".into()));
        m.insert(
            "extra".to_string(),
            Value::List(vec![Value::Map(inner), Value::Scalar("s3cret".into())]),
        );
        let line = LogLine {
            dt: "t".into(),
            lvl: Level::Results,
            msg: Message::Map(m),
            ns: Some("s3cret".into()),
        };
        let text = mask.line(&line).unwrap().to_line();
        assert!(!text.contains("s3cret"), "{text}");
        assert_eq!(text.matches(LOG_MASK).count(), 4, "{text}");
    }
}
