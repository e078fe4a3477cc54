//! The job log format: `output.yaml`, one YAML flow mapping per line.
//!
//! ```text
//! - {"dt": "2026-11-24T19:05:28.654479", "lvl": "info", "msg": "start: 1 deployimages"}
//! ```
//!
//! Written exactly as LAVA 2023.01 writes it, so `lavacli` and KernelCI read our logs
//! unchanged: keys sorted at every depth, every string double-quoted with YAML escapes and
//! the output pure ASCII, non-string scalars as `! "746"`. [`LogLine::to_line`] writes a
//! line; [`parse_line`] reads one of our own lines back (the server needs the `results`).

mod case;
mod cut;
mod escape;
mod mask;
mod parse;

pub use case::{ResultCase, case_of, map_to_json};
pub use cut::{CUT_MARKER, cut_line};
pub use mask::{LOG_MASK, SecretMask};
pub use parse::{ParseLogError, parse_line};

use std::collections::BTreeMap;

/// The level of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Details.
    Debug,
    /// Progress (top-level action framing).
    Info,
    /// Something to look at.
    Warning,
    /// A failure the dispatcher reports, such as a power command that failed or a canceled job.
    Error,
    /// The error that ended an action.
    Exception,
    /// A test result (the message is a mapping).
    Results,
    /// One line of the device's console output.
    Target,
    /// What was sent to the device.
    Input,
    /// Output of another namespace's device (multinode; kept for compatibility).
    Feedback,
    /// A job event.
    Event,
}

impl Level {
    /// Every level.
    pub const ALL: [Level; 10] = [
        Level::Debug,
        Level::Info,
        Level::Warning,
        Level::Error,
        Level::Exception,
        Level::Results,
        Level::Target,
        Level::Input,
        Level::Feedback,
        Level::Event,
    ];

    /// The name written in the `lvl` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Exception => "exception",
            Level::Results => "results",
            Level::Target => "target",
            Level::Input => "input",
            Level::Feedback => "feedback",
            Level::Event => "event",
        }
    }

    /// The level named `name`, if any.
    pub fn from_name(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

/// A value inside a mapping message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string, written double-quoted.
    Str(String),
    /// A number, boolean or null, written as `! "text"` (PyYAML reads it back typed).
    Scalar(String),
    /// A mapping; keys are written sorted.
    Map(BTreeMap<String, Value>),
    /// A list, written in flow style: `[a, b]`.
    List(Vec<Value>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

/// The message of a line: text, or a mapping (for `results`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Text, as most lines carry.
    Text(String),
    /// A mapping, as `results` lines carry.
    Map(BTreeMap<String, Value>),
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The dispatcher's UTC time, naive ISO 8601 with microseconds
    /// (`2026-11-24T19:05:28.631323`).
    pub dt: String,
    /// How important the line is; `results`, `feedback` and the like are levels too.
    pub lvl: Level,
    /// What it says: text, or a mapping for `results`.
    pub msg: Message,
    /// The namespace, on `feedback` lines only.
    pub ns: Option<String>,
}

impl LogLine {
    /// A text line at `lvl`, stamped with `dt`.
    pub fn text(dt: impl Into<String>, lvl: Level, msg: impl Into<String>) -> LogLine {
        LogLine {
            dt: dt.into(),
            lvl,
            msg: Message::Text(msg.into()),
            ns: None,
        }
    }

    /// The line as written to `output.yaml`, newline included.
    pub fn to_line(&self) -> String {
        let mut out = String::with_capacity(64);
        if let (Message::Text(t), None) = (&self.msg, &self.ns) {
            append_text_line(&mut out, &self.dt, self.lvl, t);
            return out;
        }
        out.push_str("- {\"dt\": ");
        escape::quoted(&mut out, &self.dt);
        out.push_str(", \"lvl\": ");
        escape::quoted(&mut out, self.lvl.as_str());
        out.push_str(", \"msg\": ");
        match &self.msg {
            Message::Text(t) => escape::quoted(&mut out, t),
            Message::Map(m) => write_map(&mut out, m),
        }
        if let Some(ns) = &self.ns {
            out.push_str(", \"ns\": ");
            escape::quoted(&mut out, ns);
        }
        out.push_str("}\n");
        out
    }
}

/// Appends a text line to `out` without building a [`LogLine`]: the console reader's hot
/// path, which writes a million lines a second.
pub fn append_text_line(out: &mut String, dt: &str, lvl: Level, msg: &str) {
    out.push_str("- {\"dt\": ");
    escape::quoted(out, dt);
    out.push_str(", \"lvl\": \"");
    out.push_str(lvl.as_str());
    out.push_str("\", \"msg\": ");
    escape::quoted(out, msg);
    out.push_str("}\n");
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Str(s) => escape::quoted(out, s),
        Value::Scalar(s) => {
            out.push_str("! ");
            escape::quoted(out, s);
        }
        Value::Map(m) => write_map(out, m),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
    }
}

fn write_map(out: &mut String, m: &BTreeMap<String, Value>) {
    out.push('{');
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        escape::quoted(out, k);
        out.push_str(": ");
        write_value(out, v);
    }
    out.push('}');
}

/// The current UTC time in the `dt` format.
pub fn now_dt() -> String {
    format_dt(chrono::Utc::now())
}

/// Formats a time as LAVA's `dt`: naive UTC ISO 8601 with six fraction digits.
pub fn format_dt(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_lava_lines_byte_for_byte() {
        let line = LogLine::text(
            "2026-11-24T19:05:28.654479",
            Level::Info,
            "start: 1 deployimages (timeout 00:04:00) [common]",
        );
        assert_eq!(
            line.to_line(),
            "- {\"dt\": \"2026-11-24T19:05:28.654479\", \"lvl\": \"info\", \"msg\": \"start: 1 deployimages (timeout 00:04:00) [common]\"}\n"
        );
        let mut m = BTreeMap::new();
        m.insert("result".to_string(), Value::from("pass"));
        m.insert("definition".to_string(), Value::from("0_smoke-inline"));
        m.insert("case".to_string(), Value::from("kernel-uname"));
        m.insert("starttc".to_string(), Value::Scalar("743".into()));
        m.insert("endtc".to_string(), Value::Scalar("746".into()));
        let line = LogLine {
            dt: "2026-11-24T19:06:22.523375".into(),
            lvl: Level::Results,
            msg: Message::Map(m),
            ns: None,
        };
        assert_eq!(
            line.to_line(),
            "- {\"dt\": \"2026-11-24T19:06:22.523375\", \"lvl\": \"results\", \"msg\": {\"case\": \"kernel-uname\", \"definition\": \"0_smoke-inline\", \"endtc\": ! \"746\", \"result\": \"pass\", \"starttc\": ! \"743\"}}\n"
        );
        let input = LogLine::text("x", Level::Input, "mkdir /lava-213\n");
        assert!(input.to_line().contains("\"msg\": \"mkdir /lava-213\\n\"}"));
    }

    #[test]
    fn dates() {
        let t = |s, ns| chrono::DateTime::from_timestamp(s, ns).unwrap();
        assert_eq!(format_dt(t(0, 0)), "1970-01-01T00:00:00.000000");
        assert_eq!(
            format_dt(t(951_782_400, 5_000)),
            "2000-02-29T00:00:00.000005"
        );
        assert_eq!(now_dt().len(), 26);
    }
}
