//! Failed logins per key (`user:NAME`, `addr:ADDRESS`) over a sliding window, in the database
//! so every instance of the web app behind a balancer counts the same failures.

use crate::{Db, Error};

/// How many failures each of `keys` had in the last `window_secs` seconds (keys without any
/// are left out).
pub async fn recent(
    c: &impl Db,
    keys: &[String],
    window_secs: f64,
) -> Result<Vec<(String, i64)>, Error> {
    let rows = c
        .query(
            "SELECT key, count(*) AS n FROM login_failures
             WHERE key = ANY($1) AND at > now() - make_interval(secs => $2)
             GROUP BY key",
            &[&keys, &window_secs],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("key")?, r.try_get("n")?)))
        .collect()
}

/// Records one failure for each of `keys`, after dropping every row that has left the
/// window: however many usernames and addresses a flood uses, the table holds one window of
/// failures at most.
pub async fn record(c: &impl Db, keys: &[String], window_secs: f64) -> Result<(), Error> {
    purge(c, window_secs).await?;
    c.execute(
        "INSERT INTO login_failures (key) SELECT unnest($1::text[])",
        &[&keys],
    )
    .await?;
    Ok(())
}

/// Forgets the failures of `key` (a successful login).
pub async fn clear(c: &impl Db, key: &str) -> Result<(), Error> {
    c.execute("DELETE FROM login_failures WHERE key = $1", &[&key])
        .await?;
    Ok(())
}

/// Drops every row older than `window_secs` seconds; returns how many.
pub async fn purge(c: &impl Db, window_secs: f64) -> Result<u64, Error> {
    Ok(c.execute(
        "DELETE FROM login_failures WHERE at <= now() - make_interval(secs => $1)",
        &[&window_secs],
    )
    .await?)
}
