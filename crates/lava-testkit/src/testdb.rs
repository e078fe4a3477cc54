//! One migrated database per test, copied from a template on a cluster shared by the process.
//!
//! Starting a cluster takes a second or two and migrating a few hundred milliseconds, so both
//! happen once per test binary; `CREATE DATABASE … TEMPLATE` then copies the migrated schema
//! in milliseconds. Every `#[tokio::test]` has its own runtime, so nothing here keeps a
//! connection beyond one call: a connection's driver task dies with the runtime that spawned it.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::OnceCell;

use crate::{Error, PgCluster, admin};

/// The database every test database is copied from.
const TEMPLATE: &str = "lava_template";

/// Connections per [`TestDb::pool`].
const POOL_SIZE: usize = 8;

/// The cluster of this process. Statics are never dropped: the cluster's watchdog stops the
/// server and removes its directory when the process exits. A failure is kept as text so every
/// later test reports it instead of trying again.
static CLUSTER: OnceLock<Result<PgCluster, String>> = OnceLock::new();

/// Set once `lava_template` exists and is migrated.
static TEMPLATE_READY: OnceCell<()> = OnceCell::const_new();

/// Numbers the databases of this process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A database of its own for one test, with the full schema migrated.
///
/// It lives until the process exits (the cluster goes away with it), so a failed test's data
/// can be inspected while it runs.
#[derive(Debug, Clone)]
pub struct TestDb {
    url: String,
    name: String,
}

impl TestDb {
    /// The database URL (unix socket, user `lava`, no password).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name, `t_<pid>_<n>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A new connection, driven on the current runtime.
    pub async fn client(&self) -> Result<tokio_postgres::Client, Error> {
        Ok(lava_db::connect(&self.url).await?)
    }

    /// A new pool of up to eight connections (opened lazily).
    pub fn pool(&self) -> Result<lava_db::Pool, Error> {
        Ok(lava_db::pool(&self.url, POOL_SIZE)?)
    }
}

/// Creates a fresh database with the migrated schema on the process's shared cluster.
///
/// Safe to call from tests running in parallel, on any runtime.
pub async fn test_db() -> Result<TestDb, Error> {
    let cluster = shared_cluster().await?;
    TEMPLATE_READY
        .get_or_try_init(|| make_template(cluster))
        .await?;
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    admin::create_database(&cluster.url("postgres"), &name, Some(TEMPLATE)).await?;
    Ok(TestDb {
        url: cluster.url(&name),
        name,
    })
}

/// The shared cluster, started on first use (off the async threads: it blocks for seconds).
async fn shared_cluster() -> Result<&'static PgCluster, Error> {
    let cell = match CLUSTER.get() {
        Some(cell) => cell,
        None => tokio::task::spawn_blocking(|| {
            CLUSTER.get_or_init(|| PgCluster::start_temp().map_err(|e| e.to_string()))
        })
        .await
        .map_err(|e| Error::SharedCluster(e.to_string()))?,
    };
    cell.as_ref().map_err(|e| Error::SharedCluster(e.clone()))
}

/// Creates and migrates the template, then closes the connection so it can be copied.
async fn make_template(cluster: &PgCluster) -> Result<(), Error> {
    let quoted = admin::quote_ident(TEMPLATE);
    // A migration that failed in an earlier test left a half-made template behind.
    admin::execute_once(
        &cluster.url("postgres"),
        &format!("DROP DATABASE IF EXISTS {quoted}"),
    )
    .await?;
    admin::create_database(&cluster.url("postgres"), TEMPLATE, None).await?;
    let (mut client, task) = admin::connect(&cluster.url(TEMPLATE)).await?;
    let migrated = lava_db::migrate(&mut client).await;
    drop(client);
    let _ = task.await;
    migrated?;
    Ok(())
}
