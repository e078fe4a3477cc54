//! LAVA's device YAML read as PyYAML reads it, where the two YAML readers disagree.
//!
//! LAVA's own `base.jinja2` renders the barebox `interrupt-character: '{{ "\n" }}'`: a quoted
//! scalar whose second line starts in column 0, less indented than its key. The YAML
//! specification (and saphyr, our reader) refuses that; PyYAML, which LAVA reads device YAML
//! with, accepts it and folds the line break. The leading blanks of a quoted scalar's
//! continuation lines are not part of its value, so indenting those lines changes nothing
//! but the indentation: [`parse`] does exactly that for each quoted scalar saphyr reports as
//! under-indented, and nothing else.

use std::borrow::Cow;

use crate::job::JobError;

/// Quoted scalars re-indented at most per document: each repair fixes one, and a device has
/// a handful.
const MAX_REPAIRS: usize = 64;

/// saphyr's message for a quoted scalar's continuation line left of its block's indentation.
const UNDER_INDENTED: &str = "invalid indentation in quoted scalar";

/// The document `text` as JSON, accepting quoted scalars PyYAML accepts.
pub(super) fn parse(text: &str) -> Result<serde_json::Value, JobError> {
    let mut text = Cow::Borrowed(text);
    for _ in 0..MAX_REPAIRS {
        match crate::job::yaml_to_json(&text) {
            Err(JobError::Syntax {
                line,
                column,
                message,
                ..
            }) if message.contains(UNDER_INDENTED) => match reindent(&text, line, column) {
                Some(fixed) => text = Cow::Owned(fixed),
                None => return crate::job::yaml_to_json(&text),
            },
            other => return other,
        }
    }
    crate::job::yaml_to_json(&text)
}

/// `text` with the continuation lines of the quoted scalar opening at `line`:`column` (both
/// 1-based, the column in characters) indented past the line it opens on; `None` when no
/// quoted scalar opens there or it never closes.
fn reindent(text: &str, line: usize, column: usize) -> Option<String> {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let opening_line = &text[line_start..];
    let (offset, quote) = opening_line.char_indices().nth(column.checked_sub(1)?)?;
    if quote != '\'' && quote != '"' {
        return None;
    }
    let indent = opening_line.len() - opening_line.trim_start_matches(' ').len();
    let body_start = line_start + offset + 1;
    let body_end = body_start + closing_quote(&text[body_start..], quote)?;
    let prefix = " ".repeat(indent + 1);
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str(&text[..body_start]);
    for (i, piece) in text[body_start..body_end].split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&prefix);
        }
        out.push_str(piece);
    }
    out.push_str(&text[body_end..]);
    Some(out)
}

/// The byte offset in `body` (the text after an opening `quote`) of the closing quote:
/// `''` is an escaped quote in single quotes, `\` escapes the next character in double ones.
fn closing_quote(body: &str, quote: char) -> Option<usize> {
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            ('\'', '\'') if chars.peek().is_some_and(|(_, n)| *n == '\'') => {
                chars.next();
            }
            ('"', '\\') => {
                chars.next();
            }
            (q, c) if q == c => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn under_indented_quoted_scalars_read_as_pyyaml_reads_them() {
        // What LAVA's base.jinja2 renders for barebox, and PyYAML's reading of it (checked
        // with python3-yaml: {'interrupt-character': ' ', 'final-message': 'Starting kernel'}).
        let text = "constants:\n  barebox:\n    interrupt-character: '\n'\n    final-message: 'Starting kernel'\n    quoted: \"a\n\\\"b\n c\"\n    it: 'it''s\nhere'\n";
        assert_eq!(
            parse(text).unwrap(),
            json!({"constants": {"barebox": {
                "interrupt-character": " ",
                "final-message": "Starting kernel",
                "quoted": "a \"b c",
                "it": "it's here",
            }}})
        );
    }

    #[test]
    fn a_key_given_twice_keeps_its_last_value_as_in_pyyaml() {
        // LAVA's juno.jinja2 renders `actions.deploy` twice; PyYAML keeps the last.
        let text = "actions:\n  deploy:\n    methods: {nfs: }\n  deploy:\n    methods: {tftp: }\n";
        assert_eq!(
            parse(text).unwrap(),
            json!({"actions": {"deploy": {"methods": {"tftp": null}}}})
        );
        // Jobs still refuse it.
        assert!(crate::job::parse_yaml("job_name: a\njob_name: b\n").is_err());
    }

    #[test]
    fn other_errors_are_left_as_they_are() {
        let e = parse("a:\n  b: 'never closed\n").unwrap_err();
        assert!(e.to_string().contains("quoted scalar"), "{e}");
        let e = parse("a: [1\n").unwrap_err();
        assert!(matches!(e, JobError::Syntax { .. }), "{e}");
    }
}
