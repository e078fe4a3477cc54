//! One small document tree for both formats, with the YAML line of every node.
//!
//! JSON (`serde_json::Value`) and YAML (saphyr's `MarkedYamlOwned`) are both turned into a
//! [`Node`] first, so one typed reader ([`super::reader`]) validates both and reports errors the
//! same way. Mapping keys keep their own line, because "the key is wrong" is best shown there.

use saphyr::{MarkedYamlOwned, ScalarOwned, YamlDataOwned};

use super::depth::{MAX_DEPTH, check_bounds, check_size};
use super::error::JobError;
use super::plan::SourceFormat;

/// A node of a parsed document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// The value.
    pub data: Data,
    /// 1-based line where the node starts (YAML only).
    pub line: Option<usize>,
}

/// The value of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Data {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One `key: value` of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    /// 1-based line of the key (YAML only).
    pub line: Option<usize>,
    pub value: Node,
}

impl Data {
    /// The kind of value, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Data::Null => "null",
            Data::Bool(_) => "a boolean",
            Data::Int(_) | Data::Float(_) => "a number",
            Data::Str(_) => "a string",
            Data::Seq(_) => "a list",
            Data::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// Parse JSON text into a tree.
    pub fn from_json_text(text: &str) -> Result<Node, JobError> {
        check_size(text)?;
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| JobError::Syntax {
                format: SourceFormat::Json,
                line: e.line(),
                column: e.column(),
                message: strip_position(&e.to_string()),
            })?;
        Ok(Node::from_json(&value))
    }

    fn from_json(value: &serde_json::Value) -> Node {
        use serde_json::Value as V;
        let data = match value {
            V::Null => Data::Null,
            V::Bool(b) => Data::Bool(*b),
            V::Number(n) => match n.as_i64() {
                Some(i) => Data::Int(i),
                None => Data::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            V::String(s) => Data::Str(s.clone()),
            V::Array(items) => Data::Seq(items.iter().map(Node::from_json).collect()),
            V::Object(map) => Data::Map(
                map.iter()
                    .map(|(k, v)| Entry {
                        key: k.clone(),
                        line: None,
                        value: Node::from_json(v),
                    })
                    .collect(),
            ),
        };
        Node { data, line: None }
    }

    /// Parse YAML text (exactly one document) into a tree, once its bounds are checked.
    pub fn from_yaml_text(text: &str) -> Result<Node, JobError> {
        Node::from_yaml_text_with(text, false)
    }

    /// Like [`Node::from_yaml_text`]; with `allow_duplicate_keys` a key given twice in a
    /// mapping keeps its last value, as PyYAML reads it (LAVA's device YAML needs that: its
    /// `juno.jinja2` renders `actions.deploy` twice). Jobs keep refusing duplicates.
    pub fn from_yaml_text_with(text: &str, allow_duplicate_keys: bool) -> Result<Node, JobError> {
        check_bounds(text)?;
        let syntax = |e: saphyr::ScanError| JobError::Syntax {
            format: SourceFormat::Yaml,
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        };
        let mut loader = saphyr::YamlLoader::<MarkedYamlOwned>::default();
        loader.allow_duplicate_keys(allow_duplicate_keys);
        let mut parser = saphyr_parser::Parser::new_from_str(text);
        parser.load(&mut loader, true).map_err(syntax)?;
        if let Some(e) = loader.error() {
            return Err(syntax(e.clone()));
        }
        let docs = loader.into_documents();
        let mut docs = docs.into_iter();
        let Some(first) = docs.next() else {
            return Err(JobError::invalid("", Some(1), "empty document"));
        };
        if let Some(second) = docs.next() {
            let line = Some(second.span.start.line());
            return Err(JobError::invalid(
                "",
                line,
                "expected one yaml document, found several",
            ));
        }
        Node::from_yaml(first, 0)
    }

    fn from_yaml(node: MarkedYamlOwned, depth: usize) -> Result<Node, JobError> {
        let line = Some(node.span.start.line());
        if depth > MAX_DEPTH {
            return Err(JobError::invalid("", line, "document nested too deeply"));
        }
        let data = match node.data {
            YamlDataOwned::Value(scalar) => match scalar {
                ScalarOwned::Null => Data::Null,
                ScalarOwned::Boolean(b) => Data::Bool(b),
                ScalarOwned::Integer(i) => Data::Int(i),
                ScalarOwned::FloatingPoint(f) => Data::Float(f.into_inner()),
                ScalarOwned::String(s) => Data::Str(s),
            },
            YamlDataOwned::Representation(s, _, _) => Data::Str(s),
            YamlDataOwned::Tagged(_, inner) => return Node::from_yaml(*inner, depth + 1),
            YamlDataOwned::Sequence(items) => Data::Seq(
                items
                    .into_iter()
                    .map(|n| Node::from_yaml(n, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            YamlDataOwned::Mapping(map) => {
                let mut entries = Vec::with_capacity(map.len());
                for (k, v) in map {
                    let key_line = Some(k.span.start.line());
                    let key = match Node::from_yaml(k, depth + 1)?.data {
                        Data::Str(s) => s,
                        Data::Int(i) => i.to_string(),
                        Data::Float(f) => f.to_string(),
                        Data::Bool(b) => b.to_string(),
                        Data::Null => "null".to_string(),
                        Data::Seq(_) | Data::Map(_) => {
                            return Err(JobError::invalid(
                                "",
                                key_line,
                                "mapping keys must be scalars",
                            ));
                        }
                    };
                    let value = Node::from_yaml(v, depth + 1)?;
                    entries.push(Entry {
                        key,
                        line: key_line,
                        value,
                    });
                }
                Data::Map(entries)
            }
            YamlDataOwned::Alias(_) | YamlDataOwned::BadValue => {
                return Err(JobError::invalid(
                    "",
                    line,
                    "invalid or unresolved yaml value",
                ));
            }
        };
        Ok(Node { data, line })
    }

    /// This node as JSON (for `context`, `notify` and inline test definitions).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as V;
        match &self.data {
            Data::Null => V::Null,
            Data::Bool(b) => V::Bool(*b),
            Data::Int(i) => V::from(*i),
            Data::Float(f) => serde_json::Number::from_f64(*f).map_or(V::Null, V::Number),
            Data::Str(s) => V::String(s.clone()),
            Data::Seq(items) => V::Array(items.iter().map(Node::to_json).collect()),
            Data::Map(entries) => V::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// serde_json appends " at line L column C"; the error carries those separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_keys_and_values_carry_lines() {
        let node = Node::from_yaml_text("a: 1\nb:\n  - x\n  - {c: true}\n").unwrap();
        let Data::Map(entries) = &node.data else {
            panic!("not a map")
        };
        assert_eq!(entries[1].key, "b");
        assert_eq!(entries[1].line, Some(2));
        let Data::Seq(items) = &entries[1].value.data else {
            panic!("not a seq")
        };
        assert_eq!(items[1].line, Some(4));
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": 1, "b": ["x", {"c": true}]})
        );
    }

    #[test]
    fn yaml_syntax_errors_name_the_line() {
        let err = Node::from_yaml_text("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(
            matches!(
                err,
                JobError::Syntax {
                    format: SourceFormat::Yaml,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn json_syntax_errors_keep_line_and_column() {
        let err = Node::from_json_text("{\n  \"a\": 1,\n}").unwrap_err();
        let JobError::Syntax { line, message, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(*line, 3);
        assert!(!message.contains(" at line "), "{message}");
    }

    #[test]
    fn documents_over_the_size_limit_are_refused_in_either_format() {
        let pad = " ".repeat(super::super::depth::MAX_JOB_BYTES);
        let err = Node::from_json_text(&format!("{{}}{pad}")).unwrap_err();
        assert!(err.to_string().contains("more than the 8388608"), "{err}");
        let err = Node::from_yaml_text(&format!("a: 1\n{pad}")).unwrap_err();
        assert!(err.to_string().contains("more than the 8388608"), "{err}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "- ".repeat(10_000) + "x";
        let err = Node::from_yaml_text(&text).unwrap_err();
        assert!(err.to_string().contains("nested deeper than"), "{err}");
        assert!(Node::from_yaml_text("").is_err());
        assert!(Node::from_yaml_text("a: 1\n---\nb: 2\n").is_err());
    }
}
