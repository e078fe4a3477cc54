//! Users and groups.

use chrono::{DateTime, Utc};
use lava_common::fixture::UserRecord;
use tokio_postgres::Row;

use crate::{Db, Error};

/// A user as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// The database id.
    pub id: i64,
    /// The stored fields (the password is its hash).
    pub info: UserRecord,
    /// When the account was made.
    pub date_joined: DateTime<Utc>,
}

const SELECT: &str = "SELECT id, username, email, first_name, last_name, password, is_staff,
        is_superuser, is_active, date_joined FROM users";

fn from_row(row: &Row) -> Result<User, Error> {
    Ok(User {
        id: row.try_get("id")?,
        info: UserRecord {
            username: row.try_get("username")?,
            email: row.try_get("email")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            password: row.try_get("password")?,
            is_staff: row.try_get("is_staff")?,
            is_superuser: row.try_get("is_superuser")?,
            is_active: row.try_get("is_active")?,
        },
        date_joined: row.try_get("date_joined")?,
    })
}

/// Every user, by username.
pub async fn list(c: &impl Db) -> Result<Vec<User>, Error> {
    let rows = c.query(&format!("{SELECT} ORDER BY username"), &[]).await?;
    rows.iter().map(from_row).collect()
}

/// One user by name, if it exists.
pub async fn get(c: &impl Db, username: &str) -> Result<Option<User>, Error> {
    let row = c
        .query_opt(&format!("{SELECT} WHERE username = $1"), &[&username])
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// One user by id, if it exists.
pub async fn get_by_id(c: &impl Db, id: i64) -> Result<Option<User>, Error> {
    let row = c
        .query_opt(&format!("{SELECT} WHERE id = $1"), &[&id])
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The id of a user, if it exists.
pub async fn id_of(c: &impl Db, username: &str) -> Result<Option<i64>, Error> {
    let row = c
        .query_opt("SELECT id FROM users WHERE username = $1", &[&username])
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// A user row's columns, as `$1` to `$8` from [`params`].
const INSERT: &str = "INSERT INTO users (username, email, first_name, last_name, password,
    is_staff, is_superuser, is_active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// `u` as the parameters of [`INSERT`].
fn params(u: &UserRecord) -> [&(dyn tokio_postgres::types::ToSql + Sync); 8] {
    [
        &u.username,
        &u.email,
        &u.first_name,
        &u.last_name,
        &u.password,
        &u.is_staff,
        &u.is_superuser,
        &u.is_active,
    ]
}

/// Adds a user; fails naming the username if it exists. Returns the new id.
pub async fn add(c: &impl Db, u: &UserRecord) -> Result<i64, Error> {
    let row = c
        .query_opt(
            &format!("{INSERT} ON CONFLICT (username) DO NOTHING RETURNING id"),
            &params(u),
        )
        .await?;
    match row {
        Some(r) => Ok(r.try_get("id")?),
        None => Err(Error::AlreadyExists {
            what: "user",
            key: u.username.clone(),
        }),
    }
}

/// Inserts a user or updates the one with the same username (fixture loading).
pub async fn upsert(c: &impl Db, u: &UserRecord) -> Result<(), Error> {
    c.execute(
        &format!(
            "{INSERT} ON CONFLICT (username) DO UPDATE SET email = EXCLUDED.email,
                first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
                password = EXCLUDED.password, is_staff = EXCLUDED.is_staff,
                is_superuser = EXCLUDED.is_superuser, is_active = EXCLUDED.is_active"
        ),
        &params(u),
    )
    .await?;
    Ok(())
}

/// Adds a group; returns its id (the existing one when the name is taken). The name is
/// checked by [`lava_common::ids::check_group_name`] whoever adds it (the admin pages, an
/// import).
pub async fn add_group(c: &impl Db, name: &str) -> Result<i64, Error> {
    lava_common::ids::check_group_name(name).map_err(|e| Error::Invalid(e.to_string()))?;
    let row = c
        .query_one(
            "INSERT INTO groups (name) VALUES ($1)
             ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
            &[&name],
        )
        .await?;
    Ok(row.try_get("id")?)
}

/// Puts a user into a group (both by name); being there already is fine.
pub async fn join_group(c: &impl Db, username: &str, group: &str) -> Result<(), Error> {
    let n = c
        .execute(
            "INSERT INTO user_groups (user_id, group_id)
             SELECT u.id, g.id FROM users u, groups g WHERE u.username = $1 AND g.name = $2
             ON CONFLICT DO NOTHING",
            &[&username, &group],
        )
        .await?;
    if n == 0 && groups_of(c, username).await?.iter().all(|g| g != group) {
        return Err(Error::not_found(
            "user or group",
            format!("{username}/{group}"),
        ));
    }
    Ok(())
}

/// The groups a user belongs to, by name.
pub async fn groups_of(c: &impl Db, username: &str) -> Result<Vec<String>, Error> {
    let rows = c
        .query(
            "SELECT g.name FROM groups g JOIN user_groups ug ON ug.group_id = g.id
             JOIN users u ON u.id = ug.user_id WHERE u.username = $1 ORDER BY g.name",
            &[&username],
        )
        .await?;
    rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
}

/// Whether user `user_id` belongs to group `group` (by name).
pub async fn is_member(c: &impl Db, user_id: i64, group: &str) -> Result<bool, Error> {
    Ok(c.query_opt(
        "SELECT 1 FROM user_groups ug JOIN groups g ON g.id = ug.group_id
             WHERE ug.user_id = $1 AND g.name = $2",
        &[&user_id, &group],
    )
    .await?
    .is_some())
}
