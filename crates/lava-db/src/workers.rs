//! Workers: the hosts that run `lava-dispatcher worker`.

use chrono::{DateTime, Utc};
use lava_common::fixture::WorkerRecord;
use lava_common::state::{WorkerHealth, WorkerState};
use tokio_postgres::{GenericClient, Row};

use crate::Error;

/// A worker as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Worker {
    /// Its hostname.
    pub hostname: String,
    /// Free text.
    pub description: String,
    /// Online or offline, from heartbeats.
    pub state: WorkerState,
    /// Admin health.
    pub health: WorkerHealth,
    /// Last heartbeat.
    pub last_ping: Option<DateTime<Utc>>,
    /// Jobs it may run at once (0: no limit).
    pub job_limit: i32,
    /// Whether a token has been issued.
    pub has_token: bool,
    /// Number of devices attached.
    pub devices: i64,
}

const SELECT: &str = "SELECT w.hostname, w.description, w.state, w.health, w.last_ping,
        w.job_limit, w.token_hash IS NOT NULL AS has_token,
        (SELECT count(*) FROM devices d WHERE d.worker_host = w.hostname) AS devices
    FROM workers w";

fn from_row(row: &Row) -> Result<Worker, Error> {
    Ok(Worker {
        hostname: row.try_get("hostname")?,
        description: row.try_get("description")?,
        state: row.try_get("state")?,
        health: row.try_get("health")?,
        last_ping: row.try_get("last_ping")?,
        job_limit: row.try_get("job_limit")?,
        has_token: row.try_get("has_token")?,
        devices: row.try_get("devices")?,
    })
}

/// Every worker, by hostname.
pub async fn list(c: &impl GenericClient) -> Result<Vec<Worker>, Error> {
    let rows = c
        .query(&format!("{SELECT} ORDER BY w.hostname"), &[])
        .await?;
    rows.iter().map(from_row).collect()
}

/// One worker, if it exists.
pub async fn get(c: &impl GenericClient, hostname: &str) -> Result<Option<Worker>, Error> {
    let row = c
        .query_opt(&format!("{SELECT} WHERE w.hostname = $1"), &[&hostname])
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Creates a worker with the hash of its token. A worker that exists without a token (loaded
/// from a fixture) is given one; a worker that already has a token is an error, so a token is
/// never replaced by accident.
pub async fn add(
    c: &impl GenericClient,
    hostname: &str,
    description: &str,
    token_hash: &str,
) -> Result<(), Error> {
    let n = c
        .execute(
            "INSERT INTO workers (hostname, description, token_hash) VALUES ($1, $2, $3)
             ON CONFLICT (hostname) DO UPDATE SET token_hash = EXCLUDED.token_hash
             WHERE workers.token_hash IS NULL",
            &[&hostname, &description, &token_hash],
        )
        .await?;
    if n == 0 {
        return Err(Error::AlreadyExists {
            what: "worker",
            key: hostname.to_string(),
        });
    }
    Ok(())
}

/// Inserts or updates a worker from a fixture record (the token is left alone).
pub async fn upsert(c: &impl GenericClient, w: &WorkerRecord) -> Result<(), Error> {
    c.execute(
        "INSERT INTO workers (hostname, description, health, job_limit) VALUES ($1, $2, $3, $4)
         ON CONFLICT (hostname) DO UPDATE SET description = EXCLUDED.description,
            health = EXCLUDED.health, job_limit = EXCLUDED.job_limit",
        &[&w.hostname, &w.description, &w.health, &w.job_limit],
    )
    .await?;
    Ok(())
}

/// The fixture record of a worker (for `dumpdata`).
pub fn to_record(w: &Worker) -> WorkerRecord {
    WorkerRecord {
        hostname: w.hostname.clone(),
        description: w.description.clone(),
        health: w.health,
        job_limit: w.job_limit,
    }
}
