//! Connections, the pool and migrations.

use std::str::FromStr;

use crate::Error;

/// A pool of PostgreSQL connections.
pub type Pool = deadpool_postgres::Pool;

mod embedded {
    refinery::embed_migrations!("migrations");
}

fn config(url: &str) -> Result<tokio_postgres::Config, Error> {
    tokio_postgres::Config::from_str(url).map_err(Error::Url)
}

/// Opens one connection and drives it on the current tokio runtime.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, Error> {
    let (client, connection) = config(url)?.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "database connection closed");
        }
    });
    Ok(client)
}

/// Builds a pool for `url` (connections are opened lazily).
pub fn pool(url: &str, max_size: usize) -> Result<Pool, Error> {
    let manager = deadpool_postgres::Manager::from_config(
        config(url)?,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(manager).max_size(max_size).build()?)
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
