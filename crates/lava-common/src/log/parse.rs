//! Reading back the lines [`super::LogLine::to_line`] writes.
//!
//! This is not a general YAML parser: it reads the one-line flow mappings of our own format
//! (double-quoted strings, `! "…"` scalars, nested `{}` and `[]`), which is all the server
//! needs to turn `results` lines into test cases without a YAML library on the hot path.

use std::collections::BTreeMap;

use super::escape::unescape_at;
use super::{Level, LogLine, Message, Value};

/// A line that is not in the log format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a log line (at byte {at}): {why}")]
pub struct ParseLogError {
    /// Where in the line reading stopped.
    pub at: usize,
    /// What was expected.
    pub why: &'static str,
}

struct Reader<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Reader<'a> {
    fn fail<T>(&self, why: &'static str) -> Result<T, ParseLogError> {
        Err(ParseLogError { at: self.i, why })
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.s[self.i..].starts_with(token) {
            self.i += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str, why: &'static str) -> Result<(), ParseLogError> {
        if self.eat(token) {
            Ok(())
        } else {
            self.fail(why)
        }
    }

    fn string(&mut self) -> Result<String, ParseLogError> {
        self.expect("\"", "expected '\"'")?;
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote or escape whole: console lines are mostly
            // plain text, and the live log reads every line of a log of any size.
            let rest = &self.s[self.i..];
            let run = memchr::memchr2(b'"', b'\\', rest.as_bytes()).unwrap_or(rest.len());
            out.push_str(&rest[..run]);
            self.i += run;
            let rest = &self.s[self.i..];
            let Some(c) = rest.chars().next() else {
                return self.fail("unterminated string");
            };
            match c {
                '"' => {
                    self.i += 1;
                    return Ok(out);
                }
                '\\' => match unescape_at(&rest[1..]) {
                    Some((c, used)) => {
                        out.push(c);
                        self.i += 1 + used;
                    }
                    None => return self.fail("bad escape"),
                },
                c => {
                    out.push(c);
                    self.i += c.len_utf8();
                }
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseLogError> {
        if depth > 32 {
            return self.fail("nested too deeply");
        }
        if self.eat("! ") {
            return Ok(Value::Scalar(self.string()?));
        }
        if self.s[self.i..].starts_with('{') {
            return Ok(Value::Map(self.map(depth + 1)?));
        }
        if self.eat("[") {
            let mut items = Vec::new();
            if self.eat("]") {
                return Ok(Value::List(items));
            }
            loop {
                items.push(self.value(depth + 1)?);
                if self.eat("]") {
                    return Ok(Value::List(items));
                }
                self.expect(", ", "expected ', ' or ']'")?;
            }
        }
        Ok(Value::Str(self.string()?))
    }

    fn map(&mut self, depth: usize) -> Result<BTreeMap<String, Value>, ParseLogError> {
        self.expect("{", "expected '{'")?;
        let mut m = BTreeMap::new();
        if self.eat("}") {
            return Ok(m);
        }
        loop {
            let k = self.string()?;
            self.expect(": ", "expected ': '")?;
            let v = self.value(depth)?;
            m.insert(k, v);
            if self.eat("}") {
                return Ok(m);
            }
            self.expect(", ", "expected ', ' or '}'")?;
        }
    }
}

/// Parses one line of `output.yaml` (with or without its newline).
pub fn parse_line(line: &str) -> Result<LogLine, ParseLogError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let mut r = Reader { s: line, i: 0 };
    r.expect("- ", "expected '- '")?;
    let mut map = r.map(0)?;
    if r.i != line.len() {
        return r.fail("text after the mapping");
    }
    let text = |v: Option<Value>, why| match v {
        Some(Value::Str(s)) => Ok(s),
        _ => Err(ParseLogError { at: 0, why }),
    };
    let dt = text(map.remove("dt"), "no \"dt\" string")?;
    let lvl = text(map.remove("lvl"), "no \"lvl\" string")?;
    let lvl = Level::from_name(&lvl).ok_or(ParseLogError {
        at: 0,
        why: "unknown level",
    })?;
    let msg = match map.remove("msg") {
        Some(Value::Str(s)) => Message::Text(s),
        Some(Value::Map(m)) => Message::Map(m),
        _ => {
            return Err(ParseLogError {
                at: 0,
                why: "no \"msg\" string or mapping",
            });
        }
    };
    let ns = match map.remove("ns") {
        None => None,
        Some(Value::Str(s)) => Some(s),
        Some(_) => {
            return Err(ParseLogError {
                at: 0,
                why: "\"ns\" is not a string",
            });
        }
    };
    Ok(LogLine { dt, lvl, msg, ns })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LAVA_LINES: &str = r#"- {"dt": "2026-11-24T19:05:28.631323", "lvl": "info", "msg": "lava-dispatcher, installed at version: 2023.01"}
- {"dt": "2026-11-24T19:05:28.663381", "lvl": "results", "msg": {"case": "test-overlay", "definition": "lava", "duration": "0.00", "extra": {"from": "inline", "name": "smoke-inline", "path": "inline/smoke.yaml", "uuid": "213_1.1.3.1"}, "level": "1.1.3.2", "namespace": "common", "result": "pass"}}
- {"dt": "2026-11-24T19:06:21.111986", "lvl": "results", "msg": {"case": "kernel-messages", "definition": "lava", "duration": "38.86", "extra": {"extra": []}, "level": "2.2.1", "namespace": "common", "result": "pass"}}
- {"dt": "2026-11-24T19:06:22.308263", "lvl": "input", "msg": "/lava-213/bin/lava-test-runner /lava-213/0\n"}
- {"dt": "2026-11-24T19:06:22.523375", "lvl": "results", "msg": {"case": "kernel-uname", "definition": "0_smoke-inline", "endtc": ! "746", "result": "pass", "starttc": ! "743"}}
"#;

    #[test]
    fn reads_lava_lines_and_writes_them_back_identically() {
        for line in LAVA_LINES.lines() {
            let parsed = parse_line(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(parsed.to_line(), format!("{line}\n"));
        }
        let r = parse_line(LAVA_LINES.lines().nth(4).unwrap()).unwrap();
        let Message::Map(m) = r.msg else { panic!() };
        assert_eq!(m["endtc"], Value::Scalar("746".into()));
    }

    #[test]
    fn rejects_other_text() {
        for bad in [
            "",
            "- {}",
            "{\"dt\": \"x\"}",
            "- {\"dt\": \"x\", \"lvl\": \"nope\", \"msg\": \"\"}",
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_text_round_trips(msg in any::<String>()) {
            let line = LogLine::text("2026-01-01T00:00:00.000000", Level::Target, msg);
            let text = line.to_line();
            prop_assert!(text.is_ascii());
            prop_assert_eq!(text.matches('\n').count(), 1);
            prop_assert_eq!(parse_line(&text).unwrap(), line);
        }

        #[test]
        fn garbage_never_panics(s in any::<String>()) {
            let _ = parse_line(&s);
            let _ = parse_line(&format!("- {{\"dt\": {s}"));
        }
    }
}
