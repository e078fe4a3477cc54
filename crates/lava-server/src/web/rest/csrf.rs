//! REST writes from a browser session need the session's CSRF token in `X-CSRFToken` (the
//! header Django and LAVA's pages use); callers with `Authorization: Token …` need nothing
//! more, since a foreign site cannot make a browser send that header. Without this check any
//! page a logged-in user visits could submit, resubmit or cancel jobs in their name.
//!
//! One layer over every REST route ([`guard`]), so no write handler can forget it.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::super::AppState;
use super::super::auth::{Auth, SESSION_COOKIE, cookie, csrf_ok, token_header};
use super::super::error::{ApiError, Detail};

/// The header that carries the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrftoken";

/// Lets reads through; a write that comes with a live session cookie and no API token must
/// carry the session's CSRF token in [`CSRF_HEADER`], or it is refused with DRF's 403.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    if req.method().is_safe()
        || token_header(headers).is_some()
        || cookie(headers, SESSION_COOKIE).is_none()
    {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let auth = match Auth::from_request_parts(&mut parts, &state).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    if auth.csrf.is_some() {
        let posted = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !csrf_ok(&auth, posted) {
            tracing::warn!(path = %parts.uri.path(), "REST write with a session cookie refused: no valid X-CSRFToken");
            return ApiError::with_body(
                StatusCode::FORBIDDEN,
                Detail {
                    detail: "CSRF Failed: CSRF token missing or incorrect.",
                },
            )
            .into_response();
        }
    }
    next.run(Request::from_parts(parts, body)).await
}
