//! API tokens of users, stored as hashes.

use chrono::{DateTime, Utc};

use crate::{Db, Error};

/// A token's metadata (never the secret).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    /// The database id, used to remove it.
    pub id: i64,
    /// Its owner: the token acts with exactly this user's rights.
    pub username: String,
    /// What its owner said it is for.
    pub description: String,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// When it last authenticated a request, to the minute (it is written at most once a
    /// minute); `None` if it never did.
    pub last_used: Option<DateTime<Utc>>,
}

/// Stores a token hash for a user; returns the token's id.
pub async fn add(
    c: &impl Db,
    username: &str,
    description: &str,
    token_hash: &str,
) -> Result<i64, Error> {
    let user_id = crate::users::id_of(c, username)
        .await?
        .ok_or_else(|| Error::not_found("user", username))?;
    let row = c
        .query_one(
            "INSERT INTO api_tokens (user_id, description, token_hash) VALUES ($1, $2, $3)
             RETURNING id",
            &[&user_id, &description, &token_hash],
        )
        .await?;
    Ok(row.try_get("id")?)
}

/// Every token, or those of one user, oldest first.
pub async fn list(c: &impl Db, username: Option<&str>) -> Result<Vec<ApiToken>, Error> {
    let rows = c
        .query(
            "SELECT t.id, u.username, t.description, t.created, t.last_used
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE $1::text IS NULL OR u.username = $1 ORDER BY t.id",
            &[&username],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ApiToken {
                id: r.try_get("id")?,
                username: r.try_get("username")?,
                description: r.try_get("description")?,
                created: r.try_get("created")?,
                last_used: r.try_get("last_used")?,
            })
        })
        .collect()
}

/// Removes a token by id.
pub async fn remove(c: &impl Db, id: i64) -> Result<(), Error> {
    let n = c
        .execute("DELETE FROM api_tokens WHERE id = $1", &[&id])
        .await?;
    if n == 0 {
        return Err(Error::not_found("token", id));
    }
    Ok(())
}

/// How often a token's `last_used` is written: at most once a minute, so that API calls
/// with one token do not queue on its row lock (every call would otherwise be a write).
const LAST_USED_SQL: &str = "UPDATE api_tokens SET last_used = now() WHERE id IN (
    SELECT id FROM found WHERE last_used IS NULL OR last_used < now() - interval '1 minute')";

/// The active user owning a token (by its hash), recording its use.
pub async fn user_of(c: &impl Db, token_hash: &str) -> Result<Option<i64>, Error> {
    let row = c
        .query_opt(
            &format!(
                "WITH found AS (SELECT t.id, t.last_used, u.id AS user_id FROM api_tokens t
                     JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND u.is_active),
                 touched AS ({LAST_USED_SQL})
                 SELECT user_id FROM found"
            ),
            &[&token_hash],
        )
        .await?;
    Ok(row.map(|r| r.try_get("user_id")).transpose()?)
}

/// The active user named `username` if `token_hash` is one of their tokens (XML-RPC matches
/// the pair together, as LAVA does), recording the token's use.
pub async fn user_of_named(
    c: &impl Db,
    username: &str,
    token_hash: &str,
) -> Result<Option<i64>, Error> {
    let row = c
        .query_opt(
            &format!(
                "WITH found AS (SELECT t.id, t.last_used, u.id AS user_id FROM api_tokens t
                     JOIN users u ON u.id = t.user_id
                     WHERE t.token_hash = $2 AND u.username = $1 AND u.is_active),
                 touched AS ({LAST_USED_SQL})
                 SELECT user_id FROM found"
            ),
            &[&username, &token_hash],
        )
        .await?;
    Ok(row.map(|r| r.try_get("user_id")).transpose()?)
}
