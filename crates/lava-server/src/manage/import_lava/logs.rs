//! `--job-output DIR`: the imported jobs' logs, from LAVA's job output tree into this server's
//! log store. LAVA 2023.01 keeps a job's log at `DIR/YYYY/MM/DD/ID/output.yaml` by its submit
//! time in UTC (`TestJob.output_dir`; before 2017.10, `DIR/job-ID/`), or `output.yaml.xz` once
//! `lava-server manage jobs compress` has run. Its lines are in the format our store keeps
//! (`lava_common::log`), so a log is copied as it is, streamed: an over-long line is cut in its
//! place as an append cuts it, a last line without its newline gets one, the line index is
//! written as it goes, and the file is written beside its place and renamed in whole. Results
//! are not read from the log: they came with the dump.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike as _, Utc};
use lava_common::log::{cut_line, now_dt};

use crate::logstore::files;
use lava_common::ids::JobId;
use lava_db::history_import;
use lava_db::logs::LogEnd;

/// Jobs asked for at a time.
const BATCH: i64 = 500;
/// How often progress is reported, in jobs.
const PROGRESS_EVERY: u64 = 1000;
/// How many missing logs are named before the rest are only counted.
const MAX_NAMED: u64 = 20;
/// The most one imported log may hold, as stored: a bigger one (a compressed log that
/// expands without end, say) is refused, its partial copy removed, and counted.
const MAX_LOG_BYTES: u64 = 8 << 30;

/// What became of one job's log.
enum Outcome {
    /// Not in the job output directory.
    Missing,
    /// Bigger than [`MAX_LOG_BYTES`].
    Refused,
    /// Copied (in a dry run, found: only its file's size).
    Copied(Copied),
}

/// What the log import did (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogReport {
    /// Logs copied (found, in a dry run).
    pub copied: u64,
    /// Jobs whose log is not in the job output directory.
    pub missing: u64,
    /// Logs refused: bigger than [`MAX_LOG_BYTES`].
    pub refused: u64,
    /// Bytes written (in a dry run, the size of the files found, compressed or not).
    pub bytes: u64,
    /// Lines cut to `limits.log_line_bytes`.
    pub cut: u64,
}

/// Copies the log of every job of the dump that is here without a log, from LAVA's job
/// output directory `dir` into the log store at `store`, recording each in the caller's
/// transaction. A dry run only looks for the files.
pub async fn import(
    c: &impl lava_db::Db,
    dir: &Path,
    store: &Path,
    max_line: usize,
    dry_run: bool,
) -> anyhow::Result<LogReport> {
    use anyhow::Context as _;
    let mut r = LogReport::default();
    let mut after = 0;
    loop {
        let batch = history_import::jobs_without_log(c, after, BATCH).await?;
        let Some(&(last, _)) = batch.last() else {
            break;
        };
        after = last;
        for (id, submitted) in batch {
            let (src, dest) = (
                dir.to_path_buf(),
                store.join(id.to_string()).join("output.yaml"),
            );
            let done = tokio::task::spawn_blocking(move || -> std::io::Result<Outcome> {
                let Some(found) = find(&src, id, submitted) else {
                    return Ok(Outcome::Missing);
                };
                if dry_run {
                    let len = std::fs::metadata(found.path())?.len() as i64;
                    return Ok(Outcome::Copied(Copied {
                        bytes: len,
                        ..Copied::default()
                    }));
                }
                match copy(&found, &dest, max_line, MAX_LOG_BYTES) {
                    Ok(c) => Ok(Outcome::Copied(c)),
                    Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                        let path = found.path().display();
                        eprintln!("note: job {id}: {path}: {e}: not imported");
                        Ok(Outcome::Refused)
                    }
                    Err(e) => Err(std::io::Error::new(
                        e.kind(),
                        format!("{}: {e}", found.path().display()),
                    )),
                }
            })
            .await
            .context("a log copy failed")?
            .with_context(|| format!("job {id}: cannot copy its log"))?;
            let copied = match done {
                Outcome::Copied(c) => c,
                Outcome::Refused => {
                    r.refused += 1;
                    continue;
                }
                Outcome::Missing => {
                    r.missing += 1;
                    if r.missing <= MAX_NAMED {
                        eprintln!(
                            "note: job {id}: no log in {} (looked for {}/{:02}/{:02}/{id}/output.yaml[.xz])",
                            dir.display(),
                            submitted.year(),
                            submitted.month(),
                            submitted.day()
                        );
                    }
                    continue;
                }
            };
            if !dry_run {
                let end = LogEnd {
                    lines: copied.lines,
                    bytes: copied.bytes,
                };
                lava_db::logs::record_import(c, JobId(id), end, &copied.index).await?;
            }
            r.copied += 1;
            r.bytes += copied.bytes as u64;
            r.cut += copied.cut;
            let seen = r.copied + r.missing;
            if seen % PROGRESS_EVERY == 0 {
                eprintln!(
                    "job logs: {seen} job(s) done, {} copied, {} missing",
                    r.copied, r.missing
                );
            }
        }
    }
    if r.missing > MAX_NAMED {
        eprintln!("note: {} more job(s) without a log", r.missing - MAX_NAMED);
    }
    Ok(r)
}

/// How much of one line is held to cut it: a longer line keeps only this much of its start.
const HOLD: usize = 16 * 1024 * 1024;
/// An index entry at least this often, in bytes (reads seek from the nearest one).
const INDEX_BYTES: u64 = 256 * 1024;
/// And at least this often, in lines.
const INDEX_LINES: u64 = 1000;

/// Where LAVA kept one job's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// `output.yaml`.
    Plain(PathBuf),
    /// `output.yaml.xz`.
    Xz(PathBuf),
}

impl Found {
    /// The file.
    pub fn path(&self) -> &Path {
        match self {
            Found::Plain(p) | Found::Xz(p) => p,
        }
    }
}

/// Finds job `id`'s log under LAVA's job output directory `dir`.
pub fn find(dir: &Path, id: i64, submitted: DateTime<Utc>) -> Option<Found> {
    let dated = dir
        .join(format!("{:02}", submitted.year()))
        .join(format!("{:02}", submitted.month()))
        .join(format!("{:02}", submitted.day()))
        .join(id.to_string());
    // LAVA looks at the old place first, as `output_dir` does.
    let old = dir.join(format!("job-{id}"));
    let job_dir = if old.is_dir() { old } else { dated };
    let plain = job_dir.join("output.yaml");
    if plain.is_file() {
        return Some(Found::Plain(plain));
    }
    let xz = job_dir.join("output.yaml.xz");
    xz.is_file().then_some(Found::Xz(xz))
}

/// What a copied log holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Copied {
    pub lines: i64,
    pub bytes: i64,
    /// `(line, byte offset)` entries of the line index, the first at line 0.
    pub index: Vec<(i64, i64)>,
    /// Lines cut to `limits.log_line_bytes`.
    pub cut: u64,
}

/// Copies `found` to `dest` (this store's `ID/output.yaml`): written to a temporary file
/// beside it, synced and renamed in, so `dest` is either the whole log or untouched.
/// A log that would hold more than `max_bytes` is refused (`ErrorKind::FileTooLarge`).
pub fn copy(
    found: &Found,
    dest: &Path,
    max_line: usize,
    max_bytes: u64,
) -> std::io::Result<Copied> {
    let file = File::open(found.path())?;
    let reader: Box<dyn Read> = match found {
        Found::Plain(_) => Box::new(file),
        Found::Xz(_) => Box::new(xz2::read::XzDecoder::new_multi_decoder(BufReader::new(
            file,
        ))),
    };
    let dir = dest.parent().unwrap_or(Path::new("."));
    files::private_dir_all(dir)?;
    let temp = dir.join(".output.yaml.import");
    let out = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(files::FILE_MODE)
        .open(&temp)?;
    let copied = copy_lines(BufReader::new(reader), &out, max_line, max_bytes).and_then(|c| {
        out.sync_data()?;
        Ok(c)
    });
    match copied {
        Ok(c) => {
            std::fs::rename(&temp, dest)?;
            Ok(c)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// The copy itself: line by line, at most [`HOLD`] bytes of a line in memory.
fn copy_lines(
    mut input: impl BufRead,
    out: &File,
    max_line: usize,
    max_bytes: u64,
) -> std::io::Result<Copied> {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, out);
    let mut c = Copied::default();
    let mut line = Vec::new();
    let (mut indexed_line, mut indexed_byte) = (0i64, 0i64);
    loop {
        line.clear();
        let whole = read_line(&mut input, &mut line)?;
        if whole == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            line.push(b'\n');
        }
        let text = String::from_utf8_lossy(&line);
        let text = if text.len() > max_line || whole > line.len() {
            c.cut += 1;
            std::borrow::Cow::Owned(cut_line(
                &text,
                max_line,
                &now_dt(),
                "limits.log_line_bytes",
            ))
        } else {
            text
        };
        if c.index.is_empty()
            || (c.bytes - indexed_byte) as u64 >= INDEX_BYTES
            || (c.lines - indexed_line) as u64 >= INDEX_LINES
        {
            c.index.push((c.lines, c.bytes));
            (indexed_line, indexed_byte) = (c.lines, c.bytes);
        }
        if c.bytes as u64 + text.len() as u64 > max_bytes {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!("more than {max_bytes} bytes, the most one imported log may hold"),
            ));
        }
        w.write_all(text.as_bytes())?;
        c.lines += 1;
        c.bytes += text.len() as i64;
    }
    w.flush()?;
    Ok(c)
}

/// Reads one line into `buf`, keeping at most [`HOLD`] bytes of it; returns the line's whole
/// length (0 at the end).
fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut whole = 0;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(whole);
        }
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = HOLD.saturating_sub(buf.len()).min(take);
        buf.extend_from_slice(&chunk[..room]);
        input.consume(take);
        whole += take;
        if done {
            return Ok(whole);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_text(text: &[u8], max: usize) -> (String, Copied) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in.yaml");
        std::fs::write(&src, text).unwrap();
        let dest = dir.path().join("store/7/output.yaml");
        let c = copy(&Found::Plain(src), &dest, max, 1 << 30).unwrap();
        assert!(!dest.with_file_name(".output.yaml.import").exists());
        (std::fs::read_to_string(dest).unwrap(), c)
    }

    #[test]
    fn lines_are_copied_counted_and_indexed_and_the_last_gets_its_newline() {
        let line =
            "- {\"dt\": \"2023-02-01T10:00:05.250000\", \"lvl\": \"info\", \"msg\": \"x\"}\n";
        let mut text = line.repeat(2500);
        text.push_str(line.trim_end());
        let (out, c) = copy_text(text.as_bytes(), 4096);
        assert_eq!(out, line.repeat(2501));
        assert_eq!((c.lines, c.bytes, c.cut), (2501, out.len() as i64, 0));
        let l = line.len() as i64;
        assert_eq!(c.index, [(0, 0), (1000, 1000 * l), (2000, 2000 * l)]);
    }

    #[test]
    fn an_over_long_line_is_cut_in_its_place() {
        let long = format!(
            "- {{\"dt\": \"2023-02-01T10:00:05.250000\", \"lvl\": \"target\", \"msg\": \"{}\"}}\n",
            "a".repeat(10_000)
        );
        let text = format!(
            "{long}- {{\"dt\": \"2023-02-01T10:00:06\", \"lvl\": \"info\", \"msg\": \"b\"}}\n"
        );
        let (out, c) = copy_text(text.as_bytes(), 4096);
        assert_eq!((c.lines, c.cut), (2, 1));
        let first = out.lines().next().unwrap();
        assert!(
            first.len() < 4096 && first.contains("lvl\": \"target"),
            "{first}"
        );
        assert!(first.contains("<line way too long: 10000 bytes"), "{first}");
    }

    #[test]
    fn a_log_over_the_cap_is_refused_and_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in.yaml");
        let line = "- {\"dt\": \"2023-02-01T10:00:05\", \"lvl\": \"info\", \"msg\": \"x\"}\n";
        std::fs::write(&src, line.repeat(100)).unwrap();
        let dest = dir.path().join("store/7/output.yaml");
        let e = copy(&Found::Plain(src), &dest, 4096, 50 * line.len() as u64).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge, "{e}");
        assert!(
            e.to_string().contains("the most one imported log may hold"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path().join("store/7"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn a_log_is_found_by_its_submit_day_or_at_lavas_old_place_or_compressed() {
        let dir = tempfile::tempdir().unwrap();
        let t = "2023-02-01T23:59:00Z".parse().unwrap();
        assert_eq!(find(dir.path(), 42, t), None);
        let dated = dir.path().join("2023/02/01/42");
        std::fs::create_dir_all(&dated).unwrap();
        std::fs::write(dated.join("output.yaml.xz"), b"").unwrap();
        assert_eq!(
            find(dir.path(), 42, t),
            Some(Found::Xz(dated.join("output.yaml.xz")))
        );
        std::fs::write(dated.join("output.yaml"), b"").unwrap();
        assert_eq!(
            find(dir.path(), 42, t),
            Some(Found::Plain(dated.join("output.yaml")))
        );
        let old = dir.path().join("job-42");
        std::fs::create_dir_all(&old).unwrap();
        std::fs::write(old.join("output.yaml"), b"").unwrap();
        assert_eq!(
            find(dir.path(), 42, t),
            Some(Found::Plain(old.join("output.yaml")))
        );
    }
}
