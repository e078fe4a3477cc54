//! The bounds of a job document, checked before any tree is built: its size, how deep it
//! nests, and how big it grows once YAML aliases are expanded.
//!
//! saphyr builds and drops its node tree recursively and copies an anchor's whole subtree for
//! every alias, so a hostile document overflows the stack (ten thousand `- ` on one line) or
//! asks for gigabytes (a 100 KB anchor and 50,000 aliases of it). The parser itself is a state
//! machine, so walking its events first is safe and cheap: we track how deep every node
//! reaches and how many bytes it stands for (aliases included, since they copy their anchor)
//! and refuse a document past [`MAX_DEPTH`] or its expansion budget. The budget is counted in
//! bytes, not nodes, because one node can be a 100 KB string.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser};

use super::error::JobError;
use super::plan::SourceFormat;

/// How deep a YAML document may nest. Real jobs stay below ten levels.
pub(crate) const MAX_DEPTH: usize = 64;

/// The largest job definition the parser reads, in either format. The web app refuses
/// submissions from `limits.job_bytes` (1 MiB by default), which may not exceed this.
pub const MAX_JOB_BYTES: usize = 8 << 20;

/// What one node costs in the expansion budget on top of its text: about what the trees
/// built from it take per node, so a flood of tiny nodes is counted as what it costs.
const NODE_BYTES: usize = 64;

/// A document may grow to this many times its own size once expanded ...
const EXPANSION_FACTOR: usize = 16;

/// ... or to this many bytes, whichever is larger. Real jobs grow about five times (their
/// nodes' text and cost), and their aliases repeat small mappings.
const MIN_EXPANSION_BYTES: usize = 8 << 20;

/// Fails when `text` is longer than [`MAX_JOB_BYTES`]; for JSON and YAML alike.
pub(crate) fn check_size(text: &str) -> Result<(), JobError> {
    if text.len() > MAX_JOB_BYTES {
        return Err(JobError::invalid(
            "",
            None,
            format!(
                "the definition is {} bytes, more than the {MAX_JOB_BYTES} a job may have",
                text.len()
            ),
        ));
    }
    Ok(())
}

/// The expansion budget of a document of `len` bytes.
fn budget(len: usize) -> usize {
    (len.saturating_mul(EXPANSION_FACTOR)).max(MIN_EXPANSION_BYTES)
}

/// An open collection: its anchor, the height of its tallest child and the bytes it stands
/// for so far.
struct Open {
    anchor: usize,
    tallest: usize,
    bytes: usize,
}

/// Fails when `text` is too big, nests deeper than [`MAX_DEPTH`] or expands past its budget;
/// also reports syntax errors.
pub(crate) fn check_bounds(text: &str) -> Result<(), JobError> {
    check_size(text)?;
    let budget = budget(text.len());
    let mut open: Vec<Open> = Vec::new();
    // Per anchor: the height and the expanded bytes of its node.
    let mut anchors: HashMap<usize, (usize, usize)> = HashMap::new();
    let mut total = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| JobError::Syntax {
            format: SourceFormat::Yaml,
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        let line = span.start.line();
        let (anchor, height, bytes, alias) = match event {
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                open.push(Open {
                    anchor,
                    tallest: 0,
                    bytes: NODE_BYTES,
                });
                if open.len() > MAX_DEPTH {
                    return Err(too_deep(line));
                }
                total += NODE_BYTES;
                if total > budget {
                    return Err(too_big(line, budget, false));
                }
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match open.pop() {
                // Its bytes were counted into the total as its children came.
                Some(o) => (o.anchor, o.tallest + 1, o.bytes, false),
                None => continue,
            },
            Event::Scalar(value, _, anchor, _) => {
                let bytes = NODE_BYTES + value.len();
                total += bytes;
                (anchor, 1, bytes, false)
            }
            Event::Alias(id) => {
                let (height, bytes) = anchors.get(&id).copied().unwrap_or((1, NODE_BYTES));
                total = total.saturating_add(bytes);
                (0, height, bytes, true)
            }
            _ => continue,
        };
        if total > budget {
            return Err(too_big(line, budget, alias));
        }
        if open.len() + height > MAX_DEPTH + 1 {
            return Err(too_deep(line));
        }
        if anchor > 0 {
            anchors.insert(anchor, (height, bytes));
        }
        if let Some(parent) = open.last_mut() {
            parent.tallest = parent.tallest.max(height);
            parent.bytes = parent.bytes.saturating_add(bytes);
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

fn too_big(line: usize, budget: usize, alias: bool) -> JobError {
    let message = if alias {
        format!(
            "yaml aliases expand the document past {budget} bytes (each alias counts its anchor's whole size)"
        )
    } else {
        format!(
            "the document has too many nodes: more than {budget} bytes of them ({NODE_BYTES} bytes each and their text)"
        )
    };
    JobError::invalid("", Some(line), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_documents_pass() {
        check_bounds("a:\n  b:\n    - c: [1, {d: e}]\n").unwrap();
        check_bounds(&("[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH))).unwrap();
        // Aliases of small mappings, as jobs use them for repeated timeouts.
        let mut text = String::from("t: &t {minutes: 5}\nactions:\n");
        for _ in 0..1000 {
            text.push_str("- deploy: {timeout: *t, to: tmpfs}\n");
        }
        check_bounds(&text).unwrap();
    }

    #[test]
    fn deep_block_and_flow_nesting_fail() {
        let err = check_bounds(&("- ".repeat(100_000) + "x")).unwrap_err();
        assert!(err.to_string().contains("nested deeper than 64"), "{err}");
        assert!(check_bounds(&"[".repeat(200)).is_err());
    }

    #[test]
    fn aliases_count_their_anchors_height() {
        let mut text = String::from("a0: &a0 x\n");
        for i in 1..70 {
            text.push_str(&format!("a{i}: &a{i} [*a{}]\n", i - 1));
        }
        let err = check_bounds(&text).unwrap_err();
        assert!(err.line().is_some_and(|l| l > 60), "{err}");
    }

    #[test]
    fn aliases_count_their_anchors_bytes() {
        // A 100 KB anchor and 50,000 aliases: refused near the 84th alias, on its line.
        let mut text = format!("a: &a \"{}\"\nb: [", "A".repeat(100_000));
        text.push_str(&["*a"; 50_000].join(",\n  "));
        text.push_str("]\n");
        let err = check_bounds(&text).unwrap_err();
        assert!(err.to_string().contains("yaml aliases expand"), "{err}");
        assert!(err.line().is_some_and(|l| (50..150).contains(&l)), "{err}");
        // Nested anchors multiply: ten levels of ten aliases each.
        let mut text = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "l{i}: &l{i} [*l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}]\n"
            ));
        }
        let err = check_bounds(&text).unwrap_err();
        assert!(err.to_string().contains("yaml aliases expand"), "{err}");
    }

    #[test]
    fn size_and_tiny_node_floods_fail() {
        let err = check_bounds(&"#".repeat(MAX_JOB_BYTES + 1)).unwrap_err();
        assert!(err.to_string().contains("more than the 8388608"), "{err}");
        // 200,000 empty scalars: 13 MB of nodes from 600 KB of text.
        let text = "[".to_string() + &"'',".repeat(200_000) + "]";
        let err = check_bounds(&text).unwrap_err();
        assert!(err.to_string().contains("too many nodes"), "{err}");
    }
}
