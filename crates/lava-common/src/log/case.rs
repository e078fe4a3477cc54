//! What a log's `results` lines mean: the test case each one files, and log values as JSON
//! (for the pages and APIs that show a line's mapping).

use std::collections::BTreeMap;

use super::{Level, Message, Value, parse_line};
use crate::state::TestResult;

/// A test case, as a `results` line of the log files it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultCase {
    /// The suite: the test definition (`0_smoke`), or `lava` for the dispatcher's own actions.
    pub suite: String,
    /// The case name.
    pub name: String,
    /// What the test shell reported for it.
    pub result: TestResult,
    /// A measurement, as printed (a decimal number).
    pub measurement: Option<String>,
    /// The measurement's units, as printed (empty when none were given).
    pub units: String,
    /// The test set, if any.
    pub set: Option<String>,
    /// Everything else the line said.
    pub metadata: serde_json::Value,
    /// The line of the log where the case's output starts, if known.
    pub start_line: Option<i64>,
    /// Where it ends (the result line itself when nothing else is known).
    pub end_line: Option<i64>,
}

impl ResultCase {
    /// A case with only its suite, name and result: no measurement, units, set, metadata or
    /// log lines. Set the others with struct update syntax.
    pub fn new(suite: impl Into<String>, name: impl Into<String>, result: TestResult) -> Self {
        ResultCase {
            suite: suite.into(),
            name: name.into(),
            result,
            measurement: None,
            units: String::new(),
            set: None,
            metadata: serde_json::json!({}),
            start_line: None,
            end_line: None,
        }
    }
}

/// The keys of a `results` mapping that have a column of their own; the rest is metadata.
const KNOWN: [&str; 8] = [
    "case",
    "definition",
    "result",
    "measurement",
    "units",
    "set",
    "starttc",
    "endtc",
];

impl Value {
    /// The text of a string or scalar; `None` for a mapping or list.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The value as JSON: strings and scalars as strings (as LAVA's YAML reads them back),
    /// mappings as objects with their keys sorted, lists as arrays.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Str(s) | Value::Scalar(s) => serde_json::Value::String(s.clone()),
            Value::Map(m) => map_to_json(m),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect()),
        }
    }
}

/// A mapping message as a JSON object (keys sorted).
pub fn map_to_json(m: &BTreeMap<String, Value>) -> serde_json::Value {
    serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// The test case a `results` line at `line_no` (0-based) files, if it is one: a line of
/// another level, without a `case` or with a result that is not one of pass, fail, skip and
/// unknown files nothing.
pub fn case_of(line: &str, line_no: i64) -> Option<ResultCase> {
    // Most lines are not results: skip them before parsing.
    if !line.contains("\"lvl\": \"results\"") {
        return None;
    }
    let parsed = parse_line(line).ok()?;
    let (Level::Results, Message::Map(m)) = (parsed.lvl, parsed.msg) else {
        return None;
    };
    let field = |k: &str| m.get(k).and_then(Value::as_text).map(str::to_string);
    let name = field("case")?;
    let result = field("result").and_then(|r| r.parse::<TestResult>().ok())?;
    let metadata = m
        .iter()
        .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect();
    let line_of = |k: &str| field(k).and_then(|s| s.parse().ok()).or(Some(line_no));
    Some(ResultCase {
        suite: field("definition").unwrap_or_else(|| "lava".into()),
        name,
        result,
        measurement: field("measurement").filter(|x| x.parse::<f64>().is_ok()),
        units: field("units").unwrap_or_default(),
        set: field("set"),
        metadata: serde_json::Value::Object(metadata),
        start_line: line_of("starttc"),
        end_line: line_of("endtc"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_results_line_files_its_case() {
        let line = r#"- {"dt": "2026-01-01T00:00:00.000000", "lvl": "results", "msg": {"case": "boot-time", "definition": "0_smoke", "endtc": ! "9", "extra": {"a": ! "1"}, "measurement": ! "42.5", "result": "pass", "starttc": ! "5", "units": "ms"}}"#;
        let case = case_of(line, 12).unwrap();
        assert_eq!(case.suite, "0_smoke");
        assert_eq!(case.name, "boot-time");
        assert_eq!(case.result, TestResult::Pass);
        assert_eq!(case.measurement.as_deref(), Some("42.5"));
        assert_eq!((case.start_line, case.end_line), (Some(5), Some(9)));
        assert_eq!(case.metadata, serde_json::json!({"extra": {"a": "1"}}));
        // The dispatcher's own cases, and the line itself when no range is given.
        let line = r#"- {"dt": "x", "lvl": "results", "msg": {"case": "job", "result": "fail"}}"#;
        let case = case_of(line, 3).unwrap();
        assert_eq!((case.suite.as_str(), case.start_line), ("lava", Some(3)));
        // Not a case.
        let info = r#"- {"dt": "x", "lvl": "info", "msg": "results"}"#;
        assert_eq!(case_of(info, 0), None);
        let odd = r#"- {"dt": "x", "lvl": "results", "msg": {"case": "a", "result": "maybe"}}"#;
        assert_eq!(case_of(odd, 0), None);
    }
}
