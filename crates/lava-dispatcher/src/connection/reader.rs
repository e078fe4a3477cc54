//! The console reader: every byte the device prints is logged as `target` lines and handed to
//! the expect engine.
//!
//! A line is logged when its newline arrives; a partial line (a prompt such as `login: `) is
//! logged once the device has been quiet for [`PARTIAL_AFTER`], so prompts show in the log
//! without waiting for a newline that may never come.

use std::time::Duration;

use tokio::io::AsyncReadExt as _;

use crate::joblog::JobLog;

/// How long a partial line waits for the rest before it is logged on its own.
pub const PARTIAL_AFTER: Duration = Duration::from_millis(250);

/// The most console output kept for matching: prompts are short, and a bound keeps a
/// chatty device from growing memory or slowing every search.
pub const WINDOW: usize = 64 * 1024;

/// The longest console line logged whole; a longer one is logged in parts.
const LONGEST_LINE: usize = 64 * 1024;

/// Console output not yet consumed by a match, shared by the reader and the expect engine.
#[derive(Debug, Default)]
pub struct Window {
    /// The unmatched output (at most 2 × [`WINDOW`] bytes: the oldest is dropped first).
    pub data: Vec<u8>,
    /// Why the console closed, once it has.
    pub closed: Option<String>,
}

/// The reader's side of the shared window: appends and wakes the expect engine.
pub(crate) struct Feed {
    pub(crate) window: std::sync::Arc<std::sync::Mutex<Window>>,
    pub(crate) wake: tokio::sync::watch::Sender<u64>,
}

impl Feed {
    fn append(&self, bytes: &[u8]) {
        if let Ok(mut w) = self.window.lock() {
            w.data.extend_from_slice(bytes);
            // Compact only once the window is twice its size, so a flood of output costs
            // one move per WINDOW bytes rather than one per read.
            if w.data.len() > 2 * WINDOW {
                let cut = w.data.len() - WINDOW;
                w.data.drain(..cut);
            }
        }
        self.wake.send_modify(|n| *n += 1);
    }

    fn close(&self, why: String) {
        if let Ok(mut w) = self.window.lock() {
            w.closed.get_or_insert(why);
        }
        self.wake.send_modify(|n| *n += 1);
    }
}

/// Splits console bytes into log lines.
pub(crate) struct LineSplitter {
    partial: Vec<u8>,
    log: JobLog,
}

impl LineSplitter {
    pub(crate) fn new(log: JobLog) -> LineSplitter {
        LineSplitter {
            partial: Vec::new(),
            log,
        }
    }

    /// Logs every complete line in `data` and keeps the rest.
    pub(crate) fn push(&mut self, data: &[u8]) {
        let mut lines: Vec<std::borrow::Cow<'_, [u8]>> = Vec::new();
        let mut rest = data;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            if self.partial.is_empty() {
                lines.push(std::borrow::Cow::Borrowed(&rest[..nl]));
            } else {
                self.partial.extend_from_slice(&rest[..nl]);
                lines.push(std::borrow::Cow::Owned(std::mem::take(&mut self.partial)));
            }
            rest = &rest[nl + 1..];
        }
        self.log.targets(&lines);
        self.partial.extend_from_slice(rest);
        // A line that never ends must not grow without bound. Its start is logged, up to a
        // cut that splits no secret value (masking sees each logged part on its own).
        if self.partial.len() > LONGEST_LINE {
            let cut = match self.log.cut_point(&self.partial) {
                0 => self.partial.len(),
                cut => cut,
            };
            let rest = self.partial.split_off(cut);
            let line = std::mem::replace(&mut self.partial, rest);
            self.emit(&line);
        }
    }

    /// Logs the partial line, if any.
    pub(crate) fn flush(&mut self) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.emit(&line);
        }
    }

    fn emit(&self, line: &[u8]) {
        self.log.targets(&[line]);
    }
}

/// Reads the console until it closes, logging lines and feeding the window. It never waits
/// for a consumer, so the console is drained and logged even between expects.
pub(crate) async fn run<R>(mut source: R, log: JobLog, feed: Feed)
where
    R: tokio::io::AsyncRead + Unpin,
{
    let mut splitter = LineSplitter::new(log);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let read = tokio::time::timeout(PARTIAL_AFTER, source.read(&mut buf)).await;
        let why = match read {
            Err(_) => {
                splitter.flush();
                let _ = splitter.log.flush();
                continue;
            }
            Ok(Ok(0)) => "end of output".to_string(),
            Ok(Ok(n)) => {
                splitter.push(&buf[..n]);
                feed.append(&buf[..n]);
                continue;
            }
            // A pty whose other side has gone reads as EIO: that is the end, not an error.
            Ok(Err(e)) if e.raw_os_error() == Some(5) => "the process closed its console".into(),
            Ok(Err(e)) => format!("read error: {e}"),
        };
        splitter.flush();
        feed.close(why);
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_and_strips_carriage_returns() {
        let dir = tempfile::tempdir().unwrap();
        let log = JobLog::create(&dir.path().join("o.yaml"), false).unwrap();
        let mut s = LineSplitter::new(log.clone());
        s.push(b"one\r\r\ntw");
        s.push(b"o\nlogin: ");
        s.flush();
        log.finish().unwrap();
        let msgs: Vec<String> = std::fs::read_to_string(log.path())
            .unwrap()
            .lines()
            .map(|l| match lava_common::log::parse_line(l).unwrap().msg {
                lava_common::log::Message::Text(t) => t,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(msgs, ["one", "two", "login: "]);
    }

    #[test]
    fn a_long_line_is_logged_in_parts_that_split_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let log = JobLog::create(&dir.path().join("o.yaml"), false)
            .unwrap()
            .masking(lava_common::log::SecretMask::new(["s3cretvalue"]));
        let mut s = LineSplitter::new(log.clone());
        // The secret straddles the length bound: its first half arrives with the long line.
        let mut long = vec![b'x'; LONGEST_LINE - 3];
        long.extend_from_slice(b"s3cret");
        s.push(&long);
        s.push(b"value and more\n");
        log.finish().unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert_eq!(text.lines().count(), 2, "logged in two parts");
        assert!(
            !text.contains("s3cret") && !text.contains("value and"),
            "{text}"
        );
        assert!(text.contains("[MASKED] and more"), "{text}");
    }
}
