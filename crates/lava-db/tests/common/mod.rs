//! Rows the database tests share: a user and a queued job (a device is `DeviceRecord::new`).

// Each test target compiles this module and uses only the rows it needs.
#![allow(dead_code)]

use lava_common::fixture::UserRecord;
use lava_common::state::JobVisibility;
use lava_db::jobs::NewJob;

/// An active user; a superuser is staff too.
pub fn user(name: &str, superuser: bool) -> UserRecord {
    UserRecord {
        username: name.into(),
        email: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        password: String::new(),
        is_staff: superuser,
        is_superuser: superuser,
        is_active: true,
    }
}

/// A job of `submitter` for `device_type`, seen as `visibility` says, with no viewing groups.
pub fn job(submitter: i64, device_type: &str, visibility: JobVisibility) -> NewJob {
    NewJob {
        submitter: Some(submitter),
        description: "x".into(),
        definition: "x".into(),
        plan: serde_json::json!({}),
        health_check: false,
        device_type: Some(device_type.into()),
        device: None,
        tags: vec![],
        priority: 50,
        visibility,
        viewing_groups: vec![],
        queue_timeout: None,
    }
}
