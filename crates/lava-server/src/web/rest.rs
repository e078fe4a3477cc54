//! The REST submit path (`POST /api/v0.2/jobs/`) and the cheap version call; the rest of the
//! REST API comes with the web UI.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::AppState;
use super::auth::Auth;
use super::error::ApiError;
use crate::submit::{SubmitError, submit};

/// The version string clients see; lavacli takes LAVA 2023.01's code paths for it.
pub const API_VERSION: &str = "2023.01";

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v0.2/system/version/", get(version))
        .route("/api/v0.2/jobs/", post(create_job))
}

async fn version() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "version": API_VERSION }))
}

async fn create_job(
    State(state): State<AppState>,
    auth: Auth,
    body: String,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Some(user) = auth.caller.map(|c| c.id) else {
        return Err(ApiError::with_body(
            StatusCode::FORBIDDEN,
            serde_json::json!({"detail": "Authentication credentials were not provided."}),
        ));
    };
    let definition = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("definition")
                .and_then(|d| d.as_str())
                .map(str::to_string)
        });
    let Some(definition) = definition else {
        return Err(ApiError::with_body(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"definition": ["This field is required."]}),
        ));
    };
    let c = state.db().await?;
    match submit(&**c, definition.trim(), Some(user)).await {
        Ok(id) => Ok((
            StatusCode::CREATED,
            Json(serde_json::json!({"message": "job(s) successfully submitted", "job_ids": [id]})),
        )),
        Err(SubmitError::Db(e)) => Err(e.into()),
        Err(SubmitError::DeviceTypeUnavailable(t)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("Devices unavailable: Device type '{t}' is unavailable."),
        )),
        Err(e) => Err(ApiError::new(StatusCode::BAD_REQUEST, e.to_string())),
    }
}
