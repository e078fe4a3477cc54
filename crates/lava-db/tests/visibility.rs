//! Who sees which job, and login sessions, against a real PostgreSQL.

mod common;

use chrono::{Duration, Utc};
use lava_common::ids::{DeviceTypeName, JobId};
use lava_common::state::JobVisibility;
use lava_db::jobs::NewJob;
use lava_db::viewer::{Viewer, can_see_job};
use lava_testkit::test_db;

use common::user;

/// A qemu job seen as `visibility` says, by `groups` too.
fn job(submitter: i64, visibility: JobVisibility, groups: &[&str]) -> NewJob {
    NewJob {
        viewing_groups: groups.iter().map(|g| g.to_string()).collect(),
        queue_timeout: None,
        ..common::job(submitter, "qemu", visibility)
    }
}

#[tokio::test]
async fn each_visibility_is_seen_by_exactly_the_right_people() {
    let db = test_db().await.unwrap();
    let c = db.client().await.unwrap();
    lava_db::device_types::add(&c, &DeviceTypeName::from("qemu"), "")
        .await
        .unwrap();
    let owner = lava_db::users::add(&c, &user("owner", false))
        .await
        .unwrap();
    let member = lava_db::users::add(&c, &user("member", false))
        .await
        .unwrap();
    let other = lava_db::users::add(&c, &user("other", false))
        .await
        .unwrap();
    let admin = lava_db::users::add(&c, &user("admin", true)).await.unwrap();
    lava_db::users::add_group(&c, "lab").await.unwrap();
    lava_db::users::join_group(&c, "member", "lab")
        .await
        .unwrap();
    assert_eq!(
        lava_db::users::groups_of(&c, "member").await.unwrap(),
        ["lab"]
    );

    let public = lava_db::jobs::insert(&c, &job(owner, JobVisibility::Public, &[]))
        .await
        .unwrap();
    let personal = lava_db::jobs::insert(&c, &job(owner, JobVisibility::Personal, &[]))
        .await
        .unwrap();
    let group = lava_db::jobs::insert(&c, &job(owner, JobVisibility::Group, &["lab"]))
        .await
        .unwrap();
    let err = lava_db::jobs::insert(&c, &job(owner, JobVisibility::Group, &["nosuch"]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("'nosuch'"), "{err}");

    let who = |id: Option<i64>, su: bool| Viewer {
        user_id: id,
        superuser: su,
    };
    // (viewer, [public, personal, group])
    let table = [
        (Viewer::ANONYMOUS, [true, false, false]),
        (who(Some(owner), false), [true, true, true]),
        (who(Some(member), false), [true, false, true]),
        (who(Some(other), false), [true, false, false]),
        (who(Some(admin), true), [true, true, true]),
    ];
    for (viewer, expected) in table {
        for (job, want) in [public, personal, group].into_iter().zip(expected) {
            assert_eq!(
                can_see_job(&c, &viewer, job).await.unwrap(),
                want,
                "{viewer:?} job {job}"
            );
        }
    }
    assert!(
        !can_see_job(&c, &who(Some(admin), true), JobId(99_999))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn sessions_end_when_they_expire_or_log_out() {
    let db = test_db().await.unwrap();
    let c = db.client().await.unwrap();
    let id = lava_db::users::add(&c, &user("u", false)).await.unwrap();
    let later = Utc::now() + Duration::hours(1);
    lava_db::sessions::create(&c, "live", id, "csrf1", later)
        .await
        .unwrap();
    lava_db::sessions::create(&c, "old", id, "csrf2", Utc::now() - Duration::seconds(1))
        .await
        .unwrap();
    let s = lava_db::sessions::get(&c, "live").await.unwrap().unwrap();
    assert_eq!((s.username.as_str(), s.csrf_token.as_str()), ("u", "csrf1"));
    assert!(lava_db::sessions::get(&c, "old").await.unwrap().is_none());
    assert_eq!(lava_db::sessions::purge_expired(&c).await.unwrap(), 1);
    lava_db::sessions::delete(&c, "live").await.unwrap();
    assert!(lava_db::sessions::get(&c, "live").await.unwrap().is_none());

    let change = lava_db::admin_log::Change {
        user_id: id,
        username: "u",
        object_type: "device",
        object_id: "qemu01",
        action: "health Good -> Maintenance",
        reason: "cable",
    };
    lava_db::admin_log::record(&c, &change).await.unwrap();
    let log = lava_db::admin_log::list(&c, Some(("device", "qemu01")), 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].username.as_str(), log[0].reason.as_str()),
        ("u", "cable")
    );
}
