//! Creating databases over a maintenance connection.

use std::time::Duration;

use tokio_postgres::error::SqlState;

use crate::Error;

/// How often CREATE DATABASE is retried while its template is still in use.
const ATTEMPTS: u32 = 20;

/// Opens a connection whose driver task we can await, so a caller can be sure the server saw
/// the session end (a template must have no sessions when it is copied).
pub(crate) async fn connect(
    url: &str,
) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), Error> {
    let config: tokio_postgres::Config = url.parse()?;
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    let task = tokio::spawn(async move {
        // The session is over either way; a broken socket here changes nothing for the caller.
        let _ = connection.await;
    });
    Ok((client, task))
}

/// Runs `sql` on a fresh connection to `url` and closes it before returning.
pub(crate) async fn execute_once(url: &str, sql: &str) -> Result<(), Error> {
    let (client, task) = connect(url).await?;
    let result = client.batch_execute(sql).await;
    drop(client);
    let _ = task.await;
    Ok(result?)
}

/// `CREATE DATABASE name [TEMPLATE template]`, retried while the template is still in use by
/// a session that is ending (the server only waits five seconds for those).
pub(crate) async fn create_database(
    admin_url: &str,
    name: &str,
    template: Option<&str>,
) -> Result<(), Error> {
    let mut sql = format!("CREATE DATABASE {}", quote_ident(name));
    if let Some(template) = template {
        sql.push_str(&format!(" TEMPLATE {}", quote_ident(template)));
    }
    let (client, task) = connect(admin_url).await?;
    let mut attempt = 1;
    let result = loop {
        match client.batch_execute(&sql).await {
            Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) && attempt < ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => break other,
        }
    };
    drop(client);
    let _ = task.await;
    Ok(result?)
}

/// Creates database `name` on the cluster of `admin_url` unless it exists; true if created.
pub(crate) async fn ensure_database(admin_url: &str, name: &str) -> Result<bool, Error> {
    let (client, task) = connect(admin_url).await?;
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await;
    drop(client);
    let _ = task.await;
    if exists?.is_some() {
        return Ok(false);
    }
    match create_database(admin_url, name, None).await {
        // Someone else created it meanwhile, which is just as good.
        Err(Error::Postgres(e)) if e.code() == Some(&SqlState::DUPLICATE_DATABASE) => Ok(false),
        other => other.map(|()| true),
    }
}

/// Quotes an SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
