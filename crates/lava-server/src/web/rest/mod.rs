//! The REST API v0.2 (`/api/v0.2/`), as LAVA 2023.01 answers it: compact JSON with keys in
//! LAVA's order, limit/offset envelopes with absolute links, `Token` auth with LAVA's 403
//! bodies, and a 301 to the slashed URL for clients that leave the slash out.

pub mod catalog;
pub mod csrf;
pub mod devices;
mod files;
pub mod format;
mod jobs;
mod junit;
pub(crate) mod results;
mod system;
pub mod table;

use axum::Router;
use axum::extract::OriginalUri;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use super::AppState;
use super::error::{ApiError, Detail};

/// The version string clients see; lavacli takes LAVA 2023.01's code paths for it.
pub const API_VERSION: &str = "2023.01";

/// The routes (the CSRF layer, [`csrf::guard`], is added where the state is known).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v0.2/", get(system::root))
        .route("/api/v0.2/system/version/", get(system::version))
        .route("/api/v0.2/system/whoami/", get(system::whoami))
        .route("/api/v0.2/jobs/", get(jobs::list).post(jobs::create))
        .route("/api/v0.2/jobs/validate/", post(jobs::validate))
        .route("/api/v0.2/jobs/{id}/", get(jobs::show))
        .route(
            "/api/v0.2/jobs/{id}/cancel/",
            post(jobs::cancel).get(jobs::method_not_allowed),
        )
        .route("/api/v0.2/jobs/{id}/resubmit/", post(jobs::resubmit))
        .route("/api/v0.2/jobs/{id}/logs/", get(results::logs))
        .route("/api/v0.2/jobs/{id}/tests/", get(results::tests))
        .route("/api/v0.2/jobs/{id}/suites/", get(results::suites))
        .route("/api/v0.2/jobs/{id}/junit/", get(results::junit))
        .route("/api/v0.2/jobs/{id}/csv/", get(results::csv))
        .route("/api/v0.2/jobs/{id}/yaml/", get(results::yaml))
        .route(
            "/api/v0.2/devices/",
            get(devices::list).post(files::device_create),
        )
        .route(
            "/api/v0.2/devices/{hostname}/dictionary/",
            get(files::dictionary_get).post(files::dictionary_set),
        )
        .route(
            "/api/v0.2/devices/{hostname}/",
            get(devices::show)
                .put(devices::update)
                .patch(devices::update),
        )
        .route("/api/v0.2/devicetypes/", get(devices::types_list))
        .route("/api/v0.2/devicetypes/{name}/", get(devices::types_show))
        .route(
            "/api/v0.2/devicetypes/{name}/template/",
            get(files::template_get).post(files::template_set),
        )
        .route(
            "/api/v0.2/workers/",
            get(devices::workers_list).post(files::worker_create),
        )
        .route("/api/v0.2/workers/{hostname}/", get(devices::workers_show))
        .route(
            "/api/v0.2/tags/",
            get(catalog::tags_list).post(catalog::tags_create),
        )
        .route(
            "/api/v0.2/tags/{name}/",
            get(catalog::tags_show).delete(catalog::tags_delete),
        )
        .route(
            "/api/v0.2/aliases/",
            get(catalog::aliases_list).post(catalog::aliases_create),
        )
        .route(
            "/api/v0.2/aliases/{name}/",
            get(catalog::aliases_show).delete(catalog::aliases_delete),
        )
        .route(
            "/api/v0.2/permissions/devicetypes/",
            get(catalog::permissions_list),
        )
        .route(
            "/api/v0.2/permissions/devices/",
            get(catalog::permissions_list),
        )
        .route("/api/v0.2", get(add_slash).post(add_slash))
        .route("/api/v0.2/{*rest}", get(add_slash).post(add_slash))
        .layer(axum::middleware::from_fn(table::allow_header))
        .layer(axum::middleware::map_response(vary))
}

/// Replies depend on the token or session, so caches in front must not share them.
async fn vary(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::VARY,
        header::HeaderValue::from_static("Accept,Cookie"),
    );
    r
}

/// Any API URL without its trailing slash answers 301 to the slashed one, the query kept
/// (sorted by name, as LAVA's links are); a slashed URL that matched no route is a 404.
async fn add_slash(OriginalUri(uri): OriginalUri) -> Response {
    let path = uri.path();
    if path.ends_with('/') {
        return not_found().into_response();
    }
    let mut params = query_pairs(uri.query());
    params.sort_by(|a, b| a.0.cmp(&b.0));
    let location = if params.is_empty() {
        format!("{path}/")
    } else {
        format!("{path}/?{}", encode(&params))
    };
    (
        StatusCode::MOVED_PERMANENTLY,
        [
            (header::LOCATION, location),
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
        ],
    )
        .into_response()
}

/// The decoded `(name, value)` pairs of a query string, in order.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
}

fn encode(pairs: &[(String, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// 404 `{"detail":"Not found."}`: for objects that do not exist and for those the caller may
/// not see alike.
pub fn not_found() -> ApiError {
    ApiError::with_body(
        StatusCode::NOT_FOUND,
        Detail {
            detail: "Not found.",
        },
    )
}

/// 403 for a write without credentials.
pub fn no_credentials() -> ApiError {
    ApiError::with_body(
        StatusCode::FORBIDDEN,
        Detail {
            detail: "Authentication credentials were not provided.",
        },
    )
}

/// 403 for a caller without the right.
pub fn no_permission() -> ApiError {
    ApiError::with_body(
        StatusCode::FORBIDDEN,
        Detail {
            detail: "You do not have permission to perform this action.",
        },
    )
}

/// `http://host` as the client called it (Apache passes the Host header through).
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// A request's paging: `limit` (default 50) and `offset`, and the other query parameters
/// that the envelope's links keep.
pub struct Paging {
    /// Rows per page.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
    base: String,
    url: String,
    params: Vec<(String, String)>,
}

/// A list handler takes its paging as an argument; a bad `limit` or `offset` is DRF's 400.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Paging, ApiError> {
        // Behind a nested router the request's own URI has lost its prefix.
        let uri = match parts.extensions.get::<axum::extract::OriginalUri>() {
            Some(o) => o.0.clone(),
            None => parts.uri.clone(),
        };
        Paging::new(&parts.headers, &uri)
    }
}

impl Paging {
    /// The paging of a request to `uri`.
    pub fn new(headers: &HeaderMap, uri: &axum::http::Uri) -> Result<Paging, ApiError> {
        let params = query_pairs(uri.query());
        let int = |name: &str, default: i64| -> Result<i64, ApiError> {
            match params.iter().rev().find(|(k, _)| k == name) {
                None => Ok(default),
                Some((_, v)) => v
                    .parse::<i64>()
                    .map(|n| n.max(0))
                    .map_err(|_| ApiError::field(name, "A valid integer is required.")),
            }
        };
        let base = base_url(headers);
        Ok(Paging {
            limit: int("limit", 50)?,
            offset: int("offset", 0)?,
            url: format!("{base}{}", uri.path()),
            base,
            params,
        })
    }

    /// The scheme and host the client used (`http://lava.example`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Every query parameter, in order (filters read them).
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    fn link(&self, offset: Option<i64>) -> String {
        let mut params: Vec<(String, String)> = self
            .params
            .iter()
            .filter(|(k, _)| k != "limit" && k != "offset")
            .cloned()
            .collect();
        params.push(("limit".into(), self.limit.to_string()));
        if let Some(o) = offset {
            params.push(("offset".into(), o.to_string()));
        }
        params.sort_by(|a, b| a.0.cmp(&b.0));
        format!("{}?{}", self.url, encode(&params))
    }

    /// The page `results` of `count` rows, with the links to its neighbours.
    pub fn envelope<T>(&self, count: i64, results: Vec<T>) -> Envelope<T> {
        let next = (self.limit > 0 && self.offset + self.limit < count)
            .then(|| self.link(Some(self.offset + self.limit)));
        let previous = (self.offset > 0).then(|| {
            if self.offset - self.limit <= 0 {
                self.link(None)
            } else {
                self.link(Some(self.offset - self.limit))
            }
        });
        Envelope {
            count,
            next,
            previous,
            results,
        }
    }

    /// The envelope of this page of `items`, already loaded in full, each shown by `show`.
    pub fn slice<'a, T, R>(&self, items: &'a [T], show: impl FnMut(&'a T) -> R) -> Envelope<R> {
        let results = items
            .iter()
            .skip(self.offset as usize)
            .take(self.limit as usize)
            .map(show)
            .collect();
        self.envelope(items.len() as i64, results)
    }
}

/// DRF's limit/offset page: `{"count","next","previous","results"}`, the links null at the
/// ends.
#[derive(Serialize)]
pub struct Envelope<T> {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<T>,
}

/// A 200 JSON reply.
pub fn ok(v: impl Serialize) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}
