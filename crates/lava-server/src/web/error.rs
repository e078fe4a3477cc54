//! Errors of the web app's APIs, as HTTP responses with one JSON envelope.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// `{"detail": …}`: DRF's body for an error that is not about one field.
#[derive(Debug, Serialize)]
pub(crate) struct Detail<'a> {
    pub detail: &'a str,
}

/// `{"message": …}`: the body of this server's own errors and of LAVA's plain confirmations.
#[derive(Debug, Serialize)]
pub(crate) struct Message<'a> {
    pub message: &'a str,
}

/// An API error: a status and a message that names the field or value at fault.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON reply: `{"message": ...}`, `{"detail": ...}` or DRF's `{FIELD: [MESSAGE]}`.
    pub body: serde_json::Value,
}

impl ApiError {
    /// An error with `{"message": …}`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError::with_body(
            status,
            Message {
                message: &message.into(),
            },
        )
    }

    /// 503 `{"detail": …}`: the server cannot serve this now (no database connection came in
    /// time); the reply carries `Retry-After`.
    pub fn busy(message: impl Into<String>) -> ApiError {
        ApiError::with_body(
            StatusCode::SERVICE_UNAVAILABLE,
            Detail {
                detail: &message.into(),
            },
        )
    }

    /// The message of the body (`detail` or `message`), for surfaces that are not JSON.
    pub fn text(&self) -> String {
        ["detail", "message"]
            .iter()
            .find_map(|k| self.body[*k].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| self.body.to_string())
    }

    /// 400 `{FIELD: [MESSAGE]}`: DRF's body for a bad request field (or a bad query
    /// parameter, which DRF's filters report the same way).
    pub fn field(name: &str, message: impl Into<String>) -> ApiError {
        ApiError::with_body(
            StatusCode::BAD_REQUEST,
            std::collections::BTreeMap::from([(name, [message.into()])]),
        )
    }

    /// A response with a specific JSON body (409 with the server's line count, for example).
    pub fn with_body(status: StatusCode, body: impl serde::Serialize) -> ApiError {
        ApiError {
            status,
            body: serde_json::to_value(body).unwrap_or_default(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // Busy or down for now: a client may come back shortly.
            return (self.status, [(RETRY_AFTER, "5")], Json(self.body)).into_response();
        }
        (self.status, Json(self.body)).into_response()
    }
}

/// The header a 503 carries.
pub const RETRY_AFTER: axum::http::HeaderName = axum::http::header::RETRY_AFTER;

impl From<lava_db::Error> for ApiError {
    fn from(e: lava_db::Error) -> ApiError {
        match &e {
            lava_db::Error::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
            lava_db::Error::Invalid(_) => ApiError::new(StatusCode::BAD_REQUEST, e.to_string()),
            lava_db::Error::Conflict(_) | lava_db::Error::AlreadyExists { .. } => {
                ApiError::new(StatusCode::CONFLICT, e.to_string())
            }
            _ => {
                tracing::error!(error = %e, "database error");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
        }
    }
}

impl From<tokio_postgres_error::Error> for ApiError {
    fn from(e: tokio_postgres_error::Error) -> ApiError {
        ApiError::from(lava_db::Error::from(e))
    }
}

/// tokio-postgres errors, through lava-db's re-export.
mod tokio_postgres_error {
    pub use lava_db::PgError as Error;
}
