//! The XML-RPC wire format: requests in, responses and faults out.
//!
//! Why not `dxr`: lavacli and scripts written against LAVA see Python's marshaller output,
//! and the captures in the reference are byte-exact. `dxr` (0.9) writes its own layout,
//! keeps struct members in a map rather than in the order they were built, and does not wrap
//! base64; matching the captures would mean post-processing its output. So requests are read
//! with quick-xml (entities, CDATA and character references handled by a maintained parser)
//! and replies are written here, one element per line exactly as Python lays them out
//! (reading is in `decode.rs`).

use base64::Engine as _;
use chrono::NaiveDateTime;

pub use super::decode::{DecodeError, parse_call, parse_response};

/// One XML-RPC value. Struct members keep the order they were pushed in.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>` (also `<i4>`/`<i8>` when reading).
    Int(i64),
    /// `<boolean>`.
    Bool(bool),
    /// `<string>`, or a bare `<value>text</value>`.
    Str(String),
    /// `<double>`.
    Double(f64),
    /// `<nil/>` (Python's `None`).
    Nil,
    /// `<dateTime.iso8601>` in UTC without zone, as LAVA sends it.
    DateTime(NaiveDateTime),
    /// `<base64>`.
    Base64(Vec<u8>),
    /// `<array>`.
    Array(Vec<Value>),
    /// `<struct>`, members in order.
    Struct(Vec<(String, Value)>),
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// A string, or nil for `None`.
    pub fn opt_str(s: Option<impl Into<String>>) -> Value {
        s.map(|s| Value::Str(s.into())).unwrap_or(Value::Nil)
    }

    /// A struct from `(name, value)` pairs, in that order.
    pub fn structure<const N: usize>(members: [(&str, Value); N]) -> Value {
        Value::Struct(
            members
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }
}

/// Python's marshaller escapes these three only.
fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// Writes a value as Python's `xmlrpc.client` does, newline placement included (a `<nil/>`
/// value has no newline after it; a base64 payload is wrapped at 76 characters).
fn write(v: &Value, out: &mut String) {
    match v {
        Value::Int(i) => out.push_str(&format!("<value><int>{i}</int></value>\n")),
        Value::Bool(b) => {
            out.push_str(&format!("<value><boolean>{}</boolean></value>\n", *b as u8))
        }
        Value::Double(d) => out.push_str(&format!("<value><double>{d:?}</double></value>\n")),
        Value::Str(s) => {
            out.push_str("<value><string>");
            escape(s, out);
            out.push_str("</string></value>\n");
        }
        Value::Nil => out.push_str("<value><nil/></value>"),
        Value::DateTime(t) => out.push_str(&format!(
            "<value><dateTime.iso8601>{}</dateTime.iso8601></value>\n",
            t.format("%Y%m%dT%H:%M:%S")
        )),
        Value::Base64(bytes) => {
            out.push_str(BASE64_OPEN);
            base64_lines(bytes, out);
            out.push_str(BASE64_CLOSE);
        }
        Value::Array(items) => {
            out.push_str("<value><array><data>\n");
            items.iter().for_each(|i| write(i, out));
            out.push_str("</data></array></value>\n");
        }
        Value::Struct(members) => {
            out.push_str("<value><struct>\n");
            for (name, v) in members {
                out.push_str("<member>\n<name>");
                escape(name, out);
                out.push_str("</name>\n");
                write(v, out);
                out.push_str("</member>\n");
            }
            out.push_str("</struct></value>\n");
        }
    }
}

const BASE64_OPEN: &str = "<value><base64>\n";
const BASE64_CLOSE: &str = "</base64></value>\n";

/// Bytes of a `<base64>` payload taken at a time when it is written in pieces: a multiple of
/// 57, so every piece but the last fills whole 76-character lines.
pub const BASE64_PIECE: usize = 57 * 2048;

/// Appends `bytes` in base64, a newline after every 76 characters and after the last line.
pub fn base64_lines(bytes: &[u8], out: &mut String) {
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    for chunk in text.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
}

/// A reply `[first, <base64>]` written in pieces, for a payload too big to hold: the text
/// before the payload and the text after it. Between them go [`base64_lines`] of pieces of
/// [`BASE64_PIECE`] bytes; the whole is byte for byte what [`response`] writes.
pub fn base64_reply_parts(first: &Value) -> (String, &'static str) {
    let mut head = String::from("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n");
    head.push_str("<value><array><data>\n");
    write(first, &mut head);
    head.push_str(BASE64_OPEN);
    let tail =
        "</base64></value>\n</data></array></value>\n</param>\n</params>\n</methodResponse>\n";
    (head, tail)
}

/// A successful reply carrying `v`.
pub fn response(v: &Value) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n");
    write(v, &mut out);
    out.push_str("</param>\n</params>\n</methodResponse>\n");
    out
}

/// A fault reply.
pub fn fault(code: i64, message: &str) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n");
    let v = Value::structure([
        ("faultCode", Value::Int(code)),
        ("faultString", Value::str(message)),
    ]);
    write(&v, &mut out);
    out.push_str("</fault>\n</methodResponse>\n");
    out
}

/// A method call as lavacli sends it (for tests and benchmarks).
pub fn call(method: &str, params: &[Value]) -> String {
    let mut out = format!(
        "<?xml version='1.0'?>\n<methodCall>\n<methodName>{method}</methodName>\n<params>\n"
    );
    for p in params {
        out.push_str("<param>\n");
        write(p, &mut out);
        out.push_str("</param>\n");
    }
    out.push_str("</params>\n</methodCall>\n");
    out
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;

impl Value {
    /// A typed reply (see [`super::ser`]): members in field order, `None` as nil.
    pub fn from_serialize(reply: &impl serde::Serialize) -> Result<Value, super::ser::SerError> {
        super::ser::to_value(reply)
    }
}
