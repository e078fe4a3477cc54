//! Reading XML-RPC documents (calls, and responses for tests and benchmarks) with quick-xml.

use base64::Engine as _;
use chrono::NaiveDateTime;
use quick_xml::events::Event;

use super::codec::Value;

/// How deep XML-RPC values may nest (an array or struct inside another counts one level).
/// lavacli's calls nest two levels; the limit keeps the tree, its recursive reading into
/// [`Value`]s and its drop far from the stack's end.
pub const MAX_DEPTH: usize = 64;

/// A request that is not an XML-RPC method call.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not well-formed, or not a method call.
    #[error("undecodable XML-RPC request: {0}")]
    Malformed(String),
    /// Values nested deeper than [`MAX_DEPTH`].
    #[error("XML-RPC values nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

fn err(msg: impl Into<String>) -> DecodeError {
    DecodeError::Malformed(msg.into())
}

/// A parsed element: its name, its children and its text (entities resolved).
#[derive(Debug, Default)]
struct Element {
    name: String,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// Reads the document into a tree, iteratively (the bodies are bounded by the route's body
/// limit, and a tree keeps the value rules below simple). Values may nest [`MAX_DEPTH`]
/// levels: each `<value>` opens one, so the element stack stays within three times that.
fn tree(body: &str) -> Result<Element, DecodeError> {
    let mut reader = quick_xml::Reader::from_str(body);
    let mut stack = vec![Element::default()];
    // `<value>` elements open on the stack; the outermost is a parameter's.
    let mut values = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| err(e.to_string()))?;
        let top = stack.last_mut().ok_or_else(|| err("unbalanced tags"))?;
        match event {
            Event::Start(s) => {
                let name = AsRef::<str>::as_ref(&s.local_name()).to_string();
                if name == "value" {
                    values += 1;
                    if values > MAX_DEPTH {
                        return Err(DecodeError::TooDeep);
                    }
                }
                // Other elements between values (`array`, `data`, `struct`, `member`) are
                // at most three per level; anything else nested that deep is not XML-RPC.
                if stack.len() > 3 * (MAX_DEPTH + 4) {
                    return Err(DecodeError::TooDeep);
                }
                stack.push(Element {
                    name,
                    ..Default::default()
                })
            }
            Event::Empty(s) => top.children.push(Element {
                name: AsRef::<str>::as_ref(&s.local_name()).to_string(),
                ..Default::default()
            }),
            Event::End(_) => {
                let done = stack.pop().ok_or_else(|| err("unbalanced tags"))?;
                if done.name == "value" {
                    values = values.saturating_sub(1);
                }
                stack
                    .last_mut()
                    .ok_or_else(|| err("unbalanced tags"))?
                    .children
                    .push(done);
            }
            Event::Text(t) => top.text.push_str(&t.xml10_content()),
            Event::CData(t) => top.text.push_str(&t),
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref().map_err(|e| err(e.to_string()))? {
                    top.text.push(c);
                } else {
                    let name = r.xml10_content();
                    let text = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| err(format!("unknown entity &{name};")))?;
                    top.text.push_str(text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut root = stack.pop().ok_or_else(|| err("unbalanced tags"))?;
    if !stack.is_empty() {
        return Err(err("unclosed tags"));
    }
    root.children.pop().ok_or_else(|| err("empty document"))
}

fn value(v: &Element) -> Result<Value, DecodeError> {
    let Some(typed) = v.children.first() else {
        return Ok(Value::Str(v.text.clone()));
    };
    let text = typed.text.trim();
    let bad = |what: &str| err(format!("bad {what} value '{text}'"));
    Ok(match typed.name.as_str() {
        "int" | "i4" | "i8" => Value::Int(text.parse().map_err(|_| bad("int"))?),
        "boolean" => Value::Bool(match text {
            "1" => true,
            "0" => false,
            _ => return Err(bad("boolean")),
        }),
        "string" => Value::Str(typed.text.clone()),
        "double" => Value::Double(text.parse().map_err(|_| bad("double"))?),
        "nil" => Value::Nil,
        "dateTime.iso8601" => Value::DateTime(
            NaiveDateTime::parse_from_str(text, "%Y%m%dT%H:%M:%S").map_err(|_| bad("dateTime"))?,
        ),
        "base64" => Value::Base64(
            base64::engine::general_purpose::STANDARD
                .decode(text.split_whitespace().collect::<String>())
                .map_err(|_| bad("base64"))?,
        ),
        "array" => Value::Array(
            typed
                .child("data")
                .map(|d| d.children.iter().map(value).collect())
                .transpose()?
                .unwrap_or_default(),
        ),
        "struct" => Value::Struct(
            typed
                .children
                .iter()
                .map(|m| {
                    let name = m.child("name").map(|n| n.text.clone()).unwrap_or_default();
                    let v = m
                        .child("value")
                        .ok_or_else(|| err("member without value"))?;
                    Ok((name, value(v)?))
                })
                .collect::<Result<_, DecodeError>>()?,
        ),
        other => return Err(err(format!("unknown type <{other}>"))),
    })
}

/// Parses a `methodCall`: the method name and its parameters.
pub fn parse_call(body: &[u8]) -> Result<(String, Vec<Value>), DecodeError> {
    let body = std::str::from_utf8(body).map_err(|_| err("not UTF-8"))?;
    let call = tree(body)?;
    if call.name != "methodCall" {
        return Err(err("no methodCall element"));
    }
    let name = call
        .child("methodName")
        .map(|n| n.text.trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| err("no methodName"))?;
    let params = match call.child("params") {
        Some(p) => p
            .children
            .iter()
            .filter(|c| c.name == "param")
            .map(|p| {
                p.child("value")
                    .ok_or_else(|| err("param without value"))
                    .and_then(value)
            })
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok((name, params))
}

/// Parses a `methodResponse` (for clients: tests and benchmarks): the value, or the fault's
/// code and string.
pub fn parse_response(body: &[u8]) -> Result<Result<Value, (i64, String)>, DecodeError> {
    let body = std::str::from_utf8(body).map_err(|_| err("not UTF-8"))?;
    let doc = tree(body)?;
    if doc.name != "methodResponse" {
        return Err(err("no methodResponse element"));
    }
    if let Some(f) = doc.child("fault") {
        let v = value(f.child("value").ok_or_else(|| err("fault without value"))?)?;
        let Value::Struct(members) = v else {
            return Err(err("fault is not a struct"));
        };
        let get = |k: &str| members.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        return match (get("faultCode"), get("faultString")) {
            (Some(Value::Int(code)), Some(Value::Str(s))) => Ok(Err((code, s))),
            _ => Err(err("fault without code or string")),
        };
    }
    let v = doc
        .child("params")
        .and_then(|p| p.child("param"))
        .and_then(|p| p.child("value"))
        .ok_or_else(|| err("response without a value"))?;
    Ok(Ok(value(v)?))
}
