//! Staff administer but never grant more than they have: no superusers, no tokens for other
//! users, no groups they are not in, no worker approvals, and no jobs they may not see.

use lava_common::ids::{DeviceName, JobId, WorkerName};
use reqwest::StatusCode;

use crate::client::{lab, logged_in};

#[tokio::test]
async fn staff_cannot_make_superusers_or_mint_tokens_for_others() {
    let s = lab().await;
    s.add_user("root", "root-password", &["--superuser"]);
    let c = s.db.client().await.unwrap();
    let admin = logged_in(&s, "admin", "admin-password").await;

    let eve = [
        ("username", "eve"),
        ("password", "eve-password"),
        ("is_superuser", "on"),
        ("reason", "x"),
    ];
    let p = admin.submit("/admin/users/add", &eve).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    assert!(p.body.contains("superuser"), "{}", p.body);
    assert!(lava_db::users::get(&c, "eve").await.unwrap().is_none());
    // The form does not offer it to staff at all.
    assert!(
        !admin
            .get("/admin/users/")
            .await
            .body
            .contains("is_superuser")
    );
    // Staff may still add staff.
    let carol = [
        ("username", "carol"),
        ("password", "carol-password"),
        ("is_staff", "on"),
        ("reason", "x"),
    ];
    assert_eq!(
        admin.submit("/admin/users/add", &carol).await.status,
        StatusCode::SEE_OTHER
    );

    // No token for another user, superuser or not; one for themselves is fine.
    for user in ["bob", "root"] {
        let form = [("username", user), ("description", "x"), ("reason", "x")];
        let p = admin.submit("/admin/tokens/add", &form).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "a token for {user}");
        assert!(
            lava_db::tokens::list(&c, Some(user))
                .await
                .unwrap()
                .is_empty()
        );
    }
    let own = [("username", "admin"), ("description", "x"), ("reason", "x")];
    let p = admin.submit("/admin/tokens/add", &own).await;
    assert!(p.body.contains("<pre id=\"secret\">"), "{}", p.body);

    // A superuser does both.
    let root = logged_in(&s, "root", "root-password").await;
    assert_eq!(
        root.submit("/admin/users/add", &eve).await.status,
        StatusCode::SEE_OTHER
    );
    let form = [("username", "bob"), ("description", "x"), ("reason", "x")];
    let p = root.submit("/admin/tokens/add", &form).await;
    assert!(p.body.contains("<pre id=\"secret\">"), "{}", p.body);
}

#[tokio::test]
async fn staff_manage_only_groups_they_belong_to_and_approve_no_workers() {
    let s = lab().await;
    s.add_user("root", "root-password", &["--superuser"]);
    s.manage(&["workers", "add", "w1"]);
    let c = s.db.client().await.unwrap();
    let admin = logged_in(&s, "admin", "admin-password").await;
    let root = logged_in(&s, "root", "root-password").await;
    root.submit(
        "/admin/groups/add",
        &[("name", "secret-team"), ("reason", "x")],
    )
    .await;
    let join = [
        ("group", "secret-team"),
        ("action", "join"),
        ("reason", "x"),
    ];
    for who in ["admin", "bob"] {
        let p = admin
            .submit(&format!("/admin/users/{who}/groups"), &join)
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{who} into secret-team");
        assert!(lava_db::users::groups_of(&c, who).await.unwrap().is_empty());
    }
    assert!(
        !admin
            .get("/admin/users/bob/")
            .await
            .body
            .contains("<option value=\"secret-team\">"),
        "not offered either"
    );
    // A superuser puts admin in; then admin, a member, may add bob.
    root.submit("/admin/users/admin/groups", &join).await;
    assert_eq!(
        admin.submit("/admin/users/bob/groups", &join).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        lava_db::users::groups_of(&c, "bob").await.unwrap(),
        ["secret-team"]
    );

    // Approving a worker hands it every unassigned device it names: superusers only.
    let approve = [("action", "approve"), ("reason", "new rack")];
    let p = admin.submit("/admin/workers/w1/approve", &approve).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(
        !lava_db::workers::get(&c, &WorkerName::from("w1"))
            .await
            .unwrap()
            .unwrap()
            .approved
    );
    let p = root.submit("/admin/workers/w1/approve", &approve).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(
        lava_db::workers::get(&c, &WorkerName::from("w1"))
            .await
            .unwrap()
            .unwrap()
            .approved
    );

    // Assigning a device is an admin's everyday work: staff may.
    let assign = [("worker", "w1"), ("reason", "moved to rack 2")];
    let p = admin.submit("/admin/devices/kvm01/worker", &assign).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let d = lava_db::devices::get(&c, &DeviceName::from("kvm01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.info.worker_host.as_deref(), Some("w1"));
    let page = admin.get("/admin/devices/kvm01/").await.body;
    assert!(page.contains("moved to rack 2"), "{page}");

    // Tags: the form sets the whole list, creating new tags.
    let tags = [("tags", "fast, arm64 fast"), ("reason", "new boards")];
    let p = admin.submit("/admin/devices/kvm01/tags", &tags).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let d = lava_db::devices::get(&c, &DeviceName::from("kvm01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.info.tags, ["arm64", "fast"]);
    let tags = [("tags", "arm64"), ("reason", "fast was wrong")];
    admin.submit("/admin/devices/kvm01/tags", &tags).await;
    let d = lava_db::devices::get(&c, &DeviceName::from("kvm01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.info.tags, ["arm64"]);
    let page = admin.get("/admin/devices/kvm01/").await.body;
    assert!(page.contains("tags [arm64 fast] → [arm64]"), "{page}");
    let long = "t".repeat(51);
    let bad = [("tags", long.as_str()), ("reason", "x")];
    let p = admin.submit("/admin/devices/kvm01/tags", &bad).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    assert!(p.body.contains("invalid tag"), "{}", p.body);
    let d = lava_db::devices::get(&c, &DeviceName::from("kvm01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.info.tags, ["arm64"]);
}

#[tokio::test]
async fn the_admin_job_list_and_its_actions_obey_job_visibility() {
    let s = lab().await;
    s.add_user("root", "root-password", &["--superuser"]);
    s.manage(&["tokens", "add", "--user", "bob"]);
    let private = s.submit(
        "job_name: bobs-own\ndevice_type: kvm\nvisibility: personal\ntimeouts:\n  job: {minutes: 1}\nactions: []\n",
    );
    // `manage submit` has no submitter; make bob the owner as the REST API would.
    let c = s.db.client().await.unwrap();
    let bob = lava_db::users::id_of(&c, "bob").await.unwrap();
    c.execute(
        "UPDATE jobs SET submitter_id = $1 WHERE id = $2",
        &[&bob, &private],
    )
    .await
    .unwrap();
    let admin = logged_in(&s, "admin", "admin-password").await;
    let root = logged_in(&s, "root", "root-password").await;
    assert!(!admin.get("/admin/jobs/").await.body.contains("bobs-own"));
    assert!(root.get("/admin/jobs/").await.body.contains("bobs-own"));
    let reason = [("reason", "x"), ("priority", "90")];
    for action in ["resubmit", "cancel", "priority"] {
        let p = admin
            .submit(&format!("/admin/jobs/{private}/{action}"), &reason)
            .await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{action}: {}", p.body);
    }
    let j = lava_db::jobs::get(&c, JobId(private))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (j.state.as_str(), j.priority),
        ("submitted", 50),
        "untouched"
    );
    assert_eq!(lava_db::jobs::list(&c, None, 10, 0).await.unwrap().len(), 1);
    let p = root
        .submit(&format!("/admin/jobs/{private}/resubmit"), &reason)
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
}
