//! Connections, the pool and migrations.

use std::str::FromStr;

pub use lava_common::limits::PoolSettings;

use crate::Error;

/// A pool of PostgreSQL connections.
pub type Pool = deadpool_postgres::Pool;

mod embedded {
    refinery::embed_migrations!("migrations");
}

fn config(url: &str) -> Result<tokio_postgres::Config, Error> {
    tokio_postgres::Config::from_str(url).map_err(Error::Url)
}

/// How long opening a single connection (the scheduler's, a `manage` command's) may take:
/// a database that accepts TCP but never answers is an error to report, not a hang. Far
/// above what a healthy server needs, even a loaded one.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A client and the connection that must be driven for it to work.
type Opened = (
    tokio_postgres::Client,
    tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
);

/// Opens a connection within [`CONNECT_TIMEOUT`], without driving it yet.
async fn open(url: &str) -> Result<Opened, Error> {
    open_within(url, CONNECT_TIMEOUT).await
}

async fn open_within(url: &str, limit: std::time::Duration) -> Result<Opened, Error> {
    let config = config(url)?;
    match tokio::time::timeout(limit, config.connect(tokio_postgres::NoTls)).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(Error::ConnectTimeout(limit)),
    }
}

/// Opens one connection and drives it on the current tokio runtime.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, Error> {
    let (client, connection) = open(url).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "database connection closed");
        }
    });
    Ok(client)
}

/// Builds a pool of `max_size` connections for `url` (opened lazily), with the default
/// timeouts of [`PoolSettings`].
pub fn pool(url: &str, max_size: usize) -> Result<Pool, Error> {
    pool_with(
        url,
        &PoolSettings {
            size: max_size,
            ..PoolSettings::default()
        },
    )
}

/// Builds a pool for `url` as the settings' `[database]` pool keys say: a caller waits at
/// most `wait` for a free connection and a new connection may take at most `create` to open,
/// so a busy or unreachable database is an error the caller can report, never a hang.
pub fn pool_with(url: &str, settings: &PoolSettings) -> Result<Pool, Error> {
    let manager = deadpool_postgres::Manager::from_config(
        config(url)?,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(manager)
        .max_size(settings.size)
        .wait_timeout(Some(settings.wait))
        .create_timeout(Some(settings.create))
        .recycle_timeout(Some(settings.create))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()?)
}

/// Applies every migration not yet applied. Running it again is a no-op.
///
/// Returns the names of the migrations applied by this call.
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<Vec<String>, Error> {
    let report = embedded::migrations::runner().run_async(client).await?;
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| m.to_string())
        .collect())
}

/// A notification received on a LISTEN connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The channel it came on, one of those `listen` was given.
    pub channel: String,
    /// The text the sender passed to NOTIFY (the event triggers send JSON).
    pub payload: String,
}

/// Opens a connection that LISTENs on `channels`. Notifications arrive on the returned
/// receiver; it closes when the connection is lost (the caller reconnects).
pub async fn listen(
    url: &str,
    channels: &[&str],
) -> Result<
    (
        tokio_postgres::Client,
        tokio::sync::mpsc::UnboundedReceiver<Notification>,
    ),
    Error,
> {
    use futures_util::StreamExt as _;
    let (client, mut connection) = open(url).await?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                    let n = Notification {
                        channel: n.channel().to_string(),
                        payload: n.payload().to_string(),
                    };
                    if tx.send(n).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "listening connection closed");
                    break;
                }
            }
        }
    });
    for channel in channels {
        client.batch_execute(&format!("LISTEN {channel}")).await?;
    }
    Ok((client, rx))
}

/// The advisory lock key the active scheduler holds ("LAVA" in ASCII).
pub const SCHEDULER_LOCK: i64 = 0x4C41_5641;

/// The advisory lock key held by the commands that write or remove job log directories of
/// jobs outside the running server ("LOGS" in ASCII): `manage jobs rm`, whose sweep removes a
/// log directory with no job row, and `manage import-lava --job-output`, which writes log
/// directories before the transaction that adds their jobs commits. The second to start
/// refuses, so the sweep never takes an import's logs for orphans.
pub const LOG_FILES_LOCK: i64 = 0x4C4F_4753;

/// Tries to take a session-level advisory lock on this connection; it is held until the
/// connection closes, so a scheduler that dies releases it at once.
pub async fn try_advisory_lock(client: &tokio_postgres::Client, key: i64) -> Result<bool, Error> {
    let row = client
        .query_one("SELECT pg_try_advisory_lock($1) AS got", &[&key])
        .await?;
    Ok(row.try_get("got")?)
}

/// A connection from the [`Pool`] (derefs to a tokio-postgres client).
pub type PooledClient = deadpool_postgres::Client;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_database_that_never_answers_is_an_error_not_a_hang() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // Accepts and holds the connection without ever answering the startup message.
        let held = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            drop(socket);
        });
        let url = format!("postgresql://u@127.0.0.1:{port}/db");
        let limit = std::time::Duration::from_millis(300);
        let e = open_within(&url, limit).await.err().expect("no connection");
        assert!(matches!(e, Error::ConnectTimeout(d) if d == limit), "{e}");
        held.abort();
    }
}
