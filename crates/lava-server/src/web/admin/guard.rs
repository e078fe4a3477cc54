//! Who may see a page and who may post a form. Every mutating form goes through
//! [`FormPost`]: a logged-in user (staff for the admin interface) whose post carries the
//! session's CSRF token in `csrfmiddlewaretoken`. One check, so no handler can forget a part.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use super::super::AppState;
use super::super::auth::{Auth, Caller, csrf_ok};
use super::view;

/// The hidden form field that carries the CSRF token (Django's name, which LAVA's forms use).
pub const CSRF_FIELD: &str = "csrfmiddlewaretoken";

/// How much a page or form asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any logged-in user.
    User,
    /// A staff user.
    Staff,
}

/// A logged-in caller with their session's CSRF token (for the forms of the page).
#[derive(Debug, Clone)]
pub struct Session {
    /// The logged-in user.
    pub caller: Caller,
    /// The session's CSRF token.
    pub csrf: String,
}

/// The redirect to the login page that comes back to `uri` afterwards (a page, not a form
/// post: after logging in the browser GETs `next`, and a form's URL has no GET).
pub fn to_login(method: &Method, uri: &Uri) -> Response {
    let next = match *method {
        Method::GET => uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
        _ => "/",
    };
    let next: String = url_escape(next);
    Redirect::to(&format!("/accounts/login/?next={next}")).into_response()
}

/// Percent-encodes the characters that would end or confuse a query value.
fn url_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "%26".to_string(),
            '#' => "%23".to_string(),
            '+' => "%2B".to_string(),
            '?' => "%3F".to_string(),
            '=' => "%3D".to_string(),
            ' ' => "%20".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Checks the caller against `need`: anonymous callers go to the login page, others who
/// lack staff rights get the 403 page.
async fn session(parts: &mut Parts, state: &AppState, need: Need) -> Result<Session, Response> {
    let auth = Auth::from_request_parts(parts, state)
        .await
        .map_err(IntoResponse::into_response)?;
    let Some(caller) = auth.caller else {
        return Err(to_login(&parts.method, &parts.uri));
    };
    // A caller with an API token has no session and so no CSRF token: pages and forms are
    // for browsers, tokens for the APIs.
    let Some(csrf) = auth.csrf else {
        return Err(view::forbidden(
            state,
            "Pages and forms need a login session; API tokens are for the APIs.",
        ));
    };
    if need == Need::Staff && !caller.is_staff {
        tracing::warn!(user = %caller.username, path = %parts.uri.path(), "staff page refused");
        let auth = Auth {
            caller: Some(caller),
            csrf: Some(csrf),
        };
        let msg = "This page is for staff users only.";
        return Err(view::fail_for(state, &auth, StatusCode::FORBIDDEN, msg));
    }
    Ok(Session { caller, csrf })
}

impl Session {
    /// This session as the caller of a request.
    pub fn auth(&self) -> Auth {
        Auth {
            caller: Some(self.caller.clone()),
            csrf: Some(self.csrf.clone()),
        }
    }
}

/// A page (GET) for any logged-in user.
#[derive(Debug, Clone)]
pub struct UserPage(pub Session);

/// A page (GET) for staff users.
#[derive(Debug, Clone)]
pub struct StaffPage(pub Session);

impl FromRequestParts<AppState> for UserPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        session(parts, state, Need::User).await.map(UserPage)
    }
}

impl FromRequestParts<AppState> for StaffPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        session(parts, state, Need::Staff).await.map(StaffPage)
    }
}

/// A form post that passed every check; `form` is the decoded body.
#[derive(Debug)]
pub struct FormPost<T, const STAFF: bool> {
    /// Who posted it.
    pub caller: Caller,
    /// The session's CSRF token (to render the next page's forms).
    pub csrf: String,
    /// The decoded body, read only once the login, staff and CSRF checks passed.
    pub form: T,
}

/// A form post from a staff user with a valid CSRF token.
pub type StaffPost<T> = FormPost<T, true>;

/// A form post from any logged-in user with a valid CSRF token.
pub type UserPost<T> = FormPost<T, false>;

#[derive(serde::Deserialize)]
struct CsrfOnly {
    csrfmiddlewaretoken: Option<String>,
}

impl<T: DeserializeOwned, const STAFF: bool> FromRequest<AppState> for FormPost<T, STAFF> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let need = if STAFF { Need::Staff } else { Need::User };
        let s = session(&mut parts, state, need).await?;
        let bytes = axum::body::to_bytes(body, 1 << 20)
            .await
            .map_err(|e| view::fail(state, StatusCode::BAD_REQUEST, &e.to_string()))?;
        let posted = serde_urlencoded::from_bytes::<CsrfOnly>(&bytes)
            .ok()
            .and_then(|f| f.csrfmiddlewaretoken);
        if !csrf_ok(&s.auth(), posted.as_deref()) {
            tracing::warn!(user = %s.caller.username, path = %parts.uri.path(), "csrf check failed");
            let msg = "The form's CSRF token is missing or wrong. Reload the page and try again.";
            return Err(view::fail_for(state, &s.auth(), StatusCode::FORBIDDEN, msg));
        }
        let form = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| {
            view::fail(
                state,
                StatusCode::BAD_REQUEST,
                &format!("invalid form: {e}"),
            )
        })?;
        Ok(FormPost {
            caller: s.caller,
            csrf: s.csrf,
            form,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(method: Method, uri: &str) -> String {
        let r = to_login(&method, &uri.parse().unwrap());
        r.headers()["location"].to_str().unwrap().to_string()
    }

    #[test]
    fn the_login_redirect_keeps_the_whole_page_address() {
        assert_eq!(
            location(Method::GET, "/admin/jobs/?a=1&b=2"),
            "/accounts/login/?next=/admin/jobs/%3Fa%3D1%26b%3D2"
        );
        assert_eq!(
            location(Method::POST, "/admin/jobs/3/cancel"),
            "/accounts/login/?next=/"
        );
    }
}
