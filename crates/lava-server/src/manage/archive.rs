//! `manage jobs rm --older-than DAYS [--dry-run]`: the job archive. Finished jobs that ended
//! more than DAYS days ago go, with their test results and log files, a batch at a time: each
//! batch is one short transaction (the rows it deletes are the only ones it locks, and rows
//! another transaction holds are skipped), and its log files are removed once it committed,
//! so a failure never leaves a job without its log. Progress is printed after every batch.

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
    let cutoff = lava_db::archive::cutoff(&client, days).await?;
    let expected = lava_db::archive::count_old(&client, cutoff).await?;
    let verb = if dry_run { "would delete" } else { "deleting" };
    println!(
        "{verb} {expected} finished jobs that ended before {} ({days} days ago)",
        cutoff.to_rfc3339()
    );
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
