//! A typed, path-tracking reader over a [`Node`] tree.
//!
//! Each accessor either returns the typed value or a [`JobError`] naming the path into the
//! document (`actions[1].boot.method`) and, for YAML, the line. The format parsers use only
//! this, so JSON and YAML jobs get the same wording for the same mistake.

use std::time::Duration;

use super::error::JobError;
use super::node::{Data, Entry, Node};

/// A node together with where it sits in the document: its path and (YAML) line.
#[derive(Debug, Clone)]
pub(crate) struct At<'a> {
    pub node: &'a Node,
    pub path: String,
    pub line: Option<usize>,
}

impl<'a> At<'a> {
    /// The document root.
    pub fn root(node: &'a Node) -> Self {
        At {
            node,
            path: String::new(),
            line: node.line,
        }
    }

    /// An error at this node.
    pub fn error(&self, message: impl Into<String>) -> JobError {
        JobError::invalid(self.path.clone(), self.line, message)
    }

    fn expected(&self, what: &str) -> JobError {
        self.error(format!("expected {what}, found {}", self.node.data.kind()))
    }

    /// The path of a child key.
    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Whether this node is null (an empty YAML value).
    pub fn is_null(&self) -> bool {
        matches!(self.node.data, Data::Null)
    }

    /// This node as a mapping.
    pub fn map(&self) -> Result<MapAt<'a>, JobError> {
        match &self.node.data {
            Data::Map(entries) => Ok(MapAt {
                at: self.clone(),
                entries,
            }),
            _ => Err(self.expected("a mapping")),
        }
    }

    /// This node as a list of cursors.
    pub fn seq(&self) -> Result<Vec<At<'a>>, JobError> {
        match &self.node.data {
            Data::Seq(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, node)| At {
                    node,
                    path: format!("{}[{i}]", self.path),
                    line: node.line.or(self.line),
                })
                .collect()),
            _ => Err(self.expected("a list")),
        }
    }

    /// This node as a string.
    pub fn str(&self) -> Result<&'a str, JobError> {
        match &self.node.data {
            Data::Str(s) => Ok(s),
            _ => Err(self.expected("a string")),
        }
    }

    /// Any scalar as a string (`metadata` and test `parameters` values).
    pub fn scalar_string(&self) -> Result<String, JobError> {
        match &self.node.data {
            Data::Str(s) => Ok(s.clone()),
            Data::Int(i) => Ok(i.to_string()),
            Data::Float(f) => Ok(f.to_string()),
            Data::Bool(b) => Ok(b.to_string()),
            Data::Null => Ok(String::new()),
            _ => Err(self.expected("a scalar")),
        }
    }

    /// This node as a list of strings.
    pub fn strings(&self) -> Result<Vec<String>, JobError> {
        self.seq()?
            .iter()
            .map(|i| i.str().map(str::to_string))
            .collect()
    }

    /// A string or a list of strings, as a list.
    pub fn string_or_strings(&self) -> Result<Vec<String>, JobError> {
        match &self.node.data {
            Data::Str(s) => Ok(vec![s.clone()]),
            Data::Seq(_) => self.strings(),
            _ => Err(self.expected("a string or a list of strings")),
        }
    }

    /// This node as a boolean.
    pub fn bool(&self) -> Result<bool, JobError> {
        match self.node.data {
            Data::Bool(b) => Ok(b),
            _ => Err(self.expected("a boolean")),
        }
    }

    /// This node as a non-negative integer.
    pub fn u64(&self) -> Result<u64, JobError> {
        match self.node.data {
            Data::Int(i) => u64::try_from(i)
                .map_err(|_| self.error(format!("expected a non-negative integer, found {i}"))),
            _ => Err(self.expected("an integer")),
        }
    }

    /// A number of seconds (seed-era JSON `timeout`).
    pub fn seconds(&self) -> Result<Duration, JobError> {
        self.u64().map(Duration::from_secs)
    }

    /// This node as JSON.
    pub fn json(&self) -> serde_json::Value {
        self.node.to_json()
    }
}

/// A mapping node.
#[derive(Debug, Clone)]
pub(crate) struct MapAt<'a> {
    /// The mapping itself.
    pub at: At<'a>,
    entries: &'a [Entry],
}

impl<'a> MapAt<'a> {
    fn child(&self, entry: &'a Entry) -> At<'a> {
        At {
            node: &entry.value,
            path: self.at.child_path(&entry.key),
            line: entry.line.or(entry.value.line).or(self.at.line),
        }
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<At<'a>> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| self.child(e))
    }

    /// The value of `key`, if present and not null.
    pub fn get_some(&self, key: &str) -> Option<At<'a>> {
        self.get(key).filter(|a| !a.is_null())
    }

    /// The value of `key`, or LAVA's `required key not provided` at that path.
    pub fn required(&self, key: &str) -> Result<At<'a>, JobError> {
        self.get(key).ok_or_else(|| {
            JobError::invalid(
                self.at.child_path(key),
                self.at.line,
                "required key not provided",
            )
        })
    }

    /// Every entry, in document order, with its key.
    pub fn entries(&self) -> impl Iterator<Item = (&'a str, At<'a>)> + '_ {
        self.entries.iter().map(|e| (e.key.as_str(), self.child(e)))
    }

    /// Reject keys not in `allowed` (LAVA's `extra keys not allowed`).
    pub fn deny_unknown(&self, allowed: &[&str]) -> Result<(), JobError> {
        match self.entries().find(|(k, _)| !allowed.contains(k)) {
            Some((_, at)) => Err(at.error("extra keys not allowed")),
            None => Ok(()),
        }
    }

    /// The value of `key` as an optional string.
    pub fn opt_str(&self, key: &str) -> Result<Option<String>, JobError> {
        self.get_some(key)
            .map(|a| a.str().map(str::to_string))
            .transpose()
    }

    /// The value of `key` as a required string.
    pub fn req_str(&self, key: &str) -> Result<String, JobError> {
        self.required(key)?.str().map(str::to_string)
    }

    /// The value of `key` as a list of strings, empty when absent.
    pub fn strings(&self, key: &str) -> Result<Vec<String>, JobError> {
        self.get_some(key)
            .map(|a| a.strings())
            .transpose()
            .map(Option::unwrap_or_default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Node {
        Node::from_yaml_text(text).unwrap()
    }

    #[test]
    fn paths_and_lines_follow_the_document() {
        let node = yaml("actions:\n- boot:\n    method: 3\n");
        let root = At::root(&node).map().unwrap();
        let action = &root.required("actions").unwrap().seq().unwrap()[0];
        let boot = action
            .map()
            .unwrap()
            .required("boot")
            .unwrap()
            .map()
            .unwrap();
        let err = boot.req_str("method").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: actions[0].boot.method: expected a string, found a number"
        );
        let err = boot.required("prompts").unwrap_err();
        assert_eq!(err.path(), "actions[0].boot.prompts");
        assert_eq!(err.line(), Some(2));
    }

    #[test]
    fn unknown_keys_are_named() {
        let node = yaml("a: 1\nzz: 2\n");
        let err = At::root(&node)
            .map()
            .unwrap()
            .deny_unknown(&["a"])
            .unwrap_err();
        assert_eq!(err.to_string(), "line 2: zz: extra keys not allowed");
    }

    #[test]
    fn scalars_convert() {
        let node = yaml("n: -1\nl: [a, b]\ns: x\n");
        let m = At::root(&node).map().unwrap();
        assert!(m.required("n").unwrap().u64().is_err());
        assert_eq!(m.strings("l").unwrap(), ["a", "b"]);
        assert_eq!(m.required("s").unwrap().string_or_strings().unwrap(), ["x"]);
        assert_eq!(m.required("n").unwrap().scalar_string().unwrap(), "-1");
        assert!(m.strings("missing").unwrap().is_empty());
    }
}
