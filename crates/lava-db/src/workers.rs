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

/// The worker that owns a token (by its hash).
pub async fn by_token(c: &impl GenericClient, token_hash: &str) -> Result<Option<Worker>, Error> {
    let row = c
        .query_opt(&format!("{SELECT} WHERE w.token_hash = $1"), &[&token_hash])
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records a heartbeat: last ping now, online, version. Returns the previous state, so the
/// caller can tell a worker coming online (which records a transition and wakes the
/// scheduler).
pub async fn heartbeat(
    c: &impl GenericClient,
    hostname: &str,
    version: &str,
) -> Result<WorkerState, Error> {
    let row = c
        .query_one(
            "UPDATE workers w SET last_ping = now(), state = 'online', version = $2
             FROM (SELECT state FROM workers WHERE hostname = $1 FOR UPDATE) old
             WHERE w.hostname = $1 RETURNING old.state AS old_state, w.health",
            &[&hostname, &version],
        )
        .await?;
    let old: WorkerState = row.try_get("old_state")?;
    if old == WorkerState::Offline {
        let health: WorkerHealth = row.try_get("health")?;
        record(c, hostname, (old, WorkerState::Online), health, "heartbeat").await?;
        crate::notify::send(
            c,
            crate::notify::SCHEDULER,
            &format!("worker {hostname} online"),
        )
        .await?;
    }
    Ok(old)
}

/// Marks a worker offline (heartbeat timeout) and records why.
pub async fn mark_offline(
    c: &impl GenericClient,
    hostname: &str,
    reason: &str,
) -> Result<(), Error> {
    let row = c
        .query_opt(
            "UPDATE workers SET state = 'offline' WHERE hostname = $1 AND state = 'online' RETURNING health",
            &[&hostname],
        )
        .await?;
    if let Some(row) = row {
        let health: WorkerHealth = row.try_get("health")?;
        record(
            c,
            hostname,
            (WorkerState::Online, WorkerState::Offline),
            health,
            reason,
        )
        .await?;
    }
    Ok(())
}

async fn record(
    c: &impl GenericClient,
    hostname: &str,
    state: (WorkerState, WorkerState),
    health: WorkerHealth,
    reason: &str,
) -> Result<(), Error> {
    c.execute(
        "INSERT INTO worker_transitions (worker, old_state, new_state, old_health, new_health, reason)
         VALUES ($1, $2, $3, $4, $4, $5)",
        &[&hostname, &state.0, &state.1, &health, &reason],
    )
    .await?;
    Ok(())
}

/// Attaches the devices a worker reports to it (moving them from another worker if their
/// `.conf` file moved) and detaches those it no longer reports. Devices unknown to the
/// database are returned, so the caller can warn about them.
pub async fn attach_devices(
    c: &impl GenericClient,
    hostname: &str,
    devices: &[String],
) -> Result<Vec<String>, Error> {
    c.execute(
        "UPDATE devices SET worker_host = NULL
         WHERE worker_host = $1 AND NOT (hostname = ANY($2)) AND state = 'idle'",
        &[&hostname, &devices],
    )
    .await?;
    c.execute(
        "UPDATE devices SET worker_host = $1
         WHERE hostname = ANY($2) AND worker_host IS DISTINCT FROM $1 AND state = 'idle'",
        &[&hostname, &devices],
    )
    .await?;
    let rows = c
        .query(
            "SELECT name FROM unnest($1::text[]) AS name
             WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.hostname = name)",
            &[&devices],
        )
        .await?;
    rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
}
