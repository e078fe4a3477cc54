//! Job lists for a caller: filters, order, paging, counts and the plan of a keyset page.

mod common;

use lava_common::ids::{DeviceTypeName, JobId};
use lava_common::state::{JobHealth, JobState, JobVisibility};
use lava_db::job_list::{self, JobFilter, JobOrder};
use lava_db::viewer::Viewer;
use lava_testkit::{TestDb, test_db};

use common::{job, user};

fn ids(jobs: &[lava_db::jobs::Job]) -> Vec<JobId> {
    jobs.iter().map(|j| j.id).collect()
}

/// The users of a lab, by id.
struct People {
    alice: i64,
    bob: i64,
    root: i64,
}

/// A private database with `device_types` and three users: alice and bob, and root, a
/// superuser.
async fn lab(device_types: &[&str]) -> (TestDb, lava_db::Client, People) {
    let db = test_db().await.unwrap();
    let c = db.client().await.unwrap();
    for name in device_types {
        lava_db::device_types::add(&c, &DeviceTypeName::from(*name), "")
            .await
            .unwrap();
    }
    let add = async |name, superuser| {
        lava_db::users::add(&c, &user(name, superuser))
            .await
            .unwrap()
    };
    let people = People {
        alice: add("alice", false).await,
        bob: add("bob", false).await,
        root: add("root", true).await,
    };
    (db, c, people)
}

#[tokio::test]
async fn filters_order_paging_and_visibility() {
    let (_db, c, People { alice, bob, root }) = lab(&["qemu", "bbb"]).await;
    let mut all = vec![];
    for (who, dt, vis) in [
        (alice, "qemu", JobVisibility::Public),
        (bob, "bbb", JobVisibility::Public),
        (alice, "qemu", JobVisibility::Personal),
        (bob, "qemu", JobVisibility::Public),
        (alice, "bbb", JobVisibility::Public),
    ] {
        all.push(lava_db::jobs::insert(&c, &job(who, dt, vis)).await.unwrap());
    }
    let anon = Viewer::ANONYMOUS;
    let as_alice = Viewer {
        user_id: Some(alice),
        superuser: false,
    };
    let as_root = Viewer {
        user_id: Some(root),
        superuser: true,
    };
    let public: Vec<JobId> = [0, 1, 3, 4].iter().map(|&i| all[i]).collect();

    let f = JobFilter::default();
    assert_eq!(ids(&job_list::list(&c, &anon, &f).await.unwrap()), public);
    assert_eq!(job_list::count(&c, &anon, &f).await.unwrap(), 4);
    assert_eq!(ids(&job_list::list(&c, &as_alice, &f).await.unwrap()), all);
    assert_eq!(job_list::count(&c, &as_root, &f).await.unwrap(), 5);

    let desc = JobFilter {
        order: JobOrder::IdDesc,
        limit: 2,
        offset: 1,
        ..Default::default()
    };
    assert_eq!(
        ids(&job_list::list(&c, &anon, &desc).await.unwrap()),
        [all[3], all[1]]
    );
    assert_eq!(
        job_list::count(&c, &anon, &desc).await.unwrap(),
        4,
        "count ignores paging"
    );

    let qemu = JobFilter {
        device_type: Some("qemu".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(&job_list::list(&c, &as_alice, &qemu).await.unwrap()),
        [all[0], all[2], all[3]]
    );
    let bobs = JobFilter {
        submitter: Some("bob".into()),
        ..Default::default()
    };
    assert_eq!(job_list::count(&c, &as_alice, &bobs).await.unwrap(), 2);
    let window = JobFilter {
        id_gt: Some(all[0]),
        id_lt: Some(all[4]),
        ..Default::default()
    };
    assert_eq!(
        ids(&job_list::list(&c, &anon, &window).await.unwrap()),
        [all[1], all[3]]
    );

    let submitted = JobFilter {
        state: Some(JobState::Submitted),
        ..Default::default()
    };
    assert_eq!(job_list::count(&c, &anon, &submitted).await.unwrap(), 4);
    let finished = JobFilter {
        states: vec![JobState::Finished, JobState::Running],
        ..Default::default()
    };
    assert_eq!(job_list::count(&c, &anon, &finished).await.unwrap(), 0);
    let unknown = JobFilter {
        healths: vec![JobHealth::Unknown],
        health: Some(JobHealth::Unknown),
        ..Default::default()
    };
    assert_eq!(job_list::count(&c, &anon, &unknown).await.unwrap(), 4);
    let ended = JobFilter {
        ended_since: Some(chrono::Utc::now() - chrono::Duration::days(1)),
        ..Default::default()
    };
    assert_eq!(job_list::count(&c, &anon, &ended).await.unwrap(), 0);
}

#[tokio::test]
async fn a_keyset_page_walks_the_primary_key() {
    let (_db, c, _) = lab(&["qemu"]).await;
    let n = lava_db::jobs::insert_many_for_bench(&c, 100_000, &DeviceTypeName::from("qemu"), None)
        .await
        .unwrap();
    assert_eq!(n, 100_000);
    let page = JobFilter {
        order: JobOrder::IdDesc,
        id_lt: Some(JobId(50_000)),
        limit: 25,
        ..Default::default()
    };
    let jobs = job_list::list(&c, &Viewer::ANONYMOUS, &page).await.unwrap();
    assert_eq!(jobs.len(), 25);
    assert_eq!(jobs[0].id, JobId(49_999));
    let plan = job_list::plan(&c, &Viewer::ANONYMOUS, &page).await.unwrap();
    assert!(
        plan.contains("Index Scan Backward using jobs_pkey"),
        "{plan}"
    );
    // Bulk jobs end one second apart in id order: from job 90,000's end on, 10,001 jobs ended.
    let j = lava_db::jobs::get(&c, JobId(90_000))
        .await
        .unwrap()
        .unwrap();
    let ended = JobFilter {
        ended_since: j.end_time,
        ..Default::default()
    };
    assert_eq!(
        job_list::count(&c, &Viewer::ANONYMOUS, &ended)
            .await
            .unwrap(),
        10_001
    );
}

/// The counters agree with an exact count for every viewer and state/health filter, before
/// and after folding, through inserts, cancels (a state and health change), group jobs and
/// deletes.
#[tokio::test]
async fn counted_jobs_always_match_an_exact_count() {
    let (_db, c, People { alice, bob, root }) = lab(&["qemu"]).await;
    lava_db::users::add_group(&c, "lab").await.unwrap();
    lava_db::users::join_group(&c, "bob", "lab").await.unwrap();
    let viewers = [
        Viewer::ANONYMOUS,
        Viewer {
            user_id: Some(alice),
            superuser: false,
        },
        Viewer {
            user_id: Some(bob),
            superuser: false,
        },
        Viewer {
            user_id: Some(root),
            superuser: true,
        },
    ];
    let filters = [
        JobFilter::default(),
        JobFilter {
            state: Some(JobState::Submitted),
            ..Default::default()
        },
        JobFilter {
            state: Some(JobState::Finished),
            ..Default::default()
        },
        JobFilter {
            health: Some(JobHealth::Canceled),
            ..Default::default()
        },
        JobFilter {
            states: vec![JobState::Finished, JobState::Submitted],
            healths: vec![JobHealth::Unknown],
            ..Default::default()
        },
        JobFilter {
            health_check: Some(true),
            ..Default::default()
        },
        JobFilter {
            health_check: Some(false),
            device_type: Some("qemu".into()),
            state: Some(JobState::Finished),
            ..Default::default()
        },
        JobFilter {
            submitter: Some("alice".into()),
            ..Default::default()
        },
        JobFilter {
            submitter: Some("bob".into()),
            health: Some(JobHealth::Canceled),
            ..Default::default()
        },
        JobFilter {
            submitter: Some("nobody".into()),
            ..Default::default()
        },
        // Both kinds of counter at once: counted exactly.
        JobFilter {
            submitter: Some("alice".into()),
            health_check: Some(false),
            ..Default::default()
        },
    ];
    let check = |stage: &'static str| {
        let c = &c;
        let viewers = &viewers;
        let filters = &filters;
        async move {
            for v in viewers {
                for f in filters {
                    let fast = job_list::count(c, v, f).await.unwrap();
                    let exact = job_list::count_exact(c, v, f).await.unwrap();
                    assert_eq!(fast, exact, "{stage}: {v:?} {f:?}");
                }
            }
        }
    };
    let mut ids = vec![];
    for (i, vis) in [
        JobVisibility::Public,
        JobVisibility::Personal,
        JobVisibility::Group,
        JobVisibility::Public,
        JobVisibility::Personal,
    ]
    .into_iter()
    .enumerate()
    {
        let mut j = job(if i % 2 == 0 { alice } else { bob }, "qemu", vis);
        if vis == JobVisibility::Group {
            j.viewing_groups = vec!["lab".into()];
        }
        j.health_check = i == 3;
        ids.push(lava_db::jobs::insert(&c, &j).await.unwrap());
    }
    check("after inserts").await;
    lava_db::lifecycle::job::cancel(&c, ids[0], None, "t")
        .await
        .unwrap();
    lava_db::lifecycle::job::cancel(&c, ids[2], None, "t")
        .await
        .unwrap();
    check("after cancels").await;
    job_list::fold_counts(&c).await.unwrap();
    let pending: i64 = c
        .query_one("SELECT count(*) AS n FROM job_count_deltas", &[])
        .await
        .unwrap()
        .get("n");
    assert_eq!(pending, 0, "a fold moves every delta");
    check("after a fold").await;
    lava_db::lifecycle::job::cancel(&c, ids[3], None, "t")
        .await
        .unwrap();
    c.execute("DELETE FROM jobs WHERE id = $1", &[&ids[4]])
        .await
        .unwrap();
    check("after a delete").await;
    job_list::fold_counts(&c).await.unwrap();
    check("after a second fold").await;
    // A user who is gone leaves jobs without a submitter; they are still counted.
    c.execute("DELETE FROM users WHERE id = $1", &[&alice])
        .await
        .unwrap();
    check("after a submitter is deleted").await;
    job_list::fold_counts(&c).await.unwrap();
    check("after a third fold").await;
}
