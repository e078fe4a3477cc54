//! The job log: `output.yaml` in LAVA's line format, optionally echoed to stdout.
//!
//! Every part of a job (console reader, actions, power) writes through one [`JobLog`], which
//! is cheap to clone; lines are written whole under a lock, so they never interleave.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use lava_common::log::{
    Level, LogLine, Message, SecretMask, Value, append_text_line, cut_line, now_dt,
};
use lava_common::worker_api::LOG_BATCH_LINES_BYTES;

struct Inner {
    file: BufWriter<File>,
    scratch: String,
    echo: bool,
    lines: u64,
    error: Option<std::io::Error>,
}

/// A shared handle on one job's log.
#[derive(Clone)]
pub struct JobLog {
    inner: Arc<Mutex<Inner>>,
    path: PathBuf,
    /// The job's secret values, taken out of every line before it is written.
    mask: Arc<SecretMask>,
}

impl JobLog {
    /// Creates (truncates) the log file; `echo` also copies every line to stdout.
    pub fn create(path: &Path, echo: bool) -> std::io::Result<JobLog> {
        let file = File::create(path)?;
        Ok(JobLog {
            inner: Arc::new(Mutex::new(Inner {
                file: BufWriter::with_capacity(256 * 1024, file),
                scratch: String::new(),
                echo,
                lines: 0,
                error: None,
            })),
            path: path.to_path_buf(),
            mask: Arc::default(),
        })
    }

    /// This log, masking `mask`'s values in every line written from now on (and in every
    /// clone made after this call): set before the job's first line.
    pub fn masking(mut self, mask: SecretMask) -> JobLog {
        self.mask = Arc::new(mask);
        self
    }

    /// Where to cut the start of an over-long console line so that no secret value is split
    /// between two log lines (see [`SecretMask::cut_point`]).
    pub fn cut_point(&self, bytes: &[u8]) -> usize {
        self.mask.cut_point(bytes)
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one line. A write error is kept and reported by [`JobLog::finish`]: the job
    /// goes on (its device must still be powered off), but it cannot end complete.
    pub fn write(&self, line: &LogLine) {
        let masked = self.mask.line(line);
        let line = masked.as_ref().unwrap_or(line);
        let mut text = line.to_line();
        // Console lines are bounded by the reader; any other line (an error quoting a file, a
        // result with a huge field) is cut here, so every batch fits the server's body limit.
        if text.len() > LOG_BATCH_LINES_BYTES {
            text = cut_line(
                &text,
                LOG_BATCH_LINES_BYTES,
                &line.dt,
                "the worker's log batch size",
            );
        }
        let mut inner = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Err(e) = inner.file.write_all(text.as_bytes())
            && inner.error.is_none()
        {
            inner.error = Some(e);
        }
        inner.lines += 1;
        if inner.echo {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
        }
        // Console output comes in floods and is flushed when the console goes quiet (see the
        // reader); everything else is rare and worth seeing at once.
        if line.lvl != Level::Target {
            let _ = inner.file.flush();
        }
    }

    /// Writes console lines (`target`), all stamped with one time and written under one
    /// lock: the reader hands over every complete line of one read at once. Trailing `\r`s
    /// are dropped and invalid UTF-8 is replaced.
    pub fn targets<L: AsRef<[u8]>>(&self, lines: &[L]) {
        if lines.is_empty() {
            return;
        }
        let dt = now_dt();
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let inner = &mut *guard;
        for line in lines {
            let mut line = line.as_ref();
            while let [rest @ .., b'\r'] = line {
                line = rest;
            }
            inner.scratch.clear();
            let text = String::from_utf8_lossy(line);
            append_text_line(
                &mut inner.scratch,
                &dt,
                Level::Target,
                &self.mask.text(&text),
            );
            if let Err(e) = inner.file.write_all(inner.scratch.as_bytes())
                && inner.error.is_none()
            {
                inner.error = Some(e);
            }
            if inner.echo {
                let _ = std::io::stdout().lock().write_all(inner.scratch.as_bytes());
            }
        }
        inner.lines += lines.len() as u64;
    }

    /// Writes a text line at `lvl`.
    pub fn text(&self, lvl: Level, msg: impl Into<String>) {
        self.write(&LogLine::text(now_dt(), lvl, msg));
    }

    /// An `info` line.
    pub fn info(&self, msg: impl Into<String>) {
        self.text(Level::Info, msg);
    }

    /// A `debug` line.
    pub fn debug(&self, msg: impl Into<String>) {
        self.text(Level::Debug, msg);
    }

    /// A `warning` line.
    pub fn warning(&self, msg: impl Into<String>) {
        self.text(Level::Warning, msg);
    }

    /// An `error` line.
    pub fn error(&self, msg: impl Into<String>) {
        self.text(Level::Error, msg);
    }

    /// An `exception` line.
    pub fn exception(&self, msg: impl Into<String>) {
        self.text(Level::Exception, msg);
    }

    /// A `target` line: one line of console output.
    pub fn target(&self, msg: impl Into<String>) {
        self.text(Level::Target, msg);
    }

    /// An `input` line: text sent to the device.
    pub fn input(&self, msg: impl Into<String>) {
        self.text(Level::Input, msg);
    }

    /// A `results` line.
    pub fn results(&self, fields: BTreeMap<String, Value>) {
        self.write(&LogLine {
            dt: now_dt(),
            lvl: Level::Results,
            msg: Message::Map(fields),
            ns: None,
        });
    }

    /// How many lines were written.
    pub fn lines(&self) -> u64 {
        self.inner.lock().map(|g| g.lines).unwrap_or(0)
    }

    /// Flushes the file and the stdout copy.
    pub fn flush(&self) -> std::io::Result<()> {
        let mut inner = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if inner.echo {
            let _ = std::io::stdout().flush();
        }
        inner.file.flush()
    }

    /// Flushes and returns the first write error, if any happened.
    pub fn finish(&self) -> std::io::Result<()> {
        self.flush()?;
        let mut inner = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        inner.file.get_ref().sync_data()?;
        match inner.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_lava_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = JobLog::create(&dir.path().join("output.yaml"), false).unwrap();
        log.info("start: 0 validate");
        log.input("root\n");
        log.finish().unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].ends_with(r#""lvl": "info", "msg": "start: 0 validate"}"#),
            "{text}"
        );
        assert!(
            lines[1].ends_with(r#""lvl": "input", "msg": "root\n"}"#),
            "{text}"
        );
        for l in lines {
            lava_common::log::parse_line(l).unwrap();
        }
        assert_eq!(log.lines(), 2);
    }

    #[test]
    fn a_line_longer_than_a_batch_is_cut_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let log = JobLog::create(&dir.path().join("output.yaml"), false).unwrap();
        log.error("x".repeat(3 * LOG_BATCH_LINES_BYTES));
        log.info("after");
        log.finish().unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<_> = text.split_inclusive('\n').collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].len() <= LOG_BATCH_LINES_BYTES,
            "{}",
            lines[0].len()
        );
        let cut = lava_common::log::parse_line(lines[0]).unwrap();
        assert_eq!(cut.lvl, Level::Error);
        let Message::Text(t) = cut.msg else { panic!() };
        assert!(
            t.starts_with("<line way too long: 3145728 bytes of message")
                && t.contains("(the worker's log batch size)> xxx"),
            "{}",
            &t[..200]
        );
        assert!(lines[1].contains("after"));
    }

    #[test]
    fn secret_values_never_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = JobLog::create(&dir.path().join("output.yaml"), false)
            .unwrap()
            .masking(SecretMask::new(["s3cr\"et", "tok"]));
        let clone = log.clone();
        clone.input("export A='s3cr\"et'\n");
        log.targets(&[b"curl -H auth:tok/s3cr\"et\r".as_slice(), b"plain"]);
        let mut m = BTreeMap::new();
        m.insert("tok".to_string(), Value::from("s3cr\"et"));
        log.results(m);
        log.finish().unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(!text.contains("s3cr") && !text.contains("tok"), "{text}");
        assert_eq!(text.matches("[MASKED]").count(), 5, "{text}");
        assert!(text.contains("plain"), "{text}");
        for l in text.lines() {
            lava_common::log::parse_line(l).unwrap();
        }
    }
}
