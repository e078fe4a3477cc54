//! Values written as Python writes them.
//!
//! LAVA renders its templates with Python's Jinja2, so `{{ value }}` is Python's `str(value)`:
//! `True`, `None`, `['a', 'b']`, `{'k': 'v'}`. The device YAML is read from that text, and a
//! list printed as `["a"]` instead of `['a']`, or `true` instead of `True`, would give another
//! text than LAVA's (and `None` a different YAML value than `none`). These functions are the
//! environment's formatter and its `string` filter.

use minijinja::value::{Value, ValueKind};

/// Python's `str(value)`: what `{{ value }}` prints.
pub fn str_of(value: &Value) -> String {
    let mut out = String::new();
    write_str(value, &mut out);
    out
}

/// Python's `str()`, appended to `out`.
fn write_str(value: &Value, out: &mut String) {
    match value.kind() {
        // Jinja2's default `Undefined` prints nothing.
        ValueKind::Undefined => {}
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::String => out.push_str(value.as_str().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            if let Ok(items) = value.try_iter() {
                for (i, item) in items.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_repr(&item, out);
                }
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            if let Ok(keys) = value.try_iter() {
                for (i, key) in keys.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_repr(&key, out);
                    out.push_str(": ");
                    write_repr(&value.get_item(&key).unwrap_or_default(), out);
                }
            }
            out.push('}');
        }
        _ => out.push_str(&value.to_string()),
    }
}

/// Python's `repr(value)`: how items of a list or dict print.
fn write_repr(value: &Value, out: &mut String) {
    match value.kind() {
        ValueKind::String => repr_str(value.as_str().unwrap_or_default(), out),
        // Python's repr of Jinja2's Undefined object.
        ValueKind::Undefined => out.push_str("Undefined"),
        _ => write_str(value, out),
    }
}

/// Python's `repr()` of a string: single quotes unless the text has a single quote and no
/// double quote; backslashes, the quote and control characters escaped.
fn repr_str(text: &str, out: &mut String) {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_as_python_prints_them() {
        assert_eq!(str_of(&Value::from(true)), "True");
        assert_eq!(str_of(&Value::from(())), "None");
        assert_eq!(str_of(&Value::UNDEFINED), "");
        assert_eq!(str_of(&Value::from(115200)), "115200");
        let list = Value::from(vec![
            Value::from("c"),
            Value::from("it's"),
            Value::from(1),
            Value::UNDEFINED,
        ]);
        assert_eq!(str_of(&list), "['c', \"it's\", 1, Undefined]");
        let map = Value::from_object(indexmap::IndexMap::from([
            (Value::from("z"), Value::from("a\nb")),
            (Value::from("a"), Value::from(false)),
        ]));
        assert_eq!(str_of(&map), "{'z': 'a\\nb', 'a': False}");
        assert_eq!(str_of(&Value::from("both ' and \"")), "both ' and \"");
        let mut out = String::new();
        repr_str("both ' and \"", &mut out);
        assert_eq!(out, "'both \\' and \"'");
    }
}
