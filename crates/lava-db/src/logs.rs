//! Where each job's log ends, and the index of line offsets that lets any slice of a huge log
//! be read without reading the whole file. The file itself is written by the server; the row
//! lock taken here serializes appends to one job's log.

use crate::{Db, Error};
use lava_common::ids::JobId;

/// A job's log position, locked for an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEnd {
    /// Lines held.
    pub lines: i64,
    /// Bytes held.
    pub bytes: i64,
}

/// Locks the job's row and returns where its log ends. Call inside the append's transaction.
pub async fn lock_end(c: &impl Db, job: JobId) -> Result<LogEnd, Error> {
    let row = c
        .query_opt(
            "SELECT log_lines, log_bytes FROM jobs WHERE id = $1 FOR UPDATE",
            &[&job],
        )
        .await?
        .ok_or_else(|| Error::not_found("job", job))?;
    Ok(LogEnd {
        lines: row.try_get("log_lines")?,
        bytes: row.try_get("log_bytes")?,
    })
}

/// Records an append: the index entry for its first line, and the new end.
pub async fn record_append(
    c: &impl Db,
    job: JobId,
    at: LogEnd,
    new_end: LogEnd,
) -> Result<(), Error> {
    c.execute(
        "INSERT INTO job_log_index (job_id, line, byte_offset) VALUES ($1, $2, $3)
         ON CONFLICT (job_id, line) DO UPDATE SET byte_offset = EXCLUDED.byte_offset",
        &[&job, &at.lines, &at.bytes],
    )
    .await?;
    c.execute(
        "UPDATE jobs SET log_lines = $2, log_bytes = $3 WHERE id = $1",
        &[&job, &new_end.lines, &new_end.bytes],
    )
    .await?;
    Ok(())
}

/// Where the log ends now (no lock).
pub async fn end(c: &impl Db, job: JobId) -> Result<Option<LogEnd>, Error> {
    let row = c
        .query_opt(
            "SELECT log_lines, log_bytes FROM jobs WHERE id = $1",
            &[&job],
        )
        .await?;
    row.map(|r| {
        Ok(LogEnd {
            lines: r.try_get("log_lines")?,
            bytes: r.try_get("log_bytes")?,
        })
    })
    .transpose()
}

/// The indexed line at or before `line`, with its byte offset: reading the file from there and
/// skipping `line - returned line` lines reaches `line`.
pub async fn seek(c: &impl Db, job: JobId, line: i64) -> Result<(i64, i64), Error> {
    let row = c
        .query_opt(
            "SELECT line, byte_offset FROM job_log_index WHERE job_id = $1 AND line <= $2
             ORDER BY line DESC LIMIT 1",
            &[&job, &line],
        )
        .await?;
    match row {
        Some(r) => Ok((r.try_get("line")?, r.try_get("byte_offset")?)),
        None => Ok((0, 0)),
    }
}

/// Where a job's log ends and whether the job is over, in one light query (no definition),
/// for followers of a live log. `None` when the job does not exist.
pub async fn progress(
    c: &impl Db,
    job: JobId,
) -> Result<Option<(LogEnd, lava_common::state::JobState)>, Error> {
    let row = c
        .query_opt(
            "SELECT log_lines, log_bytes, state FROM jobs WHERE id = $1",
            &[&job],
        )
        .await?;
    row.map(|r| {
        Ok((
            LogEnd {
                lines: r.try_get("log_lines")?,
                bytes: r.try_get("log_bytes")?,
            },
            r.try_get("state")?,
        ))
    })
    .transpose()
}

/// Records a log brought in whole (an import): its line index and its end, for a job that
/// has no log yet. Returns false when the job has one (nothing is changed).
pub async fn record_import(
    c: &impl Db,
    job: JobId,
    end: LogEnd,
    index: &[(i64, i64)],
) -> Result<bool, Error> {
    let n = c
        .execute(
            "UPDATE jobs SET log_lines = $2, log_bytes = $3
             WHERE id = $1 AND log_lines = 0 AND log_bytes = 0",
            &[&job, &end.lines, &end.bytes],
        )
        .await?;
    if n == 0 {
        return Ok(false);
    }
    let (lines, bytes): (Vec<i64>, Vec<i64>) = index.iter().copied().unzip();
    c.execute(
        "INSERT INTO job_log_index (job_id, line, byte_offset)
         SELECT $1, * FROM unnest($2::bigint[], $3::bigint[])
         ON CONFLICT (job_id, line) DO UPDATE SET byte_offset = EXCLUDED.byte_offset",
        &[&job, &lines, &bytes],
    )
    .await?;
    Ok(true)
}
