//! Printing records: one tab-separated record a line, or JSON. A record is a struct whose
//! fields, in declaration order, are the JSON keys and the `key: value` lines.

use serde::Serialize;
use serde_json::Value;

/// Prints rows as lines of tab-separated fields, or the records as one JSON array.
pub fn print_rows<T: Serialize>(json: bool, rows: &[(Vec<String>, T)]) -> anyhow::Result<()> {
    if json {
        let values: Vec<&T> = rows.iter().map(|(_, v)| v).collect();
        println!("{}", serde_json::to_string_pretty(&values)?);
    } else {
        for (fields, _) in rows {
            println!("{}", fields.join("\t"));
        }
    }
    Ok(())
}

/// Prints one record as `key: value` lines (a multi-line text indented under its key, null
/// as `-`), or as JSON.
pub fn print_object(json: bool, value: &impl Serialize) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
        return Ok(());
    }
    if let Value::Object(map) = serde_json::to_value(value)? {
        for (k, v) in map {
            match v {
                Value::String(s) if s.contains('\n') => {
                    println!("{k}:");
                    for line in s.lines() {
                        println!("    {line}");
                    }
                }
                Value::String(s) => println!("{k}: {s}"),
                Value::Null => println!("{k}: -"),
                other => println!("{k}: {other}"),
            }
        }
    }
    Ok(())
}

/// `-` for a missing value.
pub fn or_dash(v: Option<&str>) -> String {
    v.unwrap_or("-").to_string()
}
