//! Following a job's `output.yaml` by whole lines, with an index to resend from any line.
//!
//! The file only grows. [`LogTail::refresh`] reads what was appended and records where each
//! complete line ends; a line still being written (no `\n` yet) waits for the next refresh.
//! [`LogTail::batch`] cuts a [`LogBatch`] starting at any line number, so when the server
//! says it holds `n` lines the next batch is exactly lines `n..`: nothing twice, no gap.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;

use lava_common::worker_api::LogBatch;

use super::error::WorkerError;

/// At most this many lines in one batch.
pub const MAX_BATCH_LINES: usize = 5000;
/// At most this many bytes in one batch; the job log cuts any longer line to this size.
pub const MAX_BATCH_BYTES: u64 = lava_common::worker_api::LOG_BATCH_LINES_BYTES as u64;

/// A followed log file.
#[derive(Debug)]
pub struct LogTail {
    path: PathBuf,
    file: Option<File>,
    /// `ends[i]` is the byte just past line `i`'s `\n`; line `i` starts at `ends[i - 1]`.
    ends: Vec<u64>,
    /// How far the file has been scanned for newlines.
    scanned: u64,
}

impl LogTail {
    /// Follows `path`, which may not exist yet.
    pub fn new(path: PathBuf) -> LogTail {
        LogTail {
            path,
            file: None,
            ends: Vec::new(),
            scanned: 0,
        }
    }

    /// The number of complete lines seen so far.
    pub fn lines(&self) -> u64 {
        self.ends.len() as u64
    }

    /// Whether bytes after the last complete line exist (a line cut short, if the writer
    /// is gone).
    pub fn has_partial_line(&self) -> bool {
        self.scanned > self.ends.last().copied().unwrap_or(0)
    }

    /// Reads what was appended since the last call; returns the new line count.
    pub fn refresh(&mut self) -> Result<u64, WorkerError> {
        if self.file.is_none() {
            match File::open(&self.path) {
                Ok(f) => self.file = Some(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
                Err(e) => return Err(WorkerError::io(&self.path, e)),
            }
        }
        let Some(file) = &self.file else {
            return Ok(0);
        };
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file
                .read_at(&mut buf, self.scanned)
                .map_err(|e| WorkerError::io(&self.path, e))?;
            if n == 0 {
                break;
            }
            for i in memchr::memchr_iter(b'\n', &buf[..n]) {
                self.ends.push(self.scanned + i as u64 + 1);
            }
            self.scanned += n as u64;
        }
        Ok(self.lines())
    }

    /// The batch of complete lines starting at line `from` (0-based), bounded by
    /// [`MAX_BATCH_LINES`] and [`MAX_BATCH_BYTES`]; `None` when there is no such line yet.
    pub fn batch(&self, from: u64) -> Result<Option<LogBatch>, WorkerError> {
        let from_idx = from as usize;
        if from_idx >= self.ends.len() {
            return Ok(None);
        }
        let start = if from_idx == 0 {
            0
        } else {
            self.ends[from_idx - 1]
        };
        let last = (from_idx + MAX_BATCH_LINES).min(self.ends.len()) - 1;
        // The last line that keeps the batch within the byte limit; at least one line.
        let within =
            self.ends[from_idx..=last].partition_point(|&end| end - start <= MAX_BATCH_BYTES);
        let last = from_idx + within.max(1) - 1;
        let end = self.ends[last];
        let mut bytes = vec![0u8; (end - start) as usize];
        let Some(file) = &self.file else {
            return Ok(None);
        };
        file.read_exact_at(&mut bytes, start)
            .map_err(|e| WorkerError::io(&self.path, e))?;
        Ok(Some(LogBatch {
            offset: from,
            lines: String::from_utf8_lossy(&bytes).into_owned(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn whole_lines_from_any_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output.yaml");
        let mut t = LogTail::new(path.clone());
        assert_eq!(t.refresh().unwrap(), 0);
        let mut f = File::create(&path).unwrap();
        f.write_all(b"a\nbb\nccc").unwrap();
        assert_eq!(t.refresh().unwrap(), 2);
        assert!(t.has_partial_line());
        assert_eq!(t.batch(0).unwrap().unwrap().lines, "a\nbb\n");
        f.write_all(b"c\nd\n").unwrap();
        assert_eq!(t.refresh().unwrap(), 4);
        let b = t.batch(1).unwrap().unwrap();
        assert_eq!((b.offset, b.lines.as_str()), (1, "bb\ncccc\nd\n"));
        assert!(t.batch(4).unwrap().is_none());
        assert!(!t.has_partial_line());
    }

    #[test]
    fn batches_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output.yaml");
        let line = "x".repeat(99) + "\n";
        std::fs::write(&path, line.repeat(20_000)).unwrap();
        let mut t = LogTail::new(path);
        t.refresh().unwrap();
        let b = t.batch(0).unwrap().unwrap();
        assert_eq!(b.lines.len(), MAX_BATCH_LINES * 100);
        let big = "y".repeat(3 << 20) + "\n";
        let path = dir.path().join("big.yaml");
        std::fs::write(&path, format!("{line}{big}{line}")).unwrap();
        let mut t = LogTail::new(path);
        t.refresh().unwrap();
        assert_eq!(t.batch(0).unwrap().unwrap().lines, line);
        assert_eq!(t.batch(1).unwrap().unwrap().lines, big);
    }
}
