//! The one error type of this crate.

/// Errors from the database layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database URL could not be parsed.
    #[error("invalid database url: {0}")]
    Url(#[source] tokio_postgres::Error),
    /// A query or connection failed.
    #[error("database error: {}", describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// The database accepted no session within the time a single connection may take.
    #[error("the database did not accept a connection within {} s", .0.as_secs())]
    ConnectTimeout(std::time::Duration),
    /// The pool could not hand out a connection.
    #[error("database pool error: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The pool could not be built.
    #[error("cannot create the database pool: {0}")]
    BuildPool(#[from] deadpool_postgres::BuildError),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(#[from] refinery::Error),
    /// A row that must exist does not.
    #[error("{what} '{key}' was not found")]
    NotFound {
        /// The kind of object ("device", "device type", …).
        what: &'static str,
        /// Its name or id.
        key: String,
    },
    /// A row that must not exist already does.
    #[error("{what} '{key}' already exists")]
    AlreadyExists {
        /// The kind of object.
        what: &'static str,
        /// Its name or id.
        key: String,
    },
    /// A concurrent change won the race; nothing was changed.
    #[error("{0}")]
    Conflict(String),
    /// Fixture records refer to things that do not exist; all of them are listed.
    #[error(transparent)]
    Fixture(#[from] lava_common::fixture::FixtureError),
    /// A value is not acceptable to the data model.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// `NotFound` for the `what` named `key`.
    pub fn not_found(what: &'static str, key: impl ToString) -> Error {
        Error::NotFound {
            what,
            key: key.to_string(),
        }
    }
}

/// The server's own message (and detail) when there is one: tokio-postgres only says
/// "db error" in its Display, which tells an admin nothing.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut msg = db.message().to_string();
        if let Some(detail) = db.detail() {
            msg.push_str(": ");
            msg.push_str(detail);
        }
        if let Some(c) = db.constraint() {
            msg.push_str(&format!(" (constraint {c})"));
        }
        return msg;
    }
    lava_common::error_chain::error_chain(e)
}
