//! HTML pages, from tera templates read from `/usr/share/lava-server/templates` (the settings'
//! path) on every request, so an edited template shows on the next refresh with no restart,
//! as the seed promises. A broken template gives a page that names it and says why.

use std::path::Path;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use lava_common::state::{DeviceHealth, JobState};
use serde_json::json;

use super::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

/// The error chain of a tera error: the template, then the line and what is wrong.
fn describe(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders `name` with `context` from the templates directory.
pub fn render(dir: &Path, name: &str, context: &serde_json::Value) -> Response {
    let glob = format!("{}/**/*.html", dir.display());
    let result = tera::Tera::new(&glob).and_then(|t| {
        let ctx = tera::Context::from_value(context.clone())?;
        t.render(name, &ctx)
    });
    match result {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            let why = describe(&e);
            tracing::error!(template = name, dir = %dir.display(), error = %why, "template error");
            let page = format!(
                "<!DOCTYPE html><html><head><title>Template error</title></head><body>\
                 <h1>Template error</h1><p>The page template <code>{}</code> in <code>{}</code> \
                 could not be rendered:</p><pre>{}</pre></body></html>",
                escape(name),
                escape(&dir.display().to_string()),
                escape(&why)
            );
            (StatusCode::INTERNAL_SERVER_ERROR, Html(page)).into_response()
        }
    }
}

async fn home(State(state): State<AppState>) -> Result<Response, super::error::ApiError> {
    let c = state.db().await?;
    let devices = lava_db::devices::list(&**c).await?;
    let health: Vec<_> = DeviceHealth::ALL
        .iter()
        .map(|h| json!({"health": h.as_str(), "count": devices.iter().filter(|d| d.health == *h).count()}))
        .filter(|v| v["count"] != 0)
        .collect();
    let running: Vec<_> = lava_db::jobs::list(&**c, Some(JobState::Running), 100, 0)
        .await?
        .into_iter()
        .map(|j| json!({"id": j.id, "description": j.description, "device": j.device, "state": j.state.display_name()}))
        .collect();
    let workers: Vec<_> = lava_db::workers::list(&**c)
        .await?
        .into_iter()
        .map(|w| json!({"hostname": w.hostname, "state": w.state.display_name(), "health": w.health.display_name(), "devices": w.devices}))
        .collect();
    let queue = lava_db::jobs::queue_length(&**c).await?;
    let context = json!({
        "queue": queue, "running": running, "health": health, "workers": workers,
        "devices_total": devices.len(),
    });
    Ok(render(&state.templates, "home.html", &context))
}
