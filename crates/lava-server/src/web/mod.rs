//! `lava-server web`: the HTTP side of the server (axum). The worker API lives here, and the
//! REST submit path; Apache proxies `/` to it.

pub mod accounts;
pub mod admin;
pub mod apache_child;
pub mod auth;
pub mod django_password;
pub mod error;
pub mod events_ws;
pub mod limits;
pub mod pages;
pub mod replies;
pub mod rest;
pub mod submit_form;
pub mod throttle;
pub mod waiters;
pub mod worker_api;
pub mod xmlrpc;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use lava_common::limits::Limits;
use lava_common::settings::Settings;

use crate::logstore::LogStore;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Database connections.
    pub pool: lava_db::Pool,
    /// Job logs on disk: every read and append goes through it.
    pub logs: LogStore,
    /// Long-poll wake-ups.
    pub waiters: Arc<waiters::Waiters>,
    /// The page templates (parsed once, looked at again at most once a second).
    pub templates: Arc<pages::templates::Templates>,
    /// Where the pages' CSS and JavaScript are served from (`/static/`).
    pub static_dir: std::path::PathBuf,
    /// Request body limits (`[limits]`).
    pub limits: Limits,
    /// The event stream (`/ws/`, the ZeroMQ publisher).
    pub events: Arc<crate::events::Hub>,
}

impl AppState {
    /// A pooled database connection. When none comes within the pool's timeouts the caller
    /// gets a 503 that says which wait ran out, rather than a request that hangs.
    pub async fn db(&self) -> Result<deadpool_client::Client, error::ApiError> {
        use lava_db::{PoolError, TimeoutType};
        let secs = |d: Option<std::time::Duration>| d.map(|d| d.as_secs_f64()).unwrap_or(0.0);
        self.pool.get().await.map_err(|e| match e {
            PoolError::Timeout(TimeoutType::Wait) => error::ApiError::busy(format!(
                "The server is busy: no database connection became free within {} s (all {} are in use; database.pool_size, database.pool_wait_timeout). Try again.",
                secs(self.pool.timeouts().wait),
                self.pool.status().max_size,
            )),
            PoolError::Timeout(_) => error::ApiError::busy(format!(
                "The database is not answering: cannot connect to the database within {} s (database.pool_create_timeout). Try again.",
                secs(self.pool.timeouts().create),
            )),
            e => error::ApiError::from(lava_db::Error::from(e)),
        })
    }
}

/// The settings `lava-server web` was started with, for the few pages and calls that read
/// files beside the database (a device's `.conf`); `None` in benches that build the app
/// without [`serve`].
static SETTINGS: std::sync::OnceLock<Settings> = std::sync::OnceLock::new();

/// The settings the web app runs with (see [`SETTINGS`]).
pub fn settings() -> Option<&'static Settings> {
    SETTINGS.get()
}

/// The pool's client type.
pub mod deadpool_client {
    /// A pooled connection (derefs to a tokio-postgres client).
    pub type Client = lava_db::PooledClient;
}

/// The whole application. Every route's request body is bounded by [`limits::enforce`]
/// (axum's own default limit is off: the table in [`limits`] is the one that counts).
pub fn router(state: AppState) -> Router {
    let body_limits = state.limits;
    Router::new()
        .nest(lava_common::worker_api::PREFIX, worker_api::routes())
        .merge(
            rest::routes().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                rest::csrf::guard,
            )),
        )
        .merge(xmlrpc::routes())
        .merge(events_ws::routes())
        .merge(pages::routes())
        .nest_service(
            "/static",
            tower_http::services::ServeDir::new(&state.static_dir),
        )
        .merge(accounts::routes())
        .merge(submit_form::routes())
        .merge(admin::routes())
        .layer(axum::middleware::from_fn_with_state(
            body_limits,
            limits::enforce,
        ))
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// Serves until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    settings: &Settings,
    listen: SocketAddr,
    under_apache: bool,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let pool = lava_db::pool_with(&settings.database_url, &settings.pool)?;
    let waiters = Arc::new(waiters::Waiters::default());
    tokio::spawn(waiters::listen(
        settings.database_url.clone(),
        waiters.clone(),
    ));
    let _ = SETTINGS.set(settings.clone());
    let events = crate::events::Hub::new(settings.events.clone());
    events.start(settings.database_url.clone()).await;
    let state = AppState {
        pool,
        logs: LogStore::with_limits(settings.jobs_dir(), settings.limits),
        waiters,
        templates: Arc::new(pages::templates::Templates::new(settings.templates_dir())),
        static_dir: settings.static_dir(),
        limits: settings.limits,
        events,
    };
    let listener = if under_apache {
        apache_child::bind(listen).await?
    } else {
        tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?
    };
    tracing::info!(%listen, "lava-server web listening");
    // Connection info gives the login throttle its client address.
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
