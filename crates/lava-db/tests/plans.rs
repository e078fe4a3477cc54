//! The plans of the job lists over a big history: for every filter the REST `jobs/` list
//! documents (`docs/api.md`), each `ordering`, and the all-jobs page's filters, neither the
//! list nor its count reads the whole `jobs` table (no `Seq Scan on jobs`) or the whole
//! `test_cases` table, and neither does a batch of the job archive (`manage jobs rm`). The
//! history is realistic (`lava_db::history::fill`: a year of jobs over 100 devices and 20
//! submitters, statistics fresh as autovacuum keeps them); the planner's settings are
//! PostgreSQL's defaults.

use chrono::{Duration, Utc};
use lava_common::ids::JobId;
use lava_common::state::{JobHealth, JobState};
use lava_db::job_list::{self, JobFilter, JobOrder};
use lava_db::viewer::Viewer;
use lava_testkit::test_db;

/// The history's size: big enough that reading it whole costs the planner more than an
/// index, as on a lab's server.
const JOBS: i64 = 100_000;

fn rest(f: JobFilter) -> JobFilter {
    // The REST list: ascending id, 50 a page.
    JobFilter { limit: 50, ..f }
}

fn page(f: JobFilter) -> JobFilter {
    // The all-jobs page: newest first, one row more than it shows.
    JobFilter {
        order: JobOrder::IdDesc,
        limit: 26,
        ..f
    }
}

#[tokio::test]
async fn no_job_list_reads_the_whole_jobs_or_test_cases_table() {
    let db = test_db().await.unwrap();
    let c = db.client().await.unwrap();
    let filled = lava_db::history::fill(&c, JOBS).await.unwrap();
    assert_eq!(filled.jobs, JOBS as u64);
    let user = lava_db::users::id_of(&c, "user-3").await.unwrap().unwrap();
    let viewers = [
        ("anonymous", Viewer::ANONYMOUS),
        (
            "user-3",
            Viewer {
                user_id: Some(user),
                superuser: false,
            },
        ),
        (
            "superuser",
            Viewer {
                user_id: None,
                superuser: true,
            },
        ),
    ];
    let now = Utc::now();
    let day = Duration::days(1);
    let d = JobFilter::default;
    let filters: Vec<(&str, JobFilter)> = vec![
        ("no filter", d()),
        (
            "state=running",
            JobFilter {
                state: Some(JobState::Running),
                ..d()
            },
        ),
        (
            "state=finished",
            JobFilter {
                state: Some(JobState::Finished),
                ..d()
            },
        ),
        (
            "health=incomplete",
            JobFilter {
                health: Some(JobHealth::Incomplete),
                ..d()
            },
        ),
        (
            "state__in=submitted,running",
            JobFilter {
                states: vec![JobState::Submitted, JobState::Running],
                ..d()
            },
        ),
        (
            "health__in=incomplete,canceled",
            JobFilter {
                healths: vec![JobHealth::Incomplete, JobHealth::Canceled],
                ..d()
            },
        ),
        (
            "id__gt",
            JobFilter {
                id_gt: Some(JobId(JOBS - 100)),
                ..d()
            },
        ),
        (
            "id__lt",
            JobFilter {
                id_lt: Some(JobId(100)),
                ..d()
            },
        ),
        (
            "id__in",
            JobFilter {
                ids: vec![JobId(5), JobId(5000), JobId(75_000)],
                ..d()
            },
        ),
        (
            "submit_time__gt",
            JobFilter {
                submitted_after: Some(now - day),
                ..d()
            },
        ),
        (
            "submit_time__lt",
            JobFilter {
                submitted_before: Some(now - day * 364),
                ..d()
            },
        ),
        (
            "end_time__gt",
            JobFilter {
                ended_after: Some(now - day),
                ..d()
            },
        ),
        (
            "end_time__lt",
            JobFilter {
                ended_before: Some(now - day * 364),
                ..d()
            },
        ),
        (
            "requested_device_type",
            JobFilter {
                device_type: Some("type-3".into()),
                ..d()
            },
        ),
        (
            "actual_device",
            JobFilter {
                device: Some("dev-37".into()),
                ..d()
            },
        ),
        (
            "submitter",
            JobFilter {
                submitter: Some("user-7".into()),
                ..d()
            },
        ),
        (
            "health_check=true",
            JobFilter {
                health_check: Some(true),
                ..d()
            },
        ),
        (
            "health_check=false",
            JobFilter {
                health_check: Some(false),
                ..d()
            },
        ),
    ];
    let orders = [
        ("-id", JobOrder::IdDesc),
        ("submit_time", JobOrder::SubmitTimeAsc),
        ("-submit_time", JobOrder::SubmitTimeDesc),
        ("start_time", JobOrder::StartTimeAsc),
        ("-start_time", JobOrder::StartTimeDesc),
        ("end_time", JobOrder::EndTimeAsc),
        ("-end_time", JobOrder::EndTimeDesc),
    ];
    let mut cases: Vec<(String, JobFilter)> = Vec::new();
    for (name, f) in &filters {
        cases.push((format!("REST jobs/?{name}"), rest(f.clone())));
    }
    for (name, order) in orders {
        cases.push((
            format!("REST jobs/?ordering={name}"),
            rest(JobFilter { order, ..d() }),
        ));
    }
    for (name, f) in [
        ("", d()),
        (
            "state=running",
            JobFilter {
                state: Some(JobState::Running),
                ..d()
            },
        ),
        (
            "health=incomplete",
            JobFilter {
                health: Some(JobHealth::Incomplete),
                ..d()
            },
        ),
        (
            "device_type=type-3",
            JobFilter {
                device_type: Some("type-3".into()),
                ..d()
            },
        ),
        (
            "device=dev-37",
            JobFilter {
                device: Some("dev-37".into()),
                ..d()
            },
        ),
        (
            "submitter=user-7",
            JobFilter {
                submitter: Some("user-7".into()),
                ..d()
            },
        ),
        (
            "before=50000",
            JobFilter {
                id_lt: Some(JobId(50_000)),
                ..d()
            },
        ),
    ] {
        cases.push((format!("/scheduler/alljobs?{name}"), page(f)));
    }
    let mut bad = Vec::new();
    for (what, f) in &cases {
        for (who, viewer) in &viewers {
            let list = job_list::plan(&c, viewer, f).await.unwrap();
            let count = job_list::plan_count(&c, viewer, f).await.unwrap();
            for (kind, plan) in [("list", list), ("count", count)] {
                if plan.contains("Seq Scan on jobs") || plan.contains("Seq Scan on test_cases") {
                    bad.push(format!("{what} ({kind}, {who}):\n{plan}"));
                }
            }
        }
    }
    // A device's jobs are counted exactly (no counter is kept by device): from the index
    // alone, never a row read per job for its visibility.
    let by_device = JobFilter {
        device: Some("dev-37".into()),
        ..d()
    };
    for (who, viewer) in &viewers {
        let count = job_list::plan_count(&c, viewer, &by_device).await.unwrap();
        if !count.contains("Index Only Scan using jobs_by_device on jobs") {
            bad.push(format!(
                "actual_device=dev-37 (count, {who}) reads rows:\n{count}"
            ));
        }
    }
    // Ten days of a year's jobs (2,700 here), in either id order, are read from their time
    // index and sorted: the planner, costing matches as if spread evenly over the ids, would
    // walk the primary key from the other end and pass the rest of the year first.
    for (what, f) in [
        (
            "submit_time__gt=(10 days ago), oldest first",
            rest(JobFilter {
                submitted_after: Some(now - day * 10),
                ..d()
            }),
        ),
        (
            "end_time__gt=(10 days ago), oldest first",
            rest(JobFilter {
                ended_after: Some(now - day * 10),
                ..d()
            }),
        ),
        (
            "submit_time__lt=(355 days ago), newest first",
            page(JobFilter {
                submitted_before: Some(now - day * 355),
                ..d()
            }),
        ),
        (
            "end_time__lt=(355 days ago), newest first",
            page(JobFilter {
                ended_before: Some(now - day * 355),
                ..d()
            }),
        ),
    ] {
        let list = job_list::plan(&c, &Viewer::ANONYMOUS, &f).await.unwrap();
        if list.contains("using jobs_pkey") || !list.contains("Sort") {
            bad.push(format!("{what} (list) walks the primary key:\n{list}"));
        }
    }
    // A batch of the job archive (`manage jobs rm`): its old jobs and their test cases.
    let cutoff = lava_db::archive::cutoff(&c, 30).await.unwrap();
    let plan = lava_db::archive::plan_delete_old(&c, cutoff, 1000)
        .await
        .unwrap();
    if plan.contains("Seq Scan on jobs") || plan.contains("Seq Scan on test_cases") {
        bad.push(format!("manage jobs rm (a batch):\n{plan}"));
    }
    assert!(
        bad.is_empty(),
        "{} plans read a whole table, or a row per job counted:\n\n{}",
        bad.len(),
        bad.join("\n\n")
    );
}
