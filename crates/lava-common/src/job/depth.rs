//! A nesting-depth guard run over the YAML event stream before the tree is built.
//!
//! saphyr builds and drops its node tree recursively, so a hostile document such as ten
//! thousand `- ` on one line overflows the stack. The parser itself is a state machine, so
//! walking its events first is safe: we track how deep every node reaches (aliases included,
//! since they copy their anchor's subtree) and refuse anything past [`MAX_DEPTH`].

use std::collections::HashMap;

use saphyr_parser::{Event, Parser};

use super::error::JobError;
use super::plan::SourceFormat;

/// How deep a YAML document may nest. Real jobs stay below ten levels.
pub(crate) const MAX_DEPTH: usize = 64;

/// Fail when `text` nests deeper than [`MAX_DEPTH`]; also reports syntax errors.
pub(crate) fn check_depth(text: &str) -> Result<(), JobError> {
    // One frame per open collection: its anchor id and the height of its tallest child.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut anchors: HashMap<usize, usize> = HashMap::new();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| JobError::Syntax {
            format: SourceFormat::Yaml,
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        let (anchor, height) = match event {
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                open.push((anchor, 0));
                if open.len() > MAX_DEPTH {
                    return Err(too_deep(span.start.line()));
                }
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match open.pop() {
                Some((anchor, tallest)) => (anchor, tallest + 1),
                None => continue,
            },
            Event::Scalar(_, _, anchor, _) => (anchor, 1),
            Event::Alias(id) => (0, anchors.get(&id).copied().unwrap_or(1)),
            _ => continue,
        };
        if open.len() + height > MAX_DEPTH + 1 {
            return Err(too_deep(span.start.line()));
        }
        if anchor > 0 {
            anchors.insert(anchor, height);
        }
        if let Some((_, tallest)) = open.last_mut() {
            *tallest = (*tallest).max(height);
        }
    }
    Ok(())
}

fn too_deep(line: usize) -> JobError {
    JobError::invalid(
        "",
        Some(line),
        format!("document nested deeper than {MAX_DEPTH} levels"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_documents_pass() {
        check_depth("a:\n  b:\n    - c: [1, {d: e}]\n").unwrap();
        check_depth(&("[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH))).unwrap();
    }

    #[test]
    fn deep_block_and_flow_nesting_fail() {
        let err = check_depth(&("- ".repeat(100_000) + "x")).unwrap_err();
        assert!(err.to_string().contains("nested deeper than 64"), "{err}");
        assert!(check_depth(&"[".repeat(200)).is_err());
    }

    #[test]
    fn aliases_count_their_anchors_height() {
        let mut text = String::from("a0: &a0 x\n");
        for i in 1..70 {
            text.push_str(&format!("a{i}: &a{i} [*a{}]\n", i - 1));
        }
        let err = check_depth(&text).unwrap_err();
        assert!(err.line().is_some_and(|l| l > 60), "{err}");
    }
}
