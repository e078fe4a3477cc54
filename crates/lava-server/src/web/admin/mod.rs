//! The admin interface (`/admin/`, staff only) and the pieces every form of the web app
//! shares: the login and CSRF checks ([`guard`]), page rendering ([`view`]) and the one table
//! of form posts ([`forms`]).

pub mod device_types;
pub mod devices;
pub mod failure_tags;
pub mod forms;
pub mod groups;
pub mod guard;
pub mod jobs;
pub mod tokens;
pub mod users;
pub mod view;
pub mod workers;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;

use super::AppState;
use guard::StaffPage;

/// The admin pages (GET) and every form post of the web app (from [`forms::FORMS`]).
pub fn routes() -> Router<AppState> {
    let pages = Router::new()
        .route("/admin/", get(index))
        .route("/admin/devices/", get(devices::list))
        .route("/admin/devices/{device}/", get(devices::show))
        .route("/admin/device-types/", get(device_types::list))
        .route(
            "/admin/device-types/{device_type}/",
            get(device_types::edit),
        )
        .route("/admin/failure-tags/", get(failure_tags::list))
        .route("/admin/failure-tags/{tag}/", get(failure_tags::show))
        .route("/admin/jobs/", get(jobs::list))
        .route("/admin/workers/", get(workers::list))
        .route("/admin/users/", get(users::list))
        .route("/admin/users/{username}/", get(users::show))
        .route("/admin/tokens/", get(tokens::all))
        .route("/api/tokens/", get(tokens::own));
    forms::routes(pages)
}

/// The context of a page whose only data is the admin log.
#[derive(Serialize)]
struct LogPage {
    log: Vec<view::LogRow>,
}

/// The admin home: links to each section and the newest changes.
async fn index(
    State(state): State<AppState>,
    StaffPage(s): StaffPage,
) -> Result<Response, Response> {
    let log = view::recent_log(&state, 50).await?;
    Ok(view::page(
        &state,
        &s,
        "admin/index.html",
        &LogPage { log },
        StatusCode::OK,
    ))
}
