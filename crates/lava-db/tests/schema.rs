//! The schema against the Rust types: every enum label, and health changes recorded.

mod common;

use lava_common::error_type::ErrorType;
use lava_common::fixture::DeviceRecord;
use lava_common::fixture::HealthDenominator;
use lava_common::ids::{DeviceName, DeviceTypeName};
use lava_common::state::{
    CallbackState, DeviceHealth, DeviceState, JobHealth, JobState, TestResult, WorkerHealth,
    WorkerState,
};
use lava_testkit::test_db;

/// Sends every value of `T` through PostgreSQL as `pg_type` and back.
async fn round_trip<T>(client: &lava_db::Client, pg_type: &str, all: &[T])
where
    T: postgres_types::ToSql
        + for<'a> postgres_types::FromSql<'a>
        + PartialEq
        + std::fmt::Debug
        + Sync,
{
    let sql = format!("SELECT $1::{pg_type} AS v");
    for v in all {
        let row = client
            .query_one(&sql, &[v])
            .await
            .unwrap_or_else(|e| panic!("{v:?}: {e}"));
        assert_eq!(&row.get::<_, T>("v"), v);
    }
    // Same number of labels: a label added on one side only fails here.
    let n: i64 = client
        .query_one(
            &format!("SELECT count(*) AS n FROM unnest(enum_range(NULL::{pg_type}))"),
            &[],
        )
        .await
        .unwrap()
        .get("n");
    assert_eq!(n as usize, all.len(), "{pg_type}");
}

#[tokio::test]
async fn every_state_enum_matches_its_postgres_type() {
    let db = test_db().await.unwrap();
    let c = db.client().await.unwrap();
    round_trip(&c, "device_state", DeviceState::ALL).await;
    round_trip(&c, "device_health", DeviceHealth::ALL).await;
    round_trip(&c, "job_state", JobState::ALL).await;
    round_trip(&c, "job_health", JobHealth::ALL).await;
    round_trip(&c, "worker_state", WorkerState::ALL).await;
    round_trip(&c, "worker_health", WorkerHealth::ALL).await;
    round_trip(&c, "test_result", TestResult::ALL).await;
    round_trip(&c, "callback_state", CallbackState::ALL).await;
    round_trip(&c, "error_type", ErrorType::ALL).await;
    round_trip(
        &c,
        "health_denominator",
        &[HealthDenominator::Hours, HealthDenominator::Jobs],
    )
    .await;
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let db = test_db().await.unwrap();
    let mut c = db.client().await.unwrap();
    assert!(lava_db::migrate(&mut c).await.unwrap().is_empty());
}

#[tokio::test]
async fn health_changes_are_recorded() {
    let db = test_db().await.unwrap();
    let mut c = db.client().await.unwrap();
    lava_db::device_types::add(&c, &DeviceTypeName::from("kvm"), "")
        .await
        .unwrap();
    let d = DeviceRecord::new("kvm01", "kvm");
    lava_db::devices::add(&c, &d).await.unwrap();
    assert!(matches!(
        lava_db::devices::add(&c, &d).await,
        Err(lava_db::Error::AlreadyExists { what: "device", .. })
    ));

    // The lost race itself is checked beside the moves (`lifecycle/tests.rs`).
    let tx = c.transaction().await.unwrap();
    let old = lava_db::lifecycle::device::set_health(
        &tx,
        &DeviceName::from("kvm01"),
        DeviceHealth::Good,
        "check passed",
        None,
    )
    .await
    .unwrap();
    assert_eq!(old, DeviceHealth::Unknown);
    tx.commit().await.unwrap();
    let history = lava_db::devices::health_history(&c, &DeviceName::from("kvm01"), 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0].health,
        (DeviceHealth::Unknown, DeviceHealth::Good)
    );
    assert_eq!(history[0].reason, "check passed");
}
