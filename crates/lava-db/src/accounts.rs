//! Account administration: a user's flags and password, groups and their members, and a
//! user's own API tokens. The plain reads and inserts are in `users.rs` and `tokens.rs`.

use crate::{Db, Error};

/// What an admin may change about a user besides the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags {
    /// May use the admin interface.
    pub is_staff: bool,
    /// Sees and may change everything.
    pub is_superuser: bool,
    /// May log in and use tokens.
    pub is_active: bool,
}

fn not_found(username: &str) -> Error {
    Error::not_found("user", username)
}

/// Sets a user's flags.
pub async fn set_flags(c: &impl Db, username: &str, f: Flags) -> Result<(), Error> {
    let n = c
        .execute(
            "UPDATE users SET is_staff = $2, is_superuser = $3, is_active = $4
             WHERE username = $1",
            &[&username, &f.is_staff, &f.is_superuser, &f.is_active],
        )
        .await?;
    if n == 0 {
        return Err(not_found(username));
    }
    Ok(())
}

/// Replaces a user's password hash and ends their sessions, so a reset password also logs
/// out whoever had the old one.
pub async fn set_password(c: &impl Db, username: &str, password_hash: &str) -> Result<(), Error> {
    let n = c
        .execute(
            "UPDATE users SET password = $2 WHERE username = $1",
            &[&username, &password_hash],
        )
        .await?;
    if n == 0 {
        return Err(not_found(username));
    }
    c.execute(
        "DELETE FROM web_sessions WHERE user_id = (SELECT id FROM users WHERE username = $1)",
        &[&username],
    )
    .await?;
    Ok(())
}

/// A group with its members' usernames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Unique; what a job's `visibility: {group: [...]}` names.
    pub name: String,
    /// Members, by username.
    pub members: Vec<String>,
}

/// Every group with its members, by name.
pub async fn groups(c: &impl Db) -> Result<Vec<Group>, Error> {
    let rows = c
        .query(
            "SELECT g.name, coalesce(array_agg(u.username ORDER BY u.username)
                    FILTER (WHERE u.username IS NOT NULL), '{}') AS members
             FROM groups g LEFT JOIN user_groups ug ON ug.group_id = g.id
             LEFT JOIN users u ON u.id = ug.user_id GROUP BY g.name ORDER BY g.name",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Group {
                name: r.try_get("name")?,
                members: r.try_get("members")?,
            })
        })
        .collect()
}

/// Takes a user out of a group (both by name); not being in it is fine.
pub async fn leave_group(c: &impl Db, username: &str, group: &str) -> Result<(), Error> {
    c.execute(
        "DELETE FROM user_groups ug USING users u, groups g
         WHERE ug.user_id = u.id AND ug.group_id = g.id AND u.username = $1 AND g.name = $2",
        &[&username, &group],
    )
    .await?;
    Ok(())
}

/// Removes token `id` if it belongs to `user_id`; someone else's token is "not found", so
/// a user cannot learn which ids exist.
pub async fn remove_own_token(c: &impl Db, id: i64, user_id: i64) -> Result<(), Error> {
    let n = c
        .execute(
            "DELETE FROM api_tokens WHERE id = $1 AND user_id = $2",
            &[&id, &user_id],
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found("token", id));
    }
    Ok(())
}
