//! Job logs on the server: `JOBS_DIR/ID/output.yaml`, appended in batches that carry the
//! number of their first line, so a retried batch never duplicates or drops a line. The end
//! of the log and an index of batch offsets live in the database; the job's row lock
//! serializes appends. `results` lines become test cases in the same transaction.
//!
//! A line longer than `limits.log_line_bytes` is cut and marked where it is stored (see
//! [`lava_common::log::cut_line`]): it keeps its place, so the line count stays the worker's.
//! Reads never hold more than a chunk of a log ([`read`]); file work runs on blocking threads
//! ([`read::blocking`]); files are private ([`files`]).

pub mod files;
pub mod read;

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use lava_common::ids::JobId;
use lava_common::limits::Limits;
use lava_common::log::{Level, LogLine, case_of, cut_line, now_dt};
use lava_db::logs::LogEnd;

use read::{Pos, Slice, blocking};

/// Problems with an append or a read.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The batch starts after the server's last line: resend from `lines`.
    #[error("the batch starts at line {offset} but the log has {lines} lines")]
    Gap {
        /// Where the batch started.
        offset: u64,
        /// Lines the server has.
        lines: u64,
    },
    /// The batch is not whole lines.
    #[error("a log batch must be whole lines, each ending in a newline")]
    Partial,
    /// The log file could not be written or read.
    #[error("job log {path}: {source}")]
    Io {
        /// The job's log file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A query failed: the log's recorded end or line index, or, in an append, the results
    /// it files (then nothing of the append is kept).
    #[error(transparent)]
    Db(#[from] lava_db::Error),
}

/// The job logs of this server.
#[derive(Debug, Clone)]
pub struct LogStore {
    dir: PathBuf,
    limits: Limits,
}

/// At most this much of a log, with whether some was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capped {
    /// Whole lines from the start of the range.
    pub bytes: Vec<u8>,
    /// Whether the range had more.
    pub cut: bool,
    /// The size of the whole range.
    pub whole: u64,
}

impl LogStore {
    /// Logs under `dir` (`/var/lib/lava-server/jobs`), with the default limits.
    pub fn new(dir: PathBuf) -> LogStore {
        LogStore::with_limits(dir, Limits::default())
    }

    /// Logs under `dir` with the settings' limits (the log line cap, the callback log size).
    pub fn with_limits(dir: PathBuf, limits: Limits) -> LogStore {
        LogStore { dir, limits }
    }

    /// The limits this store keeps.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The log file of a job.
    pub fn path(&self, job: JobId) -> PathBuf {
        self.job_dir(job).join("output.yaml")
    }

    /// The directory of a job's log files.
    pub fn job_dir(&self, job: JobId) -> PathBuf {
        self.dir.join(job.to_string())
    }

    /// The bytes of job `job`'s log files (0 when it has none), read off the runtime.
    pub async fn size(&self, job: JobId) -> std::io::Result<u64> {
        let dir = self.job_dir(job);
        blocking(move || files::size_of_dir(&dir)).await
    }

    /// The jobs that have a log directory here (directories named by a job id; anything
    /// else is left alone), read off the runtime.
    pub async fn job_dirs(&self) -> std::io::Result<Vec<JobId>> {
        let dir = self.dir.clone();
        blocking(move || {
            let entries = match std::fs::read_dir(&dir) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                other => other?,
            };
            let mut ids = Vec::new();
            for entry in entries {
                let entry = entry?;
                let name = entry.file_name();
                let id = name.to_str().and_then(|n| n.parse::<i64>().ok());
                if let Some(id) = id.filter(|i| *i > 0)
                    && entry.file_type()?.is_dir()
                    && name.to_str() == Some(id.to_string().as_str())
                {
                    ids.push(JobId(id));
                }
            }
            ids.sort();
            Ok(ids)
        })
        .await
    }

    /// Removes job `job`'s log files (a deleted job's); returns the bytes they held.
    pub async fn remove(&self, job: JobId) -> std::io::Result<u64> {
        let dir = self.job_dir(job);
        blocking(move || files::remove_dir(&dir)).await
    }

    /// Appends a batch; returns the number of lines the log has after it.
    pub async fn append(
        &self,
        client: &mut lava_db::Client,
        job: JobId,
        offset: u64,
        text: &str,
    ) -> Result<u64, LogError> {
        if !text.is_empty() && !text.ends_with('\n') {
            return Err(LogError::Partial);
        }
        let tx = client.transaction().await.map_err(lava_db::Error::from)?;
        let end = lava_db::logs::lock_end(&tx, job).await?;
        let have = end.lines as u64;
        if offset > have {
            return Err(LogError::Gap {
                offset,
                lines: have,
            });
        }
        let skip = (have - offset) as usize;
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        if skip >= lines.len() {
            return Ok(have);
        }
        let max = self.limits.log_line_bytes;
        let new: Vec<Cow<'_, str>> = lines[skip..]
            .iter()
            .map(|l| {
                if l.len() > max {
                    tracing::warn!(job = %job,
                        bytes = l.len(),
                        "log line cut to limits.log_line_bytes"
                    );
                    Cow::Owned(cut_line(l, max, &now_dt(), "limits.log_line_bytes"))
                } else {
                    Cow::Borrowed(*l)
                }
            })
            .collect();
        let bytes: usize = new.iter().map(|l| l.len()).sum();
        let mut buf = Vec::with_capacity(bytes);
        for l in &new {
            buf.extend_from_slice(l.as_bytes());
        }
        let path = self.path(job);
        let at = end.bytes as u64;
        let file = path.clone();
        // Bytes past the recorded end come from an append whose commit failed: dropped there.
        blocking(move || files::write_at(&file, at, &buf))
            .await
            .map_err(|source| LogError::Io { path, source })?;
        for (i, line) in new.iter().enumerate() {
            if let Some(case) = case_of(line, end.lines + i as i64) {
                lava_db::results::add(&tx, job, &case).await?;
            }
        }
        let new_end = LogEnd {
            lines: end.lines + new.len() as i64,
            bytes: end.bytes + bytes as i64,
        };
        lava_db::logs::record_append(&tx, job, end, new_end).await?;
        // Delivered at commit to every web app instance, whose live log followers read on.
        lava_db::notify::send(
            &tx,
            lava_db::notify::WORKER,
            &lava_db::notify::log_payload(job),
        )
        .await?;
        tx.commit().await.map_err(lava_db::Error::from)?;
        Ok(new_end.lines as u64)
    }

    /// Lines `[start, end)` of a job's log (`end` None: to the end) as a byte range of its
    /// file, found from the nearest index entry. `None` when the job has no log yet.
    pub async fn slice(
        &self,
        c: &impl lava_db::Db,
        job: JobId,
        start: u64,
        end: Option<u64>,
    ) -> Result<Option<Slice>, LogError> {
        let Some(log_end) = lava_db::logs::end(c, job).await? else {
            return Ok(None);
        };
        if log_end.lines == 0 {
            return Ok(None);
        }
        let (lines, bytes) = (log_end.lines as u64, log_end.bytes as u64);
        let stop = end.unwrap_or(u64::MAX).min(lines);
        let start = start.min(stop);
        let near_start = self.indexed(c, job, start).await?;
        let near_stop = if stop == lines {
            None
        } else {
            Some(self.indexed(c, job, stop).await?)
        };
        let path = self.path(job);
        let file = path.clone();
        let located = blocking(move || {
            let file = std::fs::File::open(&file)?;
            let from = read::locate(&file, near_start, start, bytes)?;
            let to = match near_stop {
                None => Pos {
                    line: lines,
                    byte: bytes,
                },
                // Whichever is nearer: the start just found, or the index entry.
                Some(near) if near.line < from.line => read::locate(&file, from, stop, bytes)?,
                Some(near) => read::locate(&file, near, stop, bytes)?,
            };
            Ok((Arc::new(file), from, to))
        })
        .await
        .map_err(|source| LogError::Io { path, source })?;
        let (file, from, to) = located;
        Ok(Some(Slice { file, from, to }))
    }

    /// The indexed line at or before `line`, and where it starts.
    async fn indexed(&self, c: &impl lava_db::Db, job: JobId, line: u64) -> Result<Pos, LogError> {
        let (line, byte) = lava_db::logs::seek(c, job, line as i64).await?;
        Ok(Pos {
            line: line as u64,
            byte: byte as u64,
        })
    }

    /// At most `max` bytes (whole lines) of lines `[start, end)`: for the few readers that
    /// need the text itself (junit failures, notify callbacks), never the whole of a big log.
    pub async fn read_capped(
        &self,
        c: &impl lava_db::Db,
        job: JobId,
        start: u64,
        end: Option<u64>,
        max: usize,
    ) -> Result<Option<Capped>, LogError> {
        let Some(slice) = self.slice(c, job, start, end).await? else {
            return Ok(None);
        };
        let whole = slice.len();
        let path = self.path(job);
        let (bytes, cut) = blocking(move || slice.head(max))
            .await
            .map_err(|source| LogError::Io { path, source })?;
        Ok(Some(Capped { bytes, cut, whole }))
    }

    /// The log as a notify callback sends it: at most `limits.callback_log_bytes` of its first
    /// lines, and when that is not all of it, one more line that says so.
    pub async fn for_callback(
        &self,
        c: &impl lava_db::Db,
        job: JobId,
    ) -> Result<Option<Vec<u8>>, LogError> {
        let max = self.limits.callback_log_bytes;
        let Some(mut capped) = self.read_capped(c, job, 0, None, max).await? else {
            return Ok(None);
        };
        if capped.cut {
            let note = LogLine::text(
                now_dt(),
                Level::Info,
                format!(
                    "log cut at {} of its {} bytes (limits.callback_log_bytes); the whole log is at /api/v0.2/jobs/{job}/logs/",
                    capped.bytes.len(),
                    capped.whole
                ),
            );
            capped.bytes.extend_from_slice(note.to_line().as_bytes());
        }
        Ok(Some(capped.bytes))
    }

    /// Lines `[start, end)` in memory. For tests and small ranges only: replies stream a
    /// [`Slice`] instead.
    pub async fn read(
        &self,
        c: &impl lava_db::Db,
        job: JobId,
        start: u64,
        end: Option<u64>,
    ) -> Result<Option<Vec<u8>>, LogError> {
        Ok(self
            .read_capped(c, job, start, end, usize::MAX)
            .await?
            .map(|capped| capped.bytes))
    }

    /// The first line of a log's tail: its last `max_lines` lines, or fewer when they take
    /// more than `max_bytes` (at least one line). 0 for a job without a log.
    pub async fn tail_start(
        &self,
        c: &impl lava_db::Db,
        job: JobId,
        max_lines: u64,
        max_bytes: u64,
    ) -> Result<u64, LogError> {
        let Some(end) = lava_db::logs::end(c, job).await? else {
            return Ok(0);
        };
        let (lines, bytes) = (end.lines as u64, end.bytes as u64);
        if lines == 0 {
            return Ok(0);
        }
        let path = self.path(job);
        let file = path.clone();
        let tail = blocking(move || {
            let file = std::fs::File::open(&file)?;
            read::tail_lines(&file, lines, bytes, max_lines, max_bytes)
        })
        .await
        .map_err(|source| LogError::Io { path, source })?;
        Ok(lines - tail)
    }
}
