//! Over-long log lines, cut where the server stores them.
//!
//! A line longer than the server's cap (`limits.log_line_bytes`) is not refused: refusing
//! would stop the job's upload for good, and the job could never finish with all its lines.
//! It is replaced by one line, in its place, that keeps its time and level and as much of its
//! message as fits, behind a marker saying how long it was. The line count is unchanged, so
//! every later line keeps its number and the worker's count still matches the server's.

use super::escape::escaped_prefix;
use super::{Level, Message, parse_line, write_map};

/// The marker's start; the rest says how long the message was and what is kept.
pub const CUT_MARKER: &str = "<line way too long: ";

/// `line` (one line of `output.yaml`, newline included) cut to at most `max` bytes, still one
/// valid log line whose marker names `limit`, the setting or bound that cut it. A line that is not in the log format keeps its raw text as the message, at
/// level `error` and stamped with `dt_fallback`. `max` must leave room for the marker (a few
/// hundred bytes).
pub fn cut_line(line: &str, max: usize, dt_fallback: &str, limit: &str) -> String {
    let (dt, lvl, text) = match parse_line(line) {
        Ok(l) => {
            let text = match l.msg {
                Message::Text(t) => t,
                Message::Map(m) => {
                    let mut s = String::new();
                    write_map(&mut s, &m);
                    s
                }
            };
            (l.dt, l.lvl, text)
        }
        Err(_) => (
            dt_fallback.to_string(),
            Level::Error,
            line.strip_suffix('\n').unwrap_or(line).to_string(),
        ),
    };
    let mut out = String::with_capacity(max);
    out.push_str("- {\"dt\": ");
    super::escape::quoted(&mut out, &dt);
    out.push_str(", \"lvl\": \"");
    out.push_str(lvl.as_str());
    out.push_str("\", \"msg\": \"");
    // The kept length is not known yet; its digits are at most those of the whole length.
    let whole = text.len();
    let marker = |kept: usize| {
        format!(
            "{CUT_MARKER}{whole} bytes of message, cut to {kept:>width$} ({limit})> ",
            width = whole.to_string().len()
        )
    };
    let head = out.len();
    out.push_str(&marker(0));
    let close = "\"}\n";
    let budget = max.saturating_sub(out.len() + close.len());
    let kept = escaped_prefix(&mut out, &text, budget);
    out.replace_range(head..head + marker(0).len(), &marker(kept));
    out.push_str(close);
    out
}

#[cfg(test)]
mod tests {
    use super::super::{LogLine, Value};
    use super::*;

    #[test]
    fn a_long_text_line_keeps_time_level_and_head() {
        let line = LogLine::text(
            "2026-01-01T00:00:00.000001",
            Level::Target,
            "é".repeat(50_000),
        )
        .to_line();
        let cut = cut_line(&line, 4096, "now", "limits.log_line_bytes");
        assert!(cut.len() <= 4096, "{}", cut.len());
        assert!(cut.len() > 4000, "as much as fits: {}", cut.len());
        let back = parse_line(&cut).unwrap();
        assert_eq!(back.dt, "2026-01-01T00:00:00.000001");
        assert_eq!(back.lvl, Level::Target);
        let Message::Text(t) = back.msg else { panic!() };
        assert!(
            t.starts_with("<line way too long: 100000 bytes of message, cut to "),
            "{t}"
        );
        let kept: usize = t
            .split("cut to ")
            .nth(1)
            .unwrap()
            .split(' ')
            .find(|s| !s.is_empty())
            .unwrap()
            .parse()
            .unwrap();
        assert!(t.ends_with(&"é".repeat(kept / 2)), "{t}");
        assert_eq!(cut.matches('\n').count(), 1);
    }

    #[test]
    fn mappings_and_garbage_become_text() {
        let mut m = std::collections::BTreeMap::new();
        m.insert("case".to_string(), Value::from("x".repeat(10_000)));
        let line = LogLine {
            dt: "d".into(),
            lvl: Level::Results,
            msg: Message::Map(m),
            ns: None,
        }
        .to_line();
        let back = parse_line(&cut_line(&line, 4096, "now", "limits.log_line_bytes")).unwrap();
        assert_eq!(back.lvl, Level::Results);
        let Message::Text(t) = back.msg else { panic!() };
        assert!(t.contains("> {\"case\": \"xxx"), "{t}");

        let garbage = format!("{}\n", "\u{1}".repeat(20_000));
        let cut = cut_line(
            &garbage,
            4096,
            "2026-01-01T00:00:00.000000",
            "limits.log_line_bytes",
        );
        assert!(cut.len() <= 4096);
        let back = parse_line(&cut).unwrap();
        assert_eq!(
            (back.dt.as_str(), back.lvl),
            ("2026-01-01T00:00:00.000000", Level::Error)
        );
    }
}
