//! Browser login sessions. The cookie carries a random key; only its hash is stored.

use chrono::{DateTime, Utc};

use crate::{Db, Error};

/// The user behind a live session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionUser {
    /// The user's id.
    pub user_id: i64,
    /// The login name, as pages and the admin log show it.
    pub username: String,
    /// May use the admin interface.
    pub is_staff: bool,
    /// Sees and may change everything.
    pub is_superuser: bool,
    /// The session's CSRF token, which every form must post back.
    pub csrf_token: String,
    /// When the session ends.
    pub expires: DateTime<Utc>,
}

/// Stores a new session for `user_id` that ends at `expires`.
pub async fn create(
    c: &impl Db,
    key_hash: &str,
    user_id: i64,
    csrf_token: &str,
    expires: DateTime<Utc>,
) -> Result<(), Error> {
    c.execute(
        "INSERT INTO web_sessions (key_hash, user_id, csrf_token, expires) VALUES ($1, $2, $3, $4)",
        &[&key_hash, &user_id, &csrf_token, &expires],
    )
    .await?;
    c.execute(
        "UPDATE users SET last_login = now() WHERE id = $1",
        &[&user_id],
    )
    .await?;
    Ok(())
}

/// The active user of an unexpired session, if any.
pub async fn get(c: &impl Db, key_hash: &str) -> Result<Option<SessionUser>, Error> {
    let row = c
        .query_opt(
            "SELECT u.id, u.username, u.is_staff, u.is_superuser, s.csrf_token, s.expires
             FROM web_sessions s JOIN users u ON u.id = s.user_id
             WHERE s.key_hash = $1 AND s.expires > now() AND u.is_active",
            &[&key_hash],
        )
        .await?;
    row.map(|r| {
        Ok(SessionUser {
            user_id: r.try_get("id")?,
            username: r.try_get("username")?,
            is_staff: r.try_get("is_staff")?,
            is_superuser: r.try_get("is_superuser")?,
            csrf_token: r.try_get("csrf_token")?,
            expires: r.try_get("expires")?,
        })
    })
    .transpose()
}

/// Ends a session (logout). Ending one that does not exist is not an error.
pub async fn delete(c: &impl Db, key_hash: &str) -> Result<(), Error> {
    c.execute("DELETE FROM web_sessions WHERE key_hash = $1", &[&key_hash])
        .await?;
    Ok(())
}

/// Removes expired sessions; returns how many.
pub async fn purge_expired(c: &impl Db) -> Result<u64, Error> {
    Ok(
        c.execute("DELETE FROM web_sessions WHERE expires <= now()", &[])
            .await?,
    )
}
