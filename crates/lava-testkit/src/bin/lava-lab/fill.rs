//! `lava-lab fill DIR --jobs N`: a lab with a long history to measure pages, REST filters
//! and charts against. A private PostgreSQL under `DIR/pg` (left running, as `pg-start`
//! leaves it), migrated, filled by [`lava_db::history::fill`] (a year of jobs with results
//! and transitions), and a log for every job that started, written where a server with
//! `LAVA_ROOT=DIR/server` reads it (`var/lib/lava-server/jobs/ID/output.yaml`) in LAVA's
//! format, of sizes spread from a few hundred bytes to `--log-max-kib`.
//!
//! Prints what it made and its rates on stderr, and on stdout only the database URL, so
//! `URL=$(lava-lab fill .lava-1m --jobs 1000000)` works.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use lava_testkit::PgCluster;

/// Fill a private lab with a long job history (jobs, results, transitions and logs).
#[derive(Debug, clap::Args)]
pub struct FillArgs {
    /// The directory of the lab: `pg/` for PostgreSQL, `server/` as the server's LAVA_ROOT.
    dir: PathBuf,
    /// How many jobs of history to make.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(i64).range(1..=10_000_000))]
    jobs: i64,
    /// The database to fill (created if missing; it must hold no jobs yet).
    #[arg(long, default_value = "lava")]
    database: String,
    /// The largest log, in KiB; sizes are spread evenly on a log scale from 256 bytes.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    log_max_kib: u64,
}

/// Logs recorded in one statement.
const BATCH: i64 = 10_000;

/// The size of job `id`'s log, in bytes: spread evenly on a log scale between 256 bytes and
/// `max`, the same for the same id on every run.
fn log_size(id: i64, max: u64) -> u64 {
    // A fixed mix of the id (splitmix64's finalizer) as a fraction in [0, 1).
    let mut z = (id as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    let f = ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64;
    let (lo, hi) = (256f64, (max as f64).max(256.0));
    (lo * (hi / lo).powf(f)) as u64
}

/// Writes job `id`'s log of about `size` bytes to `path`; returns its lines and bytes.
fn write_log(path: &Path, id: i64, size: u64) -> std::io::Result<(i64, i64)> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let (mut lines, mut bytes) = (0i64, 0i64);
    while (bytes as u64) < size {
        let line = match lines {
            0 => format!(
                "- {{\"dt\": \"2026-01-01T00:00:00.000000\", \"lvl\": \"info\", \"msg\": \"lava-dispatcher, installed at version: fill, job {id}\"}}\n"
            ),
            n => format!(
                "- {{\"dt\": \"2026-01-01T00:00:{:02}.{:06}\", \"lvl\": \"target\", \"msg\": \"console line {n} of job {id}\"}}\n",
                n / 1_000_000 % 60,
                n % 1_000_000
            ),
        };
        out.write_all(line.as_bytes())?;
        lines += 1;
        bytes += line.len() as i64;
    }
    out.flush()?;
    Ok((lines, bytes))
}

pub fn run(args: FillArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    eprintln!(
        "fill: starting postgresql in {}",
        args.dir.join("pg").display()
    );
    let cluster = PgCluster::start(&args.dir.join("pg")).with_context(|| {
        format!(
            "cannot start the cluster in {}",
            args.dir.join("pg").display()
        )
    })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let url = cluster.url(&args.database);
    rt.block_on(async {
        cluster
            .ensure_database(&args.database)
            .await
            .with_context(|| format!("cannot create database {}", args.database))?;
        fill(&args, &url, started).await
    })?;
    println!("{url}");
    cluster.detach();
    Ok(())
}

async fn fill(args: &FillArgs, url: &str, started: Instant) -> anyhow::Result<()> {
    let mut c = lava_db::connect(url).await.context("cannot connect")?;
    lava_db::migrate(&mut c).await.context("cannot migrate")?;
    if lava_db::history::has_jobs(&c).await? {
        bail!(
            "database {} in {} has jobs already: fill makes a history of its own in an empty one",
            args.database,
            args.dir.display()
        );
    }
    eprintln!("fill: {} jobs of history (results, transitions)", args.jobs);
    let filled = lava_db::history::fill(&c, args.jobs).await?;
    let db_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "fill: {} jobs, {} test cases, {} transitions in {db_secs:.1} s",
        filled.jobs, filled.test_cases, filled.transitions
    );
    let jobs_dir = args.dir.join("server/var/lib/lava-server/jobs");
    let logs_started = Instant::now();
    let (mut after, mut logs, mut bytes) = (0i64, 0u64, 0u64);
    let mut shown = 0u64;
    loop {
        let ids = lava_db::history::started_jobs_after(&c, after, BATCH).await?;
        let Some(&last) = ids.last() else { break };
        after = last;
        let dir = jobs_dir.clone();
        let max = args.log_max_kib << 10;
        let written =
            tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<(i64, i64, i64)>> {
                ids.iter()
                    .map(|&id| {
                        let job = dir.join(id.to_string());
                        std::fs::create_dir_all(&job)
                            .with_context(|| format!("cannot create {}", job.display()))?;
                        let path = job.join("output.yaml");
                        let (lines, bytes) = write_log(&path, id, log_size(id, max))
                            .with_context(|| format!("cannot write {}", path.display()))?;
                        Ok((id, lines, bytes))
                    })
                    .collect()
            })
            .await??;
        logs += lava_db::history::record_logs(&c, &written).await?;
        bytes += written.iter().map(|w| w.2 as u64).sum::<u64>();
        if logs * 10 / filled.jobs.max(1) > shown {
            shown = logs * 10 / filled.jobs.max(1);
            eprintln!("fill: {logs} logs, {} MiB", bytes >> 20);
        }
    }
    let log_secs = logs_started.elapsed().as_secs_f64();
    eprintln!(
        "fill: {logs} logs, {} MiB in {log_secs:.1} s ({:.0} logs/s) under {}",
        bytes >> 20,
        logs as f64 / log_secs.max(1e-9),
        jobs_dir.display()
    );
    eprintln!(
        "fill: done in {:.1} s; serve it with LAVA_ROOT={} LAVA_DATABASE_URL={url} lava-server web",
        started.elapsed().as_secs_f64(),
        args.dir.join("server").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_sizes_spread_between_their_bounds_and_repeat() {
        let sizes: Vec<u64> = (1..=10_000).map(|id| log_size(id, 16 << 10)).collect();
        assert!(sizes.iter().all(|s| (256..=16 << 10).contains(s)));
        assert!(sizes.iter().any(|s| *s < 512) && sizes.iter().any(|s| *s > 8 << 10));
        assert_eq!(log_size(42, 16 << 10), sizes[41]);
    }

    #[test]
    fn a_log_is_whole_lines_of_lavas_format_at_least_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output.yaml");
        let (lines, bytes) = write_log(&path, 7, 1000).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len() as i64, bytes);
        assert_eq!(text.lines().count() as i64, lines);
        assert!(bytes >= 1000);
        for line in text.lines() {
            lava_common::log::parse_line(line).unwrap();
        }
    }
}
