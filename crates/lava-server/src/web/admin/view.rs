//! Rendering for the account, admin and submit pages: every page gets `user` and
//! `csrf_token` (the user menu in `base.html` needs both), and errors get one page.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use super::super::AppState;
use super::super::auth::{Auth, Caller};
use super::super::error::ApiError;
use super::super::pages::WithBase;
use super::super::pages::templates::render;
use super::guard::Session;

/// Renders `template` for the caller of `auth` (the pages' base context: `user` and
/// `csrf_token`) with `extra` context and `status`.
fn render_for(
    state: &AppState,
    auth: &Auth,
    template: &str,
    extra: &impl Serialize,
    status: StatusCode,
) -> Response {
    render(
        &state.templates,
        template,
        status,
        &WithBase::new(auth, extra),
    )
}

/// Renders `template` for a logged-in user with `extra` context and `status`.
pub fn page(
    state: &AppState,
    s: &Session,
    template: &str,
    extra: &impl Serialize,
    status: StatusCode,
) -> Response {
    render_for(state, &s.auth(), template, extra, status)
}

/// The context of the error page.
#[derive(Serialize)]
struct ErrorPage<'a> {
    status: u16,
    reason: &'static str,
    message: &'a str,
}

/// The error page with `status` and `message`, for the caller of `auth`.
pub fn fail_for(state: &AppState, auth: &Auth, status: StatusCode, message: &str) -> Response {
    let ctx = ErrorPage {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or(""),
        message,
    };
    render_for(state, auth, "accounts/error.html", &ctx, status)
}

/// The error page with `status` and `message`.
pub fn fail(state: &AppState, status: StatusCode, message: &str) -> Response {
    fail_for(state, &Auth::default(), status, message)
}

/// The 403 page.
pub fn forbidden(state: &AppState, message: &str) -> Response {
    fail(state, StatusCode::FORBIDDEN, message)
}

/// The page after a successful change: back to where the form was (POST-redirect-GET, so a
/// reload does not post again).
pub fn done(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A database error as a page: refusals (not found, conflict, invalid) name the problem with
/// their status; anything else is logged and shown as unavailable.
pub fn db_error(state: &AppState, e: lava_db::Error) -> Response {
    let api = ApiError::from(e);
    let msg = api.body["message"].as_str().unwrap_or("").to_string();
    fail(state, api.status, &msg)
}

/// An admin log entry as the admin pages show it.
#[derive(Serialize)]
pub struct LogRow {
    time: String,
    username: String,
    object_type: String,
    object_id: String,
    action: String,
    reason: String,
}

/// The newest admin log entries for the admin pages.
pub async fn recent_log(state: &AppState, limit: i64) -> Result<Vec<LogRow>, Response> {
    let c = state
        .db()
        .await
        .map_err(|e| fail(state, e.status, "no database connection"))?;
    let entries = lava_db::admin_log::list(&c, None, limit)
        .await
        .map_err(|e| db_error(state, e))?;
    Ok(log_values(entries))
}

/// Admin log entries as the pages show them.
pub fn log_values(entries: Vec<lava_db::admin_log::Entry>) -> Vec<LogRow> {
    entries
        .into_iter()
        .map(|e| LogRow {
            time: e.time.format("%Y-%m-%d %H:%M:%S").to_string(),
            username: e.username,
            object_type: e.object_type,
            object_id: e.object_id,
            action: e.action,
            reason: e.reason,
        })
        .collect()
}

/// A reason is required on every admin form: the log is only useful when it says why.
// The error is the finished page, made once per refused request: boxing it buys nothing.
#[allow(clippy::result_large_err)]
pub fn reason(state: &AppState, reason: &str) -> Result<String, Response> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(fail(
            state,
            StatusCode::BAD_REQUEST,
            "reason: a reason is required, it goes into the admin log",
        ));
    }
    Ok(r.to_string())
}

/// Errors of the database layer as pages, so handlers can use `?`.
pub trait OrPage<T> {
    /// The value, or the error page.
    // The error is the finished page, made once per failed request: boxing it buys nothing.
    #[allow(clippy::result_large_err)]
    fn or_page(self, state: &AppState) -> Result<T, Response>;
}

impl<T> OrPage<T> for Result<T, lava_db::Error> {
    fn or_page(self, state: &AppState) -> Result<T, Response> {
        self.map_err(|e| db_error(state, e))
    }
}

impl<T> OrPage<T> for Result<T, lava_db::PgError> {
    fn or_page(self, state: &AppState) -> Result<T, Response> {
        self.map_err(|e| db_error(state, lava_db::Error::from(e)))
    }
}

/// A pooled database connection, or the error page.
pub async fn db(state: &AppState) -> Result<lava_db::PooledClient, Response> {
    state
        .db()
        .await
        .map_err(|e| fail(state, e.status, "no database connection"))
}

/// The one way of an admin change: a connection and a transaction, `work` (which checks
/// what it must, changes what it does and returns its action text with a value for the
/// handler), then the admin log entry of `caller` on `object` with `reason`, committed with
/// the change. Any error page from `work` rolls it all back.
pub async fn change<T>(
    state: &AppState,
    caller: &Caller,
    object: (&str, &str),
    reason: &str,
    work: impl AsyncFnOnce(&lava_db::Transaction<'_>) -> Result<(String, T), Response>,
) -> Result<T, Response> {
    let mut c = db(state).await?;
    let tx = lava_db::begin(&mut c).await.or_page(state)?;
    let (action, out) = work(&tx).await?;
    commit_audited(state, tx, caller, object, &action, reason).await?;
    Ok(out)
}

/// Records an admin change by `caller` in the transaction that made it, then commits it: the
/// change and its record land together or not at all.
pub async fn commit_audited(
    state: &AppState,
    tx: lava_db::Transaction<'_>,
    caller: &Caller,
    object: (&str, &str),
    action: &str,
    reason: &str,
) -> Result<(), Response> {
    audit(state, &tx, caller, object, action, reason).await?;
    tx.commit().await.or_page(state)
}

/// Records an admin change by `caller` in the caller's transaction.
pub async fn audit(
    state: &AppState,
    c: &impl lava_db::Db,
    caller: &Caller,
    object: (&str, &str),
    action: &str,
    reason: &str,
) -> Result<(), Response> {
    let change = lava_db::admin_log::Change {
        user_id: caller.id,
        username: &caller.username,
        object_type: object.0,
        object_id: object.1,
        action,
        reason,
    };
    lava_db::admin_log::record(c, &change).await.or_page(state)
}
