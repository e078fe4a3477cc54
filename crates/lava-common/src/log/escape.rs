//! YAML double-quoted strings, escaped the way PyYAML escapes them with `allow_unicode=False`,
//! so the log stays pure ASCII and reads back identically with any YAML parser.

use std::fmt::Write as _;

/// Appends `s` to `out` as a double-quoted YAML string.
pub(crate) fn quoted(out: &mut String, s: &str) {
    out.push('"');
    // Console output is mostly printable ASCII: copy such runs whole, escape the rest.
    let mut rest = s;
    while !rest.is_empty() {
        let plain = rest
            .bytes()
            .position(|b| !(b' '..=b'~').contains(&b) || b == b'"' || b == b'\\')
            .unwrap_or(rest.len());
        out.push_str(&rest[..plain]);
        rest = &rest[plain..];
        let Some(c) = rest.chars().next() else { break };
        escape_char(out, c);
        rest = &rest[c.len_utf8()..];
    }
    out.push('"');
}

/// Appends the escaped form of the longest prefix of `s` that takes at most `budget` bytes
/// escaped (no quotes); returns how many bytes of `s` that prefix is.
pub(crate) fn escaped_prefix(out: &mut String, s: &str, budget: usize) -> usize {
    let start = out.len();
    let mut used = 0;
    let mut one = String::new();
    for c in s.chars() {
        one.clear();
        if (' '..='~').contains(&c) && c != '"' && c != '\\' {
            one.push(c);
        } else {
            escape_char(&mut one, c);
        }
        if out.len() - start + one.len() > budget {
            break;
        }
        out.push_str(&one);
        used += c.len_utf8();
    }
    used
}

/// Appends the escaped form of one character that is not plain printable ASCII.
fn escape_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\0' => out.push_str("\\0"),
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\x0b' => out.push_str("\\v"),
        '\x0c' => out.push_str("\\f"),
        '\r' => out.push_str("\\r"),
        '\x1b' => out.push_str("\\e"),
        '\u{85}' => out.push_str("\\N"),
        '\u{a0}' => out.push_str("\\_"),
        '\u{2028}' => out.push_str("\\L"),
        '\u{2029}' => out.push_str("\\P"),
        ' '..='~' => out.push(c),
        c if (c as u32) < 0x100 => {
            let _ = write!(out, "\\x{:02X}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04X}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08X}", c as u32);
        }
    }
}

/// Reads the escape after a backslash; returns the character and how many bytes it used.
pub(crate) fn unescape_at(rest: &str) -> Option<(char, usize)> {
    let mut chars = rest.chars();
    let c = chars.next()?;
    let simple = match c {
        '"' => Some('"'),
        '\\' => Some('\\'),
        '/' => Some('/'),
        '0' => Some('\0'),
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        't' | '\t' => Some('\t'),
        'n' => Some('\n'),
        'v' => Some('\x0b'),
        'f' => Some('\x0c'),
        'r' => Some('\r'),
        'e' => Some('\x1b'),
        ' ' => Some(' '),
        'N' => Some('\u{85}'),
        '_' => Some('\u{a0}'),
        'L' => Some('\u{2028}'),
        'P' => Some('\u{2029}'),
        _ => None,
    };
    if let Some(s) = simple {
        return Some((s, c.len_utf8()));
    }
    let width = match c {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        _ => return None,
    };
    let hex = rest.get(1..1 + width)?;
    let code = u32::from_str_radix(hex, 16).ok()?;
    Some((char::from_u32(code)?, 1 + width))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> String {
        let mut out = String::new();
        quoted(&mut out, s);
        out
    }

    #[test]
    fn escapes_like_pyyaml() {
        assert_eq!(q("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(q("tab\there\r\n"), r#""tab\there\r\n""#);
        assert_eq!(q("\x1b[2J"), r#""\e[2J""#);
        assert_eq!(q("é€😀"), r#""\xE9\u20AC\U0001F600""#);
        assert_eq!(q("\x01\x7f"), r#""\x01\x7F""#);
    }

    #[test]
    fn every_escape_reads_back() {
        let sample = "a\"\\\0\x07\x08\t\n\x0b\x0c\r\x1b\u{85}\u{a0}\u{2028}\u{2029}é€😀\x01\x7f~";
        let text = q(sample);
        let inner = &text[1..text.len() - 1];
        let mut out = String::new();
        let mut i = 0;
        while i < inner.len() {
            let rest = &inner[i..];
            if let Some(r) = rest.strip_prefix('\\') {
                let (c, used) = unescape_at(r).unwrap();
                out.push(c);
                i += 1 + used;
            } else {
                let c = rest.chars().next().unwrap();
                out.push(c);
                i += c.len_utf8();
            }
        }
        assert_eq!(out, sample);
    }
}
