//! What the moves rely on in the database: an `UPDATE` that names a stale state changes no
//! row, and the schema refuses a contradiction even from a statement that skips the moves.
//! (Only this module may write such statements.)

use lava_common::fixture::DeviceRecord;
use lava_common::ids::{DeviceName, DeviceTypeName};
use lava_common::state::{DeviceHealth, DeviceState};

use super::moves::DeviceMove;

#[tokio::test]
async fn a_stale_move_changes_nothing_and_the_schema_refuses_contradictions() {
    let db = lava_testkit::test_db().await.unwrap();
    let c = db.client().await.unwrap();
    crate::device_types::add(&c, &DeviceTypeName::from("kvm"), "")
        .await
        .unwrap();
    let d = DeviceRecord {
        hostname: "kvm01".into(),
        device_type: "kvm".into(),
        description: String::new(),
        tags: vec![],
        state: DeviceState::Idle,
        health: DeviceHealth::Unknown,
        worker_host: None,
    };
    crate::devices::add(&c, &d).await.unwrap();
    // Two readers saw `unknown`; the first changes it, the second loses visibly.
    let kvm01 = DeviceName::from("kvm01");
    let seen = (DeviceState::Idle, DeviceHealth::Unknown);
    let first = DeviceMove::new(&kvm01, seen, (DeviceState::Idle, DeviceHealth::Good)).unwrap();
    let second = DeviceMove::new(&kvm01, seen, (DeviceState::Idle, DeviceHealth::Bad)).unwrap();
    let no_more = ("", "", &[][..]);
    let first_wrote = first.write(&c, &kvm01, no_more, None, None, "check passed");
    assert!(first_wrote.await.unwrap());
    let second_wrote = second.write(&c, &kvm01, no_more, None, None, "too late");
    assert!(!second_wrote.await.unwrap());
    let history = crate::transitions::device_history(&c, &kvm01, 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "a lost race writes no transition row");
    assert_eq!(
        history[0].health,
        (DeviceHealth::Unknown, DeviceHealth::Good)
    );

    // A device with a job is never idle and a running device has a job: the schema refuses
    // the contradiction.
    let err = c
        .execute(
            "UPDATE devices SET state = 'running' WHERE hostname = 'kvm01'",
            &[],
        )
        .await
        .unwrap_err();
    let err = crate::Error::from(err).to_string();
    assert!(err.contains("violates check constraint"), "{err}");
}
