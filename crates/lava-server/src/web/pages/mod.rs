//! The read-only HTML pages, in LAVA's URL layout, rendered from tera templates (see
//! [`templates`]). Every page knows its caller through [`Auth`] and shows only the jobs that
//! caller may see: a hidden job is a 404 exactly like a missing one.

pub mod charts;
pub mod devices;
pub mod home;
pub mod jobs;
pub mod log;
pub mod results;
pub mod svg;
pub mod templates;
pub mod workers;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::AppState;
use super::auth::Auth;

/// How many rows a list page shows.
pub const PAGE_SIZE: i64 = 50;

/// Cuts `rows`, fetched with one row more than a page, to a page; the last row shown when that
/// extra row says an older page exists.
pub fn cut_page<T>(rows: &mut Vec<T>) -> Option<&T> {
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    rows.last().filter(|_| more)
}

/// The routes of every page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/scheduler/alldevices", get(devices::all))
        .route("/scheduler/device/{hostname}", get(devices::one))
        .route("/scheduler/device_types", get(devices::types))
        .route("/scheduler/device_type/{name}", get(devices::one_type))
        .route("/scheduler/allworkers", get(workers::all))
        .route("/scheduler/worker/{hostname}", get(workers::one))
        .route("/scheduler/alljobs", get(jobs::all))
        .route("/scheduler/myjobs", get(jobs::mine))
        .route("/scheduler/jobs/queued", get(jobs::queued))
        .route("/scheduler/jobs/running", get(jobs::running))
        .route("/scheduler/job/{id}", get(jobs::one))
        .route("/scheduler/job/{id}/log/raw", get(log::raw))
        .route("/scheduler/job/{id}/log/stream", get(log::stream))
        .route("/results/", get(results::all))
        .route("/results/charts", get(charts::index))
        .route("/results/charts/{chart}", get(charts::svg_chart))
        .route("/results/{id}", get(results::one))
        .route("/dashboard/streams/", get(results::streams))
        .route("/dashboard/streams/{*pathname}", get(results::stream))
}

/// A page that could not be shown, as an HTML page.
#[derive(Debug)]
pub enum PageError {
    /// Nothing there for this caller (missing, or hidden from them: the same answer).
    NotFound(String),
    /// A query parameter that makes no sense; names it.
    BadRequest(String),
    /// The database failed.
    Unavailable(String),
}

impl From<lava_db::Error> for PageError {
    fn from(e: lava_db::Error) -> PageError {
        tracing::error!(error = %e, "page query failed");
        PageError::Unavailable(e.to_string())
    }
}

impl From<super::error::ApiError> for PageError {
    fn from(e: super::error::ApiError) -> PageError {
        PageError::Unavailable(e.text())
    }
}

impl From<crate::logstore::LogError> for PageError {
    fn from(e: crate::logstore::LogError) -> PageError {
        tracing::error!(error = %e, "log read failed");
        PageError::Unavailable(e.to_string())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        // Error pages are plain HTML: the templates may be what is broken.
        let (status, title, text) = match self {
            PageError::NotFound(what) => (StatusCode::NOT_FOUND, "Not found", what),
            PageError::BadRequest(why) => (StatusCode::BAD_REQUEST, "Bad request", why),
            PageError::Unavailable(why) => {
                (StatusCode::SERVICE_UNAVAILABLE, "Service unavailable", why)
            }
        };
        let page = format!(
            "<!DOCTYPE html><html><head><title>{title}</title>\
             <link rel=\"stylesheet\" href=\"/static/lava.css\"></head><body><main>\
             <h1>{title}</h1><p>{}</p><p><a href=\"/\">Home</a></p></main></body></html>",
            templates::escape(&text)
        );
        let mut res = (status, axum::response::Html(page)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(
                super::error::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        res
    }
}

/// What every page is rendered with.
pub type PageResult = Result<Response, PageError>;

/// The caller as every page's user menu shows it (`user` in the templates).
#[derive(Serialize)]
struct UserMenu<'a> {
    username: &'a str,
    is_staff: bool,
    is_superuser: bool,
}

/// A page's own context with what every page starts from: `user` (null when anonymous) and
/// `csrf_token` for the user menu's logout form. `T`'s fields sit beside them, so a page
/// struct must not name either.
#[derive(Serialize)]
pub struct WithBase<'a, T> {
    user: Option<UserMenu<'a>>,
    csrf_token: &'a str,
    #[serde(flatten)]
    page: &'a T,
}

impl<'a, T: Serialize> WithBase<'a, T> {
    /// `page` for the caller of `auth`.
    pub fn new(auth: &'a Auth, page: &'a T) -> WithBase<'a, T> {
        let user = auth.caller.as_ref().map(|c| UserMenu {
            username: &c.username,
            is_staff: c.is_staff,
            is_superuser: c.is_superuser,
        });
        WithBase {
            user,
            csrf_token: auth.csrf.as_deref().unwrap_or_default(),
            page,
        }
    }
}

/// Renders page `name` for `auth` with the page's own context `extra`.
pub fn page(state: &AppState, auth: &Auth, name: &str, extra: &impl Serialize) -> Response {
    let ctx = WithBase::new(auth, extra);
    templates::render(&state.templates, name, StatusCode::OK, &ctx)
}

/// Parses an optional query value, naming the parameter when it is wrong.
pub fn parse_opt<T: std::str::FromStr>(name: &str, v: Option<&str>) -> Result<Option<T>, PageError>
where
    T::Err: std::fmt::Display,
{
    match v.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|e| PageError::BadRequest(format!("{name}: '{s}': {e}"))),
    }
}

/// A timestamp as pages show it (UTC, to the second); `None` stays null.
pub fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<String> {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}
