//! A long history: `lava_db::history::fill` makes a year of jobs (JOBS, default 200,000;
//! `LAVA_BENCH_JOBS` to change it), then the job lists behind REST `jobs/` filters and the
//! all-jobs page are timed (list and count, as a request runs them, p50 and p99), and the
//! three charts over their default windows, then `manage jobs rm --older-than 30` deletes the older jobs a batch of 1,000 per transaction:
//! jobs per second and the longest batch (how long its rows stay locked). Prints figures;
//! asserts nothing (the goal: p50 under 5 ms, p99 under 20 ms at a million jobs).

mod common;

use std::time::{Duration, Instant};

use common::{ms, percentile};
use lava_common::ids::JobId;
use lava_common::state::{JobHealth, JobState};
use lava_db::job_list::{self, JobFilter, JobOrder};
use lava_db::viewer::Viewer;

const RUNS: usize = 200;
/// Runs of each chart (each reads more than a list).
const CHART_RUNS: usize = 20;

fn main() {
    common::run_bench(bench());
}

async fn bench() {
    let jobs: i64 = std::env::var("LAVA_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let db = lava_testkit::test_db().await.expect("database");
    let mut c = db.client().await.expect("client");
    let started = Instant::now();
    let filled = lava_db::history::fill(&c, jobs).await.expect("fill");
    println!(
        "history: {} jobs, {} test cases made in {:.1} s",
        filled.jobs,
        filled.test_cases,
        started.elapsed().as_secs_f64()
    );
    let now = chrono::Utc::now();
    let d = JobFilter::default;
    let rest = |f: JobFilter| JobFilter { limit: 50, ..f };
    let page = |f: JobFilter| JobFilter {
        order: JobOrder::IdDesc,
        limit: 26,
        ..f
    };
    let cases = [
        ("REST jobs/", rest(d())),
        (
            "REST jobs/?state=running",
            rest(JobFilter {
                state: Some(JobState::Running),
                ..d()
            }),
        ),
        (
            "REST jobs/?health=incomplete",
            rest(JobFilter {
                health: Some(JobHealth::Incomplete),
                ..d()
            }),
        ),
        (
            "REST jobs/?id__gt=",
            rest(JobFilter {
                id_gt: Some(JobId(jobs - 100)),
                ..d()
            }),
        ),
        (
            "REST jobs/?submit_time__gt=(a day ago)",
            rest(JobFilter {
                submitted_after: Some(now - chrono::Duration::days(1)),
                ..d()
            }),
        ),
        (
            "REST jobs/?end_time__lt=(364 days ago)",
            rest(JobFilter {
                ended_before: Some(now - chrono::Duration::days(364)),
                ..d()
            }),
        ),
        (
            "REST jobs/?requested_device_type=",
            rest(JobFilter {
                device_type: Some("type-3".into()),
                ..d()
            }),
        ),
        (
            "REST jobs/?actual_device=",
            rest(JobFilter {
                device: Some("dev-37".into()),
                ..d()
            }),
        ),
        (
            "REST jobs/?submitter=",
            rest(JobFilter {
                submitter: Some("user-7".into()),
                ..d()
            }),
        ),
        (
            "REST jobs/?health_check=false",
            rest(JobFilter {
                health_check: Some(false),
                ..d()
            }),
        ),
        (
            "REST jobs/?ordering=-end_time",
            rest(JobFilter {
                order: JobOrder::EndTimeDesc,
                ..d()
            }),
        ),
        ("/scheduler/alljobs", page(d())),
        (
            "/scheduler/alljobs?device=",
            page(JobFilter {
                device: Some("dev-37".into()),
                ..d()
            }),
        ),
    ];
    let viewer = Viewer::ANONYMOUS;
    for (what, f) in &cases {
        let mut lat: Vec<Duration> = Vec::with_capacity(RUNS);
        for i in 0..RUNS + 20 {
            let t = Instant::now();
            job_list::count(&c, &viewer, f).await.expect("count");
            job_list::list(&c, &viewer, f).await.expect("list");
            if i >= 20 {
                lat.push(t.elapsed());
            }
        }
        lat.sort();
        println!(
            "{what} at {jobs} jobs (count + list): p50 {}, p99 {}",
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99))
        );
    }

    // The charts page's three charts over their default windows (`/results/charts/…`).
    let charts: [(&str, i64); 3] = [
        ("queue length", 7),
        ("device health", 30),
        ("pass rates", 30),
    ];
    for (chart, days) in charts {
        let mut lat: Vec<Duration> = Vec::with_capacity(CHART_RUNS);
        for i in 0..CHART_RUNS + 3 {
            let to = chrono::Utc::now();
            let from = to - chrono::Duration::days(days);
            let t = Instant::now();
            match chart {
                "queue length" => {
                    lava_db::charts::queue_length(&c, &viewer, from, to, 96)
                        .await
                        .expect("chart");
                }
                "device health" => {
                    lava_db::charts::device_health(&c, from, to, 96)
                        .await
                        .expect("chart");
                }
                _ => {
                    lava_db::charts::pass_rates(&c, &viewer, from)
                        .await
                        .expect("chart");
                }
            }
            if i >= 3 {
                lat.push(t.elapsed());
            }
        }
        lat.sort();
        println!(
            "chart {chart} ({days} days) at {jobs} jobs: p50 {}, p99 {}",
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99))
        );
    }

    let cutoff = lava_db::archive::cutoff(&c, 30).await.expect("cutoff");
    let old = lava_db::archive::count_old(&c, cutoff)
        .await
        .expect("count");
    let started = Instant::now();
    let (mut deleted, mut cases, mut longest) = (0usize, 0i64, Duration::ZERO);
    loop {
        let t = Instant::now();
        let tx = c.transaction().await.expect("begin");
        let b = lava_db::archive::delete_old(&tx, cutoff, 1000)
            .await
            .expect("delete");
        tx.commit().await.expect("commit");
        longest = longest.max(t.elapsed());
        if b.jobs.is_empty() {
            break;
        }
        deleted += b.jobs.len();
        cases += b.test_cases;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "bench: manage jobs rm --older-than 30: {deleted} of {old} jobs and {cases} test cases in {secs:.1} s, {:.0} jobs/s, longest batch of 1,000 {}",
        deleted as f64 / secs,
        ms(longest)
    );
}
