//! Who is calling. Three ways in, one [`Caller`]:
//! - REST: `Authorization: Token <secret>` (the secret alone names the user, as in LAVA);
//! - XML-RPC: HTTP Basic `username:token` (the pair must match), see [`by_user_token`];
//! - browsers: the `lavasession` cookie of a login session, which also carries a CSRF token.
//!
//! Passwords are argon2 PHC strings; API tokens and session keys are stored as SHA-256 only.
//! Logins are throttled and argon2 work bounded ([`super::throttle`]).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use lava_db::viewer::Viewer;

use super::AppState;
use super::django_password::DjangoHash;
use super::error::ApiError;
use super::throttle::{self, Busy};

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "lavasession";

/// How long a login lasts.
pub const SESSION_DAYS: i64 = 14;

/// A known, active user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user's id.
    pub id: i64,
    /// The login name, as the admin log records it.
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
                    super::error::Detail {
                        detail: "Invalid token.",
                    },
                )),
            };
        }
        if let Some(key) = cookie(&parts.headers, SESSION_COOKIE) {
            let c = state.db().await?;
            let hash = lava_common::token::hash(key);
            if let Some(s) = lava_db::sessions::get(&c, &hash).await? {
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
    Ok(lava_db::users::get_by_id(&c, id).await?.map(|u| Caller {
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
        lava_db::tokens::user_of(&c, &lava_common::token::hash(secret)).await?
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
        lava_db::tokens::user_of_named(&c, username, &lava_common::token::hash(secret)).await?
    };
    match id {
        Some(id) => Ok(caller_by_id(state, id).await?),
        None => Ok(None),
    }
}

/// A hash that matches no password, for the logins of unknown, inactive or password-less
/// users: checking against it takes as long as a real check, so the answer's timing does
/// not tell which usernames exist.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let unguessable = lava_common::token::generate();
    hash_password(&unguessable).unwrap_or_default()
});

/// Checks a password against a stored argon2 hash, off the async threads and within the
/// argon2 bound. A hash that cannot match (empty, or not argon2) is checked against a dummy
/// hash instead, so every failure costs the same time.
pub async fn verify_password(stored: String, password: String) -> Result<bool, Busy> {
    throttle::argon2(move || {
        use argon2::password_hash::PasswordVerifier;
        // A hash brought over from a LAVA lab (Django's forms).
        if let Some(django) = DjangoHash::parse(&stored) {
            return django.matches(&password);
        }
        let Some((hash, real)) = hash_to_check(&stored) else {
            return false;
        };
        let ok = argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok();
        ok && real
    })
    .await
}

/// The hash a password is checked against, and whether it is the user's own: a stored hash
/// that cannot match (empty, or not argon2) gives the dummy hash, so the check costs the same.
fn hash_to_check(stored: &str) -> Option<(argon2::password_hash::PasswordHash<'_>, bool)> {
    use argon2::password_hash::PasswordHash;
    match PasswordHash::new(stored) {
        Ok(h) if !stored.is_empty() => Some((h, true)),
        _ => PasswordHash::new(&DUMMY_HASH).ok().map(|h| (h, false)),
    }
}

/// Hashes a password with argon2 into a PHC string with a random salt (slow on purpose: call
/// it off the async threads, e.g. through [`throttle::argon2`]).
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

/// How a login attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// A new session: the cookie value and its CSRF token.
    Session(String, String),
    /// Wrong username or password, or an inactive user.
    Refused,
    /// Too many failures for this username or address within the window: not checked.
    Throttled,
    /// No argon2 slot came free in time: not checked.
    Busy,
}

/// The failed logins allowed per key within [`throttle::WINDOW`].
fn failure_limit() -> i64 {
    i64::from(
        super::settings()
            .map(|s| s.safety.login_failures_per_minute)
            .unwrap_or(throttle::DEFAULT_LIMIT),
    )
}

/// A login attempt from `client`: refused unseen when the username or the address failed
/// too often within the minute; otherwise the password is checked (the same work for
/// unknown users as for known ones) and a failure is counted against both.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    client: Option<std::net::IpAddr>,
) -> Result<Login, ApiError> {
    let window = throttle::WINDOW.as_secs_f64();
    let user_key = throttle::user_key(username);
    let mut keys = vec![user_key.clone()];
    keys.extend(client.map(throttle::addr_key));
    let user = {
        let c = state.db().await?;
        let recent = lava_db::login_failures::recent(&c, &keys, window).await?;
        if let Some((key, n)) = recent.iter().find(|(_, n)| *n >= failure_limit()) {
            tracing::warn!(%key, failures = n, "login throttled");
            return Ok(Login::Throttled);
        }
        lava_db::users::get(&c, username).await?
    };
    let (id, stored) = match user.filter(|u| u.info.is_active) {
        Some(u) => (Some(u.id), u.info.password),
        None => (None, String::new()),
    };
    let django = DjangoHash::parse(&stored).is_some();
    let matched = match verify_password(stored, password.to_string()).await {
        Ok(m) => m,
        Err(Busy) => return Ok(Login::Busy),
    };
    let c = state.db().await?;
    let Some(id) = id.filter(|_| matched) else {
        lava_db::login_failures::record(&c, &keys, window).await?;
        return Ok(Login::Refused);
    };
    lava_db::login_failures::clear(&c, &user_key).await?;
    if django {
        upgrade_django_hash(state, username, password).await?;
    }
    let key = lava_common::token::generate();
    let csrf = lava_common::token::generate();
    let expires = Utc::now() + chrono::Duration::days(SESSION_DAYS);
    lava_db::sessions::create(&c, &lava_common::token::hash(&key), id, &csrf, expires).await?;
    Ok(Login::Session(key, csrf))
}

/// Replaces a user's Django hash with one of this server's own once the password is known
/// to match (as Django upgrades an old algorithm's hash at login). A failure is logged and
/// the login goes on: the Django hash still works next time.
async fn upgrade_django_hash(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<(), ApiError> {
    let password = password.to_string();
    let hashed = match throttle::argon2(move || hash_password(&password)).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            tracing::warn!(username, error = %e, "cannot replace a Django password hash");
            return Ok(());
        }
        Err(Busy) => return Ok(()),
    };
    let c = state.db().await?;
    lava_db::accounts::set_password(&c, username, &hashed).await?;
    tracing::info!(
        username,
        "a Django password hash was replaced by an argon2 hash"
    );
    Ok(())
}

/// `; Secure` when the settings say the site is served over HTTPS (`[web] secure_cookies`).
pub fn secure_attr() -> &'static str {
    if super::settings().is_some_and(|s| s.safety.secure_cookies) {
        "; Secure"
    } else {
        ""
    }
}

/// The `Set-Cookie` value for a new session: HttpOnly, SameSite=Lax, path `/`, and Secure
/// on an HTTPS site.
pub fn session_cookie(key: &str) -> String {
    format!(
        "{SESSION_COOKIE}={key}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
        SESSION_DAYS * 86_400,
        secure_attr()
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn clear_cookie() -> String {
    format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{}",
        secure_attr()
    )
}

/// Ends the session named by the request's cookie, if any.
pub async fn logout(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(key) = cookie(headers, SESSION_COOKIE) {
        let c = state.db().await?;
        lava_db::sessions::delete(&c, &lava_common::token::hash(key)).await?;
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

    #[tokio::test]
    async fn unknown_users_cost_as_much_as_known_ones() {
        use argon2::password_hash::PasswordHash;
        let real = hash_password("the-password").unwrap();
        assert!(
            verify_password(real.clone(), "the-password".into())
                .await
                .unwrap()
        );
        assert!(
            !verify_password(real.clone(), "a-guess".into())
                .await
                .unwrap()
        );
        let own = PasswordHash::new(&real).unwrap();
        // No usable hash (unknown user, no password, a foreign hash): the check runs against
        // a hash made exactly like a real one (same algorithm, version and cost parameters),
        // so it does the same work, and it never matches.
        for stored in ["", "pbkdf2_sha256$260000$salt$hash"] {
            let (dummy, is_own) = hash_to_check(stored).expect("a dummy hash");
            assert!(!is_own, "{stored:?}");
            assert_eq!(dummy.algorithm, own.algorithm, "{stored:?}");
            assert_eq!(dummy.version, own.version, "{stored:?}");
            assert_eq!(dummy.params, own.params, "{stored:?}");
            assert_eq!(
                dummy.hash.map(|h| h.len()),
                own.hash.map(|h| h.len()),
                "{stored:?}"
            );
            assert!(
                !verify_password(stored.into(), "a-guess".into())
                    .await
                    .unwrap()
            );
        }
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
