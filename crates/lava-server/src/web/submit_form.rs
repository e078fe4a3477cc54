//! The web job submission form (`/scheduler/jobsubmit`, LAVA's path): a textarea of YAML or
//! JSON for logged-in users, through the one submission path. A refused job comes back in the
//! form with the message, which names the line or field at fault.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;

use super::AppState;
use super::admin::guard::{Session, UserPage, UserPost};
use super::admin::view;
use crate::submit::{SubmitError, submit};

/// The form's page (its POST is in the one table of form posts).
pub fn routes() -> Router<AppState> {
    Router::new().route("/scheduler/jobsubmit", get(page))
}

/// The context of the form: the definition as last posted and why it was refused.
#[derive(Serialize)]
struct FormPage<'a> {
    definition: &'a str,
    error: Option<&'a str>,
}

fn form(
    state: &AppState,
    s: &Session,
    definition: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let ctx = FormPage { definition, error };
    view::page(state, s, "submit.html", &ctx, status)
}

async fn page(State(state): State<AppState>, UserPage(s): UserPage) -> Response {
    form(&state, &s, "", None, StatusCode::OK)
}

/// The form's field.
#[derive(Debug, serde::Deserialize)]
pub struct SubmitForm {
    /// YAML or JSON as typed; it goes through the one submission path, like lavacli's.
    #[serde(default)]
    pub definition: String,
}

/// Submits the job and shows it, or shows the form again with why it was refused.
pub async fn post(
    State(state): State<AppState>,
    post: UserPost<SubmitForm>,
) -> Result<Response, Response> {
    // Browsers send CRLF line ends from a textarea; the stored definition keeps the user's
    // text with plain newlines so line numbers in messages match what they typed.
    let definition = post.form.definition.replace("\r\n", "\n");
    let s = Session {
        caller: post.caller,
        csrf: post.csrf,
    };
    if definition.trim().is_empty() {
        let msg = "definition: paste a job definition (YAML or JSON)";
        return Ok(form(
            &state,
            &s,
            &definition,
            Some(msg),
            StatusCode::BAD_REQUEST,
        ));
    }
    let c = view::db(&state).await?;
    match submit(&c, definition.trim(), Some(s.caller.id)).await {
        Ok(id) => {
            tracing::info!(job = %id, user = %s.caller.username, "job submitted from the web form");
            Ok(view::done(&format!("/scheduler/job/{id}")))
        }
        Err(SubmitError::Db(e)) => Err(view::db_error(&state, e)),
        Err(e) => Ok(form(
            &state,
            &s,
            &definition,
            Some(&e.to_string()),
            StatusCode::BAD_REQUEST,
        )),
    }
}
