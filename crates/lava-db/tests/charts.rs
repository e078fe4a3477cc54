//! The queue-length chart over a history: each instant's count equals the count of the jobs
//! queued at that instant, asked of the database instant by instant (the chart's meaning,
//! written the slow way here), for each kind of viewer, over windows whose instants fall on
//! job submissions and starts exactly.

use chrono::{DateTime, Duration, DurationRound, Utc};
use lava_db::charts;
use lava_db::viewer::Viewer;
use lava_testkit::test_db;

/// Jobs queued at each instant, instant by instant.
async fn queued_at(
    c: &tokio_postgres::Client,
    viewer: &Viewer,
    instants: &[DateTime<Utc>],
) -> Vec<i64> {
    let (user, su) = viewer.params();
    let sql = format!(
        "SELECT count(*) AS n FROM jobs j
         WHERE j.submit_time <= $3 AND coalesce(j.start_time, j.end_time, 'infinity') > $3
           AND {}",
        Viewer::job_condition("j", 1)
    );
    let mut out = Vec::new();
    for t in instants {
        let row = c.query_one(&sql, &[&user, &su, t]).await.unwrap();
        out.push(row.get("n"));
    }
    out
}

#[tokio::test]
async fn the_queue_length_at_each_instant_is_the_jobs_queued_then() {
    let db = test_db().await.unwrap();
    let c = db.client().await.unwrap();
    lava_db::history::fill(&c, 20_000).await.unwrap();
    // The filled jobs wait seconds in the queue; a third of them here wait up to two days.
    c.execute(
        "UPDATE jobs SET start_time = submit_time + (id % 49) * interval '1 hour'
         WHERE id % 3 = 0 AND start_time IS NOT NULL",
        &[],
    )
    .await
    .unwrap();
    let user = lava_db::users::id_of(&c, "user-3").await.unwrap().unwrap();
    let viewers = [
        Viewer::ANONYMOUS,
        Viewer {
            user_id: Some(user),
            superuser: false,
        },
        Viewer {
            user_id: None,
            superuser: true,
        },
    ];
    // Windows whose first instant is a job's submission, or a job's start, exactly; and the
    // page's windows.
    let edges = c
        .query_one(
            "SELECT (SELECT submit_time FROM jobs WHERE id = 19000) AS a,
                    (SELECT start_time FROM jobs WHERE id = 19500) AS b",
            &[],
        )
        .await
        .unwrap();
    let (submitted, started): (DateTime<Utc>, DateTime<Utc>) = (edges.get("a"), edges.get("b"));
    let now = Utc::now()
        .duration_trunc(Duration::microseconds(1))
        .unwrap();
    let windows = [
        (submitted, submitted + Duration::days(2), 96),
        (started, started + Duration::hours(3), 96),
        (now - Duration::days(7), now, 96),
        (now - Duration::days(1), now, 2),
        (now - Duration::days(366), now, 96),
    ];
    let mut busy = 0;
    for (from, to, points) in windows {
        for viewer in &viewers {
            let chart = charts::queue_length(&c, viewer, from, to, points)
                .await
                .unwrap();
            assert_eq!(chart.len(), points as usize);
            assert_eq!(chart[0].0, from);
            let instants: Vec<_> = chart.iter().map(|(t, _)| *t).collect();
            let counts: Vec<_> = chart.iter().map(|(_, n)| *n).collect();
            assert_eq!(
                counts,
                queued_at(&c, viewer, &instants).await,
                "{from} to {to}, {viewer:?}"
            );
            busy += counts.iter().filter(|n| **n > 0).count();
        }
    }
    assert!(
        busy > 1000,
        "the windows held queued jobs: {busy} busy instants"
    );
}
