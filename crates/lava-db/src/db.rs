//! What a query function runs on: a connection, a pooled connection or a transaction, all
//! passed the same way (`&c`), and the one way to run work in a transaction.

use std::future::Future;

use postgres_types::ToSql;
use tokio_postgres::{GenericClient, Row};

use crate::Error;

/// A connection, pooled connection or transaction that runs queries. Every query function of
/// this crate takes one, so the caller decides what runs in one transaction.
///
/// tokio-postgres's own `GenericClient` cannot be implemented outside it, so a pooled
/// connection would have to be dereferenced twice at every call (`&**c`); this trait covers
/// it too, with the four methods this crate uses.
pub trait Db: Sync {
    /// Rows of a query.
    fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, tokio_postgres::Error>> + Send;

    /// The one row of a query; an error when there is none or more.
    fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Row, tokio_postgres::Error>> + Send;

    /// The row of a query, if there is one; an error when there are more.
    fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Option<Row>, tokio_postgres::Error>> + Send;

    /// The number of rows a statement changed.
    fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, tokio_postgres::Error>> + Send;
}

/// Forwards [`Db`] to a type's `GenericClient` (reached through `$deref`).
macro_rules! forward {
    ($ty:ty, |$s:ident| $deref:expr) => {
        impl Db for $ty {
            async fn query(
                &self,
                sql: &str,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<Vec<Row>, tokio_postgres::Error> {
                let $s = self;
                GenericClient::query($deref, sql, params).await
            }

            async fn query_one(
                &self,
                sql: &str,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<Row, tokio_postgres::Error> {
                let $s = self;
                GenericClient::query_one($deref, sql, params).await
            }

            async fn query_opt(
                &self,
                sql: &str,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<Option<Row>, tokio_postgres::Error> {
                let $s = self;
                GenericClient::query_opt($deref, sql, params).await
            }

            async fn execute(
                &self,
                sql: &str,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<u64, tokio_postgres::Error> {
                let $s = self;
                GenericClient::execute($deref, sql, params).await
            }
        }
    };
}

forward!(tokio_postgres::Client, |c| c);
forward!(tokio_postgres::Transaction<'_>, |c| c);
forward!(deadpool_postgres::Client, |c| &***c);

/// Opens a transaction on a pooled connection, for work that decides itself when to commit
/// (an admin change commits together with its admin log entry). Dropping it rolls back.
///
/// The pool's own wrapper has a `transaction` method of another type; this gives the one
/// every query function takes.
pub async fn begin(
    c: &mut deadpool_postgres::Client,
) -> Result<tokio_postgres::Transaction<'_>, Error> {
    let client: &mut tokio_postgres::Client = c;
    Ok(client.transaction().await?)
}

/// Runs `work` in a transaction on `c` and commits when it returns `Ok`; an `Err` (or a
/// panic, or a dropped future) rolls everything back.
///
/// ```ignore
/// let id = lava_db::transaction(&mut c, async |tx| {
///     let id = lava_db::jobs::insert(tx, &job).await?;
///     lava_db::lifecycle::job::cancel(tx, id, None, "not wanted").await?;
///     Ok::<_, lava_db::Error>(id)
/// })
/// .await?;
/// ```
pub async fn transaction<T, E>(
    c: &mut tokio_postgres::Client,
    work: impl AsyncFnOnce(&tokio_postgres::Transaction<'_>) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<Error>,
{
    let tx = c.transaction().await.map_err(Error::from)?;
    let out = work(&tx).await?;
    tx.commit().await.map_err(Error::from)?;
    Ok(out)
}
