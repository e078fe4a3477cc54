//! The event stream's notifications (`lava_events`), as the statement triggers of V18 send
//! them: one per job or device whose state or health changed, in id order, with the fields
//! the publisher turns into LAVA's messages; none for other changes or a quiet import.

mod common;

use std::time::Duration;

use common::{job, user};
use lava_common::fixture::DeviceRecord;
use lava_common::ids::{DeviceName, DeviceTypeName};
use lava_common::state::{DeviceHealth, JobVisibility};
use lava_db::notify::EVENTS;
use lava_testkit::test_db;
use serde_json::Value;

/// The payloads that arrive within a short while, in order.
async fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<lava_db::Notification>) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(Some(n)) = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
        out.push(serde_json::from_str(&n.payload).unwrap());
    }
    out
}

#[tokio::test]
async fn changes_of_state_and_health_are_announced_once_each_in_order() {
    let db = test_db().await.unwrap();
    let c = db.client().await.unwrap();
    let (_listener, mut rx) = lava_db::listen(db.url(), &[EVENTS]).await.unwrap();
    lava_db::device_types::add(&c, &DeviceTypeName::from("qemu"), "")
        .await
        .unwrap();
    let ann = lava_db::users::add(&c, &user("ann", false)).await.unwrap();
    for name in ["q02", "q01"] {
        lava_db::devices::add(&c, &DeviceRecord::new(name, "qemu"))
            .await
            .unwrap();
    }
    let got = drain(&mut rx).await;
    let hosts: Vec<&str> = got
        .iter()
        .map(|e| e["hostname"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["q02", "q01"], "{got:?}");
    assert_eq!(got[0]["topic"], "device");

    // Two jobs: an event each, with the submitter's name; their cancels come in id order.
    let first = lava_db::jobs::insert(&c, &job(ann, "qemu", JobVisibility::Public))
        .await
        .unwrap();
    let second = lava_db::jobs::insert(&c, &job(ann, "qemu", JobVisibility::Public))
        .await
        .unwrap();
    let got = drain(&mut rx).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0]["topic"], "testjob");
    assert_eq!(got[0]["submitter"], "ann");
    assert_eq!(got[0]["state"], "submitted");
    for id in [first, second] {
        lava_db::lifecycle::job::cancel(&c, id, None, "t")
            .await
            .unwrap();
    }
    let got = drain(&mut rx).await;
    let ids: Vec<i64> = got.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [first.0, second.0], "{got:?}");
    assert!(got.iter().all(|e| e["health"] == "canceled"), "{got:?}");

    // A change of anything else is not news.
    c.execute("UPDATE jobs SET description = 'renamed'", &[])
        .await
        .unwrap();
    c.execute("UPDATE devices SET description = 'rack 2'", &[])
        .await
        .unwrap();
    assert_eq!(drain(&mut rx).await, Vec::<Value>::new());

    // A device's health: announced.
    lava_db::lifecycle::device::set_health(
        &c,
        &DeviceName::from("q01"),
        DeviceHealth::Maintenance,
        "t",
        None,
    )
    .await
    .unwrap();
    let got = drain(&mut rx).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (&got[0]["hostname"], &got[0]["health"]),
        (&Value::from("q01"), &Value::from("maintenance"))
    );

    // A history import's transaction is quiet.
    let mut c = c;
    let tx = c.transaction().await.unwrap();
    tx.batch_execute("SET LOCAL lava.quiet_events = on")
        .await
        .unwrap();
    lava_db::jobs::insert(&tx, &job(ann, "qemu", JobVisibility::Public))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(drain(&mut rx).await, Vec::<Value>::new());
}
