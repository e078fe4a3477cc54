//! Printing records: one tab-separated record a line, or JSON.

use serde_json::Value;

/// Prints rows as lines of tab-separated fields, or the JSON values as one array.
pub fn print_rows(json: bool, rows: &[(Vec<String>, Value)]) -> anyhow::Result<()> {
    if json {
        let values: Vec<&Value> = rows.iter().map(|(_, v)| v).collect();
        println!("{}", serde_json::to_string_pretty(&values)?);
    } else {
        for (fields, _) in rows {
            println!("{}", fields.join("\t"));
        }
    }
    Ok(())
}

/// Prints one object as `key: value` lines, or as JSON.
pub fn print_object(json: bool, value: &Value) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
        return Ok(());
    }
    if let Value::Object(map) = value {
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
