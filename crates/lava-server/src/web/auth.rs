//! Who is calling. Three ways in, one [`Caller`]:
//! - REST: `Authorization: Token <secret>` (the secret alone names the user, as in LAVA);
//! - XML-RPC: HTTP Basic `username:token` (the pair must match), see [`by_user_token`];
//! - browsers: the `lavasession` cookie of a login session, which also carries a CSRF token.
//!
//! Passwords are argon2 PHC strings; API tokens and session keys are stored as SHA-256 only.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use lava_db::viewer::Viewer;

use super::AppState;
use super::error::ApiError;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "lavasession";

/// How long a login lasts.
pub const SESSION_DAYS: i64 = 14;

/// A known, active user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user's id.
    pub id: i64,
    /// The username.
    pub username: String,
    /// May use the admin interface.
    pub is_staff: bool,
    /// Sees and may change everything.
    pub is_superuser: bool,
}

impl Caller {
    /// This caller for visibility checks.
    pub fn viewer(&self) -> Viewer {
        Viewer {
            user_id: Some(self.id),
            superuser: self.is_superuser,
        }
    }
}

/// The visibility of an optional caller (anonymous when `None`).
pub fn viewer_of(caller: Option<&Caller>) -> Viewer {
    caller.map(Caller::viewer).unwrap_or(Viewer::ANONYMOUS)
}

/// The caller of a request (REST token or browser session), as an axum extractor. An unknown
/// REST token is rejected with LAVA's 403 `{"detail":"Invalid token."}`; a missing or expired
/// session is simply anonymous.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// The user, or `None` when anonymous.
    pub caller: Option<Caller>,
    /// The session's CSRF token when the caller came with a session cookie.
    pub csrf: Option<String>,
}

impl Auth {
    /// Who may see what.
    pub fn viewer(&self) -> Viewer {
        viewer_of(self.caller.as_ref())
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Auth, ApiError> {
        if let Some(secret) = token_header(&parts.headers) {
            return match by_token(state, secret).await? {
                Some(caller) => Ok(Auth {
                    caller: Some(caller),
                    csrf: None,
                }),
                None => Err(ApiError::with_body(
                    StatusCode::FORBIDDEN,
                    serde_json::json!({"detail": "Invalid token."}),
                )),
            };
        }
        if let Some(key) = cookie(&parts.headers, SESSION_COOKIE) {
            let c = state.db().await?;
            let hash = lava_common::token::hash(key);
            if let Some(s) = lava_db::sessions::get(&**c, &hash).await? {
                return Ok(Auth {
                    caller: Some(Caller {
                        id: s.user_id,
                        username: s.username,
                        is_staff: s.is_staff,
                        is_superuser: s.is_superuser,
                    }),
                    csrf: Some(s.csrf_token),
                });
            }
        }
        Ok(Auth::default())
    }
}

/// The secret of an `Authorization: Token …` header.
pub fn token_header(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Token "))
        .map(str::trim)
}

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn caller_by_id(state: &AppState, id: i64) -> Result<Option<Caller>, lava_db::Error> {
    let c = state
        .db()
        .await
        .map_err(|_| lava_db::Error::Invalid("no database connection".into()))?;
    Ok(lava_db::users::get_by_id(&**c, id).await?.map(|u| Caller {
        id: u.id,
        username: u.info.username,
        is_staff: u.info.is_staff,
        is_superuser: u.info.is_superuser,
    }))
}

/// The active user owning an API token.
pub async fn by_token(state: &AppState, secret: &str) -> Result<Option<Caller>, ApiError> {
    let id = {
        let c = state.db().await?;
        lava_db::tokens::user_of(&**c, &lava_common::token::hash(secret)).await?
    };
    match id {
        Some(id) => Ok(caller_by_id(state, id).await?),
        None => Ok(None),
    }
}

/// The active user `username` if `secret` is one of their tokens (XML-RPC Basic auth).
pub async fn by_user_token(
    state: &AppState,
    username: &str,
    secret: &str,
) -> Result<Option<Caller>, ApiError> {
    let id = {
        let c = state.db().await?;
        lava_db::tokens::user_of_named(&**c, username, &lava_common::token::hash(secret)).await?
    };
    match id {
        Some(id) => Ok(caller_by_id(state, id).await?),
        None => Ok(None),
    }
}

/// Checks a password against a user's stored argon2 hash (off the async threads: argon2 is
/// slow on purpose). An empty stored hash never matches.
pub async fn verify_password(stored: String, password: String) -> bool {
    if stored.is_empty() {
        return false;
    }
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        PasswordHash::new(&stored)
            .map(|h| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Hashes a password with argon2 into a PHC string with a random salt (slow on purpose: call
/// it off the async threads).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let bytes: [u8; 16] = rand::random();
    let salt =
        SaltString::encode_b64(&bytes).map_err(|e| format!("cannot make a password salt: {e}"))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// A new login session after a password check: returns the cookie value and the CSRF token,
/// or `None` when the username or password is wrong (or the user is inactive).
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<Option<(String, String)>, ApiError> {
    let user = {
        let c = state.db().await?;
        lava_db::users::get(&**c, username).await?
    };
    let Some(user) = user.filter(|u| u.info.is_active) else {
        return Ok(None);
    };
    if !verify_password(user.info.password.clone(), password.to_string()).await {
        return Ok(None);
    }
    let key = lava_common::token::generate();
    let csrf = lava_common::token::generate();
    let expires = Utc::now() + chrono::Duration::days(SESSION_DAYS);
    let c = state.db().await?;
    lava_db::sessions::create(
        &**c,
        &lava_common::token::hash(&key),
        user.id,
        &csrf,
        expires,
    )
    .await?;
    Ok(Some((key, csrf)))
}

/// The `Set-Cookie` value for a new session: HttpOnly, SameSite=Lax, path `/`.
pub fn session_cookie(key: &str) -> String {
    format!(
        "{SESSION_COOKIE}={key}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}",
        SESSION_DAYS * 86_400
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
}

/// Ends the session named by the request's cookie, if any.
pub async fn logout(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(key) = cookie(headers, SESSION_COOKIE) {
        let c = state.db().await?;
        lava_db::sessions::delete(&**c, &lava_common::token::hash(key)).await?;
    }
    Ok(())
}

/// Whether a posted CSRF token matches the session's (constant time).
pub fn csrf_ok(auth: &Auth, posted: Option<&str>) -> bool {
    match (auth.csrf.as_deref(), posted) {
        (Some(a), Some(b)) if a.len() == b.len() => {
            a.bytes()
                .zip(b.bytes())
                .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                == 0
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cookies_among_others() {
        let mut h = HeaderMap::new();
        h.insert("cookie", "a=1; lavasession=xyz; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn csrf_must_match_the_session() {
        let auth = Auth {
            caller: None,
            csrf: Some("abc".into()),
        };
        assert!(csrf_ok(&auth, Some("abc")));
        assert!(!csrf_ok(&auth, Some("abd")));
        assert!(!csrf_ok(&auth, None));
        assert!(!csrf_ok(&Auth::default(), Some("abc")));
    }
}
