//! `--with-history`: the dump is read on a blocking thread, its history records typed and
//! handed over in batches through a small channel to be staged in the import's transaction,
//! so memory stays bounded whatever the dump's size; the staged rows are resolved into jobs
//! and results once the lab's configuration is in.

use std::path::Path;

use anyhow::Context as _;
use lava_common::fixture::lava_dump::LabDump;
use lava_common::fixture::lava_history::{self, CaseRow, HistoryRow, JobRow, SetRow, SuiteRow};
use lava_common::fixture::{FixtureError, RecordProblem};
use lava_db::history_import;

use super::changes::Records;

/// Rows per batch.
const BATCH: usize = 2000;
/// Batches in flight between the reader and the database.
const IN_FLIGHT: usize = 4;
/// How often progress is reported, in history records.
const PROGRESS_EVERY: u64 = 100_000;
/// How many problems are listed before the rest are only counted.
const MAX_PROBLEMS: usize = 50;

#[derive(Default)]
struct Batch {
    jobs: Vec<JobRow>,
    suites: Vec<SuiteRow>,
    sets: Vec<SetRow>,
    cases: Vec<CaseRow>,
}

impl Batch {
    fn len(&self) -> usize {
        self.jobs.len() + self.suites.len() + self.sets.len() + self.cases.len()
    }
}

/// What the reader found besides the batches.
struct Read {
    dump: LabDump,
    problems: Vec<RecordProblem>,
    unfinished: u64,
    last_job: i64,
}

/// The dump's configuration and what the history's resolution needs.
pub struct Staged {
    /// The dump as read (its configuration and names by pk).
    pub dump: LabDump,
    /// The highest job id in the dump, finished or not.
    pub last_job: i64,
}

/// Reads the whole dump, staging its history; returns the lab's configuration and the dump.
pub async fn stage(c: &impl lava_db::Db, file: &Path) -> anyhow::Result<(Records, Staged)> {
    history_import::begin(c).await?;
    let reader =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (send, mut batches) = tokio::sync::mpsc::channel::<Batch>(IN_FLIGHT);
    let reading = tokio::task::spawn_blocking(move || -> Result<Read, FixtureError> {
        let mut batch = Batch::default();
        let mut problems = Vec::new();
        let mut unfinished = 0;
        let mut last_job = 0;
        let mut open = true;
        let dump = LabDump::read_with(reader, |index, record| {
            if !open {
                return;
            }
            match lava_history::row(index, &record) {
                Ok(HistoryRow::Job(j)) => {
                    last_job = last_job.max(j.id);
                    batch.jobs.push(j);
                }
                Ok(HistoryRow::Suite(s)) => batch.suites.push(s),
                Ok(HistoryRow::Set(s)) => batch.sets.push(s),
                Ok(HistoryRow::Case(c)) => batch.cases.push(c),
                Ok(HistoryRow::Unfinished(id)) => {
                    last_job = last_job.max(id);
                    unfinished += 1;
                }
                Ok(HistoryRow::Other) => {}
                Err(p) => problems.push(p),
            }
            if batch.len() >= BATCH {
                // The receiver is gone only when staging failed: stop sending.
                open = send.blocking_send(std::mem::take(&mut batch)).is_ok();
            }
        });
        if open && batch.len() > 0 {
            let _ = send.blocking_send(batch);
        }
        Ok(Read {
            dump: dump?,
            problems,
            unfinished,
            last_job,
        })
    });
    let mut staged = 0u64;
    while let Some(b) = batches.recv().await {
        stage_batch(c, &b).await?;
        let before = staged;
        staged += b.len() as u64;
        if staged / PROGRESS_EVERY > before / PROGRESS_EVERY {
            eprintln!("{}: {staged} history records read", file.display());
        }
    }
    let read = reading
        .await
        .context("the dump's reader failed")?
        .with_context(|| format!("{}", file.display()))?;
    if !read.problems.is_empty() {
        let n = read.problems.len();
        let listed: Vec<String> = read
            .problems
            .iter()
            .take(MAX_PROBLEMS)
            .map(|p| p.to_string())
            .collect();
        anyhow::bail!(
            "{}: {n} history record(s) cannot be read, nothing was imported:\n  {}",
            file.display(),
            listed.join("\n  ")
        );
    }
    if read.unfinished > 0 {
        eprintln!(
            "note: {}: {} job(s) had not finished when the dump was made: not imported (resubmit them)",
            file.display(),
            read.unfinished
        );
    }
    let records = super::records_of(file, &read.dump)?;
    Ok((
        records,
        Staged {
            dump: read.dump,
            last_job: read.last_job,
        },
    ))
}

async fn stage_batch(c: &impl lava_db::Db, b: &Batch) -> Result<(), lava_db::Error> {
    if !b.jobs.is_empty() {
        history_import::stage_jobs(c, &b.jobs).await?;
    }
    if !b.suites.is_empty() {
        history_import::stage_suites(c, &b.suites).await?;
    }
    if !b.sets.is_empty() {
        history_import::stage_sets(c, &b.sets).await?;
    }
    if !b.cases.is_empty() {
        history_import::stage_cases(c, &b.cases).await?;
    }
    Ok(())
}

/// Inserts the staged history (after the configuration it refers to) and reports it; returns
/// how many jobs came in.
pub async fn finish(c: &impl lava_db::Db, staged: &Staged) -> anyhow::Result<i64> {
    let dump = &staged.dump;
    let names = |m: &std::collections::BTreeMap<i64, String>| -> Vec<(i64, String)> {
        m.iter().map(|(k, v)| (*k, v.clone())).collect()
    };
    history_import::stage_names(c, "user", &names(&dump.users)).await?;
    history_import::stage_names(c, "group", &names(&dump.groups)).await?;
    let tags: Vec<(i64, String)> = dump
        .tags
        .iter()
        .map(|(k, (name, _))| (*k, name.clone()))
        .collect();
    history_import::stage_names(c, "tag", &tags).await?;
    let failure_tags: Vec<(i64, String)> = dump
        .failure_tags
        .iter()
        .map(|(k, (name, _))| (*k, name.clone()))
        .collect();
    history_import::stage_names(c, "failure tag", &failure_tags).await?;
    let report = history_import::finish(c, staged.last_job).await?;
    println!(
        "history: {} job(s), {} test suite(s), {} test case(s) imported; {} job(s) already here",
        report.jobs, report.suites, report.cases, report.jobs_present
    );
    if report.jobs_without_device > 0 {
        eprintln!(
            "note: {} job(s) not imported: neither their device type nor their device exists",
            report.jobs_without_device
        );
    }
    Ok(report.jobs)
}
