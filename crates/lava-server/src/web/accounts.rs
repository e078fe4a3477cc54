//! Logging in and out. The login form resists login CSRF (a foreign site logging the victim
//! into the attacker's account) with a double-submit token: the GET sets a random value in
//! an HttpOnly cookie and in a hidden field, and the POST must carry both, equal. A foreign
//! site can make a browser post, but cannot read or set our cookie to match its field.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Serialize;

use super::AppState;
use super::admin::guard::{CSRF_FIELD, UserPost};
use super::admin::view;
use super::auth::{self, Auth, Login, clear_cookie, cookie, session_cookie};
use super::pages::templates::render;
use super::throttle::{self, ClientAddr};

/// The cookie of the login form's double-submit token.
pub const LOGIN_COOKIE: &str = "lavalogin";

/// The GET and POST of the login page (logout is a form in the one table of form posts).
pub fn routes() -> Router<AppState> {
    Router::new().route("/accounts/login/", get(login_page).post(login))
}

/// Where to go after logging in: only a path on this site, never `//host` or `\\host`
/// (browsers read both as another host), so the login page cannot be used to send people
/// elsewhere.
pub fn local_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n
        }
        _ => "/",
    }
}

/// The `?next=` of the login page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Next {
    /// Where to go after logging in.
    pub next: Option<String>,
}

fn with_cookie(mut r: Response, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

/// The context of the login form. It has no base context: nobody is logged in on it, so
/// `user` is always null and the page has no logout form to need a session's CSRF token.
#[derive(Serialize)]
struct LoginPage<'a> {
    user: (),
    next: &'a str,
    error: Option<&'a str>,
    login_token: &'a str,
    csrf_field: &'static str,
}

/// The login form with a fresh double-submit token.
fn form(state: &AppState, next: &str, error: Option<&str>, status: StatusCode) -> Response {
    let token = lava_common::token::generate();
    let ctx = LoginPage {
        user: (),
        next,
        error,
        login_token: &token,
        csrf_field: CSRF_FIELD,
    };
    let page = render(&state.templates, "accounts/login.html", status, &ctx);
    with_cookie(
        page,
        &format!(
            "{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/accounts/login/{}",
            auth::secure_attr()
        ),
    )
}

async fn login_page(State(state): State<AppState>, Query(q): Query<Next>) -> Response {
    form(&state, local_next(q.next.as_deref()), None, StatusCode::OK)
}

/// The login form's fields.
#[derive(Debug, serde::Deserialize)]
pub struct LoginForm {
    /// As typed; an unknown user is refused in the time a wrong password takes.
    #[serde(default)]
    pub username: String,
    /// Checked against the argon2 hash off the async threads, within the throttle's bound.
    #[serde(default)]
    pub password: String,
    /// The double-submit token.
    pub csrfmiddlewaretoken: Option<String>,
    /// Where to go next.
    pub next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    axum::Form(f): axum::Form<LoginForm>,
) -> Result<Response, Response> {
    let next = local_next(f.next.as_deref()).to_string();
    let expected = cookie(&headers, LOGIN_COOKIE).map(str::to_string);
    let check = Auth {
        caller: None,
        csrf: expected,
    };
    if !auth::csrf_ok(&check, f.csrfmiddlewaretoken.as_deref()) {
        tracing::warn!(username = %f.username, "login refused: the form's token does not match its cookie");
        return Err(view::forbidden(
            &state,
            "The login form's token is missing or does not match. Reload the login page and try again.",
        ));
    }
    let username = f.username.trim();
    match auth::login(&state, username, &f.password, client).await {
        Ok(Login::Session(key, _csrf)) => {
            tracing::info!(username = %f.username, "logged in");
            // Logins are rare and cheap to piggyback on: expired sessions and old failure
            // counts go here, so the tables do not grow without a cleanup daemon.
            if let Ok(c) = state.db().await {
                if let Err(e) = lava_db::sessions::purge_expired(&c).await {
                    tracing::warn!(error = %e, "cannot purge expired sessions");
                }
                let window = throttle::WINDOW.as_secs_f64();
                if let Err(e) = lava_db::login_failures::purge(&c, window).await {
                    tracing::warn!(error = %e, "cannot purge old login failures");
                }
            }
            let r = Redirect::to(&next).into_response();
            let r = with_cookie(r, &session_cookie(&key));
            Ok(with_cookie(
                r,
                &format!(
                    "{LOGIN_COOKIE}=; HttpOnly; SameSite=Lax; Path=/accounts/login/; Max-Age=0{}",
                    auth::secure_attr()
                ),
            ))
        }
        Ok(Login::Refused) => {
            tracing::info!(username = %f.username, ?client, "login failed");
            let msg = "Please enter a correct username and password.";
            Ok(form(&state, &next, Some(msg), StatusCode::OK))
        }
        Ok(Login::Throttled) => {
            let msg = "Too many failed logins for this account or from this address. Wait a minute and try again.";
            Err(retry_later(
                form(&state, &next, Some(msg), StatusCode::TOO_MANY_REQUESTS),
                throttle::WINDOW,
            ))
        }
        Ok(Login::Busy) => {
            let msg = "The server is busy checking other logins. Try again in a moment.";
            Err(retry_later(
                form(&state, &next, Some(msg), StatusCode::SERVICE_UNAVAILABLE),
                std::time::Duration::from_secs(5),
            ))
        }
        Err(e) => Err(e.into_response()),
    }
}

/// Adds `Retry-After`.
fn retry_later(mut r: Response, after: std::time::Duration) -> Response {
    if let Ok(v) = HeaderValue::from_str(&after.as_secs().to_string()) {
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    r
}

/// A form with no fields besides the CSRF token.
#[derive(Debug, serde::Deserialize)]
pub struct Empty {}

/// Ends the session and goes to the home page.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    post: UserPost<Empty>,
) -> Result<Response, Response> {
    auth::logout(&state, &headers)
        .await
        .map_err(IntoResponse::into_response)?;
    tracing::info!(username = %post.caller.username, "logged out");
    Ok(with_cookie(
        Redirect::to("/").into_response(),
        &clear_cookie(),
    ))
}

#[cfg(test)]
mod tests {
    use super::local_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(local_next(Some("/admin/")), "/admin/");
        assert_eq!(
            local_next(Some("/scheduler/job/3?x=1")),
            "/scheduler/job/3?x=1"
        );
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "admin",
            "/a\nb",
        ] {
            assert_eq!(local_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_next(None), "/");
    }
}
