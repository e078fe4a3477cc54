//! `manage jobs rm --older-than DAYS [--dry-run]`: the job archive. Finished jobs that ended
//! more than DAYS days ago go, with their test results and log files, a batch at a time: each
//! batch is one short transaction (the rows it deletes are the only ones it locks, and rows
//! another transaction holds are skipped), and its log files are removed once it committed,
//! so a failure never leaves a job without its log. Progress is printed after every batch.
//! A run interrupted between a commit and its file removals leaves log directories of jobs
//! that are gone: the next run removes those first ([`sweep`]). It holds
//! [`lava_db::LOG_FILES_LOCK`], so it never runs beside an `import-lava --job-output`, whose
//! log directories have no job row until its transaction commits.

use anyhow::Context as _;
use lava_common::ids::JobId;

use crate::logstore::LogStore;

/// What was (or would be) deleted.
#[derive(Debug, Default)]
struct Totals {
    jobs: usize,
    test_cases: i64,
    log_bytes: u64,
}

impl Totals {
    fn line(&self) -> String {
        format!(
            "{} jobs, {} test cases, {} bytes of logs",
            self.jobs, self.test_cases, self.log_bytes
        )
    }
}

/// Log directories looked up in one query.
const SWEEP_BATCH: usize = 10_000;

/// Removes (or, in a dry run, counts) the log directories whose job is no longer in the
/// database.
async fn sweep(client: &lava_db::Client, logs: &LogStore, dry_run: bool) -> anyhow::Result<()> {
    let dirs = logs.job_dirs().await.context("cannot list the job logs")?;
    let (mut orphans, mut bytes) = (0u64, 0u64);
    for chunk in dirs.chunks(SWEEP_BATCH) {
        let ids: Vec<i64> = chunk.iter().map(|j| j.0).collect();
        let kept: std::collections::HashSet<i64> = lava_db::archive::existing(client, &ids)
            .await?
            .into_iter()
            .collect();
        for &job in chunk.iter().filter(|j| !kept.contains(&j.0)) {
            orphans += 1;
            bytes += if dry_run {
                logs.size(job).await
            } else {
                logs.remove(job).await
            }
            .with_context(|| format!("the log directory {}", logs.job_dir(job).display()))?;
        }
    }
    if orphans > 0 {
        let verb = if dry_run { "would remove" } else { "removed" };
        println!(
            "{verb} {orphans} log directories ({bytes} bytes) of jobs no longer in the database (left by an interrupted run)"
        );
    }
    Ok(())
}

/// Runs the command; `batch` jobs per transaction.
pub async fn rm(
    mut client: lava_db::Client,
    logs: &LogStore,
    older_than: i64,
    dry_run: bool,
    batch: i64,
) -> anyhow::Result<()> {
    let days = match i32::try_from(older_than) {
        Ok(d) if d >= 1 => d,
        _ => anyhow::bail!(
            "--older-than {older_than}: DAYS must be a whole number of days from 1 to {} \
             (jobs that ended less than a day ago are always kept)",
            i32::MAX
        ),
    };
    super::hold_log_files_lock(&client, "manage jobs rm").await?;
    let cutoff = lava_db::archive::cutoff(&client, days).await?;
    let expected = lava_db::archive::count_old(&client, cutoff).await?;
    let verb = if dry_run { "would delete" } else { "deleting" };
    println!(
        "{verb} {expected} finished jobs that ended before {} ({days} days ago)",
        cutoff.to_rfc3339()
    );
    sweep(&client, logs, dry_run).await?;
    let mut totals = Totals::default();
    let mut after = JobId(0);
    loop {
        let done = if dry_run {
            let b = lava_db::archive::peek_old(&client, cutoff, after, batch).await?;
            if let Some(last) = b.jobs.last() {
                after = *last;
            }
            b
        } else {
            let tx = client.transaction().await?;
            let b = lava_db::archive::delete_old(&tx, cutoff, batch).await?;
            tx.commit()
                .await
                .context("deleting a batch of old jobs failed; nothing of it was deleted")?;
            b
        };
        let (Some(first), Some(last)) = (done.jobs.first(), done.jobs.last()) else {
            break;
        };
        let mut bytes = 0;
        for &job in &done.jobs {
            bytes += if dry_run {
                logs.size(job).await
            } else {
                logs.remove(job).await
            }
            .with_context(|| {
                format!(
                    "job {job}: its log directory {}",
                    logs.job_dir(job).display()
                )
            })?;
        }
        totals.jobs += done.jobs.len();
        totals.test_cases += done.test_cases;
        totals.log_bytes += bytes;
        println!(
            "{} jobs {first}..{last}: {} test cases, {bytes} bytes of logs ({} of {expected})",
            if dry_run { "would delete" } else { "deleted" },
            done.test_cases,
            totals.jobs
        );
    }
    let verb = if dry_run { "would delete" } else { "deleted" };
    println!("{verb} {}", totals.line());
    Ok(())
}
