//! Reading a log in bounded pieces, whatever its size: a range of lines becomes a byte range
//! of the file ([`Slice`]), found from the nearest index entry by scanning at most one batch;
//! bytes go out in chunks of a fixed size; lines for the live log come a bounded number of
//! bytes at a time ([`read_lines`]), a line longer than that cut. Every function here blocks
//! and runs under `spawn_blocking`; the file is read with `pread`, so one open file serves
//! any number of readers.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;
use std::sync::Arc;

use axum::body::Bytes;
use futures_util::Stream;

/// How much one scan step or one chunk of a reply reads.
pub const CHUNK: usize = 128 * 1024;

/// A place in a log: a line number and the byte where that line starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// The line (0-based).
    pub line: u64,
    /// The byte offset where it starts.
    pub byte: u64,
}

/// Runs blocking file work off the async runtime's threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| io::Error::other(format!("log reader stopped: {e}")))?
}

/// Scans forward from `from` to the start of line `line`, never past byte `end`; returns
/// where it stopped (short of `line` only when the file ends first).
pub fn locate(file: &File, from: Pos, line: u64, end: u64) -> io::Result<Pos> {
    let mut pos = from;
    let mut buf = vec![0u8; CHUNK.min(end.saturating_sub(from.byte) as usize)];
    while pos.line < line && pos.byte < end {
        let n = buf.len().min((end - pos.byte) as usize);
        file.read_exact_at(&mut buf[..n], pos.byte)?;
        let mut used = n;
        for nl in memchr::memchr_iter(b'\n', &buf[..n]) {
            pos.line += 1;
            if pos.line == line {
                used = nl + 1;
                break;
            }
        }
        pos.byte += used as u64;
    }
    Ok(pos)
}

/// One line read for the live log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Its bytes, newline included, or its first bytes when `cut`.
    pub text: Vec<u8>,
    /// Its whole length in the file.
    pub len: u64,
    /// Whether `text` is only the start of it.
    pub cut: bool,
}

/// Whole lines from `from`, at most `max` bytes of them and not past byte `end`. The first
/// line always comes, cut to `max` bytes when it is longer.
pub fn read_lines(file: &File, from: Pos, end: u64, max: usize) -> io::Result<Vec<Line>> {
    let want = (max as u64).min(end.saturating_sub(from.byte)) as usize;
    let mut buf = vec![0u8; want];
    file.read_exact_at(&mut buf, from.byte)?;
    let mut lines = Vec::new();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', &buf) {
        lines.push(Line {
            text: buf[start..=nl].to_vec(),
            len: (nl + 1 - start) as u64,
            cut: false,
        });
        start = nl + 1;
    }
    if lines.is_empty() && want > 0 {
        // One line longer than `max`: its start, and where it ends.
        let after = locate(file, from, from.line + 1, end)?;
        lines.push(Line {
            len: after.byte - from.byte,
            cut: after.byte - from.byte > want as u64,
            text: buf,
        });
    }
    Ok(lines)
}

/// Lines of a log as a byte range of its file.
#[derive(Debug, Clone)]
pub struct Slice {
    /// The open file.
    pub file: Arc<File>,
    /// The first line.
    pub from: Pos,
    /// Just past the last line.
    pub to: Pos,
}

impl Slice {
    /// Its size in bytes.
    pub fn len(&self) -> u64 {
        self.to.byte - self.from.byte
    }

    /// Whether it holds no line.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its bytes in chunks of exactly `chunk` bytes (the last one shorter), read as the
    /// consumer asks for them: a reply of any size holds one chunk in memory.
    pub fn stream(self, chunk: usize) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        futures_util::stream::try_unfold(
            (self.file, self.from.byte, self.to.byte),
            move |(file, at, end)| async move {
                if at >= end {
                    return Ok(None);
                }
                let n = (end - at).min(chunk as u64) as usize;
                let reader = file.clone();
                let buf = blocking(move || {
                    let mut buf = vec![0u8; n];
                    reader.read_exact_at(&mut buf, at)?;
                    Ok(buf)
                })
                .await?;
                Ok(Some((Bytes::from(buf), (file, at + n as u64, end))))
            },
        )
    }

    /// Its first bytes, whole lines only, at most `max` of them: the bytes and whether some
    /// were left out.
    pub fn head(&self, max: usize) -> io::Result<(Vec<u8>, bool)> {
        let n = self.len().min(max as u64) as usize;
        let mut buf = vec![0u8; n];
        self.file.read_exact_at(&mut buf, self.from.byte)?;
        if (n as u64) < self.len() {
            let keep = memchr::memrchr(b'\n', &buf).map_or(0, |nl| nl + 1);
            buf.truncate(keep);
            return Ok((buf, true));
        }
        Ok((buf, false))
    }
}

/// How many of the last lines of a log of `lines` lines ending at byte `end` fit in
/// `max_bytes`, at most `max_lines`, at least one: scanned backwards, so a page of the tail of
/// a huge log reads only that tail.
pub fn tail_lines(
    file: &File,
    lines: u64,
    end: u64,
    max_lines: u64,
    max_bytes: u64,
) -> io::Result<u64> {
    if lines == 0 {
        return Ok(0);
    }
    // A line starts at 0 and after every newline but the last byte's; one starting at `s` is
    // in the tail when `end - s <= max_bytes`, so its newline is at `s - 1 >= low`.
    let low = end.saturating_sub(max_bytes + 1);
    let mut count = u64::from(end <= max_bytes);
    let mut hi = end.saturating_sub(1);
    let mut buf = vec![0u8; CHUNK];
    while hi > low && count < max_lines {
        let lo = hi.saturating_sub(CHUNK as u64).max(low);
        let n = (hi - lo) as usize;
        file.read_exact_at(&mut buf[..n], lo)?;
        count += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        hi = lo;
    }
    Ok(count.clamp(1, max_lines.min(lines)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lines: &[&str]) -> (tempfile::NamedTempFile, u64) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let text: String = lines.concat();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        (f, text.len() as u64)
    }

    #[test]
    fn locate_counts_lines_from_any_start() {
        let (f, end) = log(&["a\n", "bb\n", "ccc\n", "d\n"]);
        let file = f.as_file();
        let zero = Pos { line: 0, byte: 0 };
        assert_eq!(
            locate(file, zero, 2, end).unwrap(),
            Pos { line: 2, byte: 5 }
        );
        assert_eq!(
            locate(file, Pos { line: 1, byte: 2 }, 3, end).unwrap(),
            Pos { line: 3, byte: 9 }
        );
        assert_eq!(
            locate(file, zero, 9, end).unwrap(),
            Pos { line: 4, byte: 11 }
        );
        assert_eq!(locate(file, zero, 0, end).unwrap(), zero);
    }

    #[test]
    fn lines_come_whole_and_a_long_one_cut() {
        let long = format!("{}\n", "x".repeat(100));
        let (f, end) = log(&["a\n", "bb\n", &long, "d\n"]);
        let file = f.as_file();
        let got = read_lines(file, Pos { line: 0, byte: 0 }, end, 10).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].text, b"bb\n");
        let got = read_lines(file, Pos { line: 2, byte: 5 }, end, 10).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].text.len(), got[0].len, got[0].cut), (10, 101, true));
        let got = read_lines(file, Pos { line: 3, byte: 106 }, end, 10).unwrap();
        assert_eq!(got[0].text, b"d\n");
    }

    #[test]
    fn tails_fit_in_bytes_and_lines() {
        let (f, end) = log(&["aaaa\n", "bb\n", "c\n", "d\n"]);
        let file = f.as_file();
        assert_eq!(tail_lines(file, 4, end, 1000, 1000).unwrap(), 4);
        assert_eq!(tail_lines(file, 4, end, 2, 1000).unwrap(), 2);
        assert_eq!(tail_lines(file, 4, end, 1000, 7).unwrap(), 3);
        assert_eq!(tail_lines(file, 4, end, 1000, 6).unwrap(), 2);
        assert_eq!(
            tail_lines(file, 4, end, 1000, 1).unwrap(),
            1,
            "at least one"
        );
        assert_eq!(tail_lines(file, 0, 0, 10, 10).unwrap(), 0);
    }

    #[test]
    fn heads_are_whole_lines() {
        let (f, end) = log(&["aaaa\n", "bb\n", "c\n"]);
        let s = Slice {
            file: Arc::new(f.reopen().unwrap()),
            from: Pos { line: 0, byte: 0 },
            to: Pos { line: 3, byte: end },
        };
        assert_eq!(s.head(100).unwrap(), (b"aaaa\nbb\nc\n".to_vec(), false));
        assert_eq!(s.head(9).unwrap(), (b"aaaa\nbb\n".to_vec(), true));
        assert_eq!(s.head(3).unwrap(), (Vec::new(), true));
    }
}
