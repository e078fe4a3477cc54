//! `lava-db`: the only crate in the workspace that contains SQL.
//!
//! It owns the schema (refinery migrations under `migrations/`), the connection pool, and one
//! module of query functions per table or aggregate. Every query function takes a [`Db`] (a
//! connection, a pooled connection or a transaction, passed as `&c`), so callers decide
//! themselves what must happen atomically ([`transaction`]). Columns are named in every query
//! and read by name. Every change of state or health is in [`lifecycle`], where it names the
//! state it expects, so a lost race shows as zero rows.

mod db;
mod error;
mod pool;

pub mod accounts;
pub mod admin_log;
pub mod aliases;
pub mod archive;
pub mod bundles;
pub mod callback_tokens;
pub mod callbacks;
pub mod charts;
pub mod device_list;
pub mod device_types;
pub mod devices;
pub mod failure_tags;
pub mod fixtures;
pub mod history;
pub mod history_import;
pub mod job_admin;
pub mod job_list;
pub mod job_secrets;
pub mod jobs;
pub mod lab;
pub mod lifecycle;
pub mod login_failures;
pub mod logs;
pub mod notify;
pub mod queue;
pub mod result_pages;
pub mod results;
pub mod scheduler;
pub mod sessions;
pub mod stream_pages;
pub mod streams;
pub mod tags;
pub mod tokens;
pub mod transitions;
pub mod users;
pub mod viewer;
pub mod worker_admin;
pub mod workers;

pub use db::{Db, begin, transaction};
/// Why the pool gave no connection (a timeout names which wait ran out).
pub use deadpool_postgres::{PoolError, TimeoutType};
pub use error::Error;
pub use pool::{
    LOG_FILES_LOCK, Notification, Pool, PoolSettings, PooledClient, SCHEDULER_LOCK, connect,
    listen, migrate, pool, pool_with, try_advisory_lock,
};

/// Re-exported so callers need no direct dependency to name clients and transactions.
pub use tokio_postgres::{Client, Error as PgError, Transaction};
