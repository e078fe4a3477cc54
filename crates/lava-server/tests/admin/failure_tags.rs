//! Failure tags in the admin interface: superusers list, add, rename and delete them, each
//! change in the admin log; staff who are not superusers get neither the pages nor the forms.

use reqwest::StatusCode;

use crate::client::{JOB, lab, logged_in};

#[tokio::test]
async fn superusers_add_edit_and_delete_failure_tags() {
    let s = lab().await;
    s.add_user("root", "root-password", &["--superuser"]);
    let c = s.db.client().await.unwrap();
    let root = logged_in(&s, "root", "root-password").await;
    let list = root.get("/admin/failure-tags/").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("no failure tags"), "{}", list.body);
    assert!(
        root.get("/admin/")
            .await
            .body
            .contains("href=\"/admin/failure-tags/\"")
    );

    // Added, trimmed, escaped on the page, logged with the reason.
    let form = [
        ("name", " lab <network> "),
        ("description", "the switch again"),
        ("reason", "new rack"),
    ];
    let p = root.submit("/admin/failure-tags/add", &form).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let tags = lava_db::failure_tags::list(&c).await.unwrap();
    assert_eq!(tags.len(), 1);
    let id = tags[0].id;
    assert_eq!(
        (tags[0].name.as_str(), tags[0].description.as_str()),
        ("lab <network>", "the switch again")
    );
    let list = root.get("/admin/failure-tags/").await.body;
    assert!(
        list.contains("lab &lt;network&gt;") && !list.contains("<network>"),
        "{list}"
    );
    let log = lava_db::admin_log::list(&c, Some(("failure_tag", &id.to_string())), 5)
        .await
        .unwrap();
    assert_eq!(
        (log[0].username.as_str(), log[0].reason.as_str()),
        ("root", "new rack")
    );

    // Refused: a duplicate name, a name too long or with a control character, no reason.
    root.submit(
        "/admin/failure-tags/add",
        &[("name", "bootloader-hang"), ("reason", "r")],
    )
    .await;
    let long = "x".repeat(257);
    for (name, reason, status, says) in [
        (
            "bootloader-hang",
            "r",
            StatusCode::CONFLICT,
            "already exists",
        ),
        (
            long.as_str(),
            "r",
            StatusCode::BAD_REQUEST,
            "1 to 256 characters",
        ),
        (
            "a\u{7}b",
            "r",
            StatusCode::BAD_REQUEST,
            "control characters",
        ),
        ("fine", " ", StatusCode::BAD_REQUEST, "reason"),
    ] {
        let p = root
            .submit(
                &format!("/admin/failure-tags/{id}"),
                &[("name", name), ("description", "d"), ("reason", reason)],
            )
            .await;
        assert_eq!(p.status, status, "{name:?}: {}", p.body);
        assert!(p.body.contains(says), "{name:?}: {}", p.body);
    }
    let tag = lava_db::failure_tags::get(&c, id).await.unwrap().unwrap();
    assert_eq!(tag.name, "lab <network>");

    // Renamed: a job that has the tag keeps it under the new name.
    let job = s.submit(JOB);
    s.manage(&["failure-tags", "set", &job.to_string(), "lab <network>"]);
    let form = [
        ("name", "lab network"),
        ("description", "switch"),
        ("reason", "typo"),
    ];
    let p = root
        .submit(&format!("/admin/failure-tags/{id}"), &form)
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let page = root.get(&format!("/admin/failure-tags/{id}/")).await;
    assert!(
        page.body.contains("value=\"lab network\"") && page.body.contains("typo"),
        "{}",
        page.body
    );
    let j = lava_db::jobs::get(&c, lava_common::ids::JobId(job))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(j.failure_tags, [id]);

    // Deleted: gone, and off the job.
    let p = root
        .submit(
            &format!("/admin/failure-tags/{id}/delete"),
            &[("reason", "unused")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(lava_db::failure_tags::get(&c, id).await.unwrap().is_none());
    let j = lava_db::jobs::get(&c, lava_common::ids::JobId(job))
        .await
        .unwrap()
        .unwrap();
    assert!(j.failure_tags.is_empty());
    assert_eq!(
        root.get(&format!("/admin/failure-tags/{id}/")).await.status,
        StatusCode::NOT_FOUND
    );
    let log = lava_db::admin_log::list(&c, Some(("failure_tag", &id.to_string())), 5)
        .await
        .unwrap();
    assert_eq!(log[0].action, "deleted failure tag 'lab network'");
}

#[tokio::test]
async fn staff_who_are_not_superusers_cannot_touch_failure_tags() {
    let s = lab().await;
    let id = s
        .manage(&["failure-tags", "add", "kept"])
        .trim()
        .to_string();
    let admin = logged_in(&s, "admin", "admin-password").await;
    assert!(
        !admin
            .get("/admin/")
            .await
            .body
            .contains("/admin/failure-tags/")
    );
    for page in [
        "/admin/failure-tags/".to_string(),
        format!("/admin/failure-tags/{id}/"),
    ] {
        assert_eq!(
            admin.get(&page).await.status,
            StatusCode::FORBIDDEN,
            "{page}"
        );
    }
    let form = [("name", "renamed"), ("description", "d"), ("reason", "r")];
    for post in [
        "/admin/failure-tags/add".to_string(),
        format!("/admin/failure-tags/{id}"),
        format!("/admin/failure-tags/{id}/delete"),
    ] {
        let p = admin.submit(&post, &form).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{post}: {}", p.body);
        assert!(p.body.contains("superuser"), "{post}: {}", p.body);
    }
    let c = s.db.client().await.unwrap();
    let tags = lava_db::failure_tags::list(&c).await.unwrap();
    assert_eq!(
        tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["kept"]
    );
    assert!(
        lava_db::admin_log::list(&c, None, 5)
            .await
            .unwrap()
            .is_empty()
    );
}
