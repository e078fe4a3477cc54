//! Users and groups.

use chrono::{DateTime, Utc};
use lava_common::fixture::UserRecord;
use tokio_postgres::{GenericClient, Row};

use crate::Error;

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
pub async fn list(c: &impl GenericClient) -> Result<Vec<User>, Error> {
    let rows = c.query(&format!("{SELECT} ORDER BY username"), &[]).await?;
    rows.iter().map(from_row).collect()
}

/// One user by name, if it exists.
pub async fn get(c: &impl GenericClient, username: &str) -> Result<Option<User>, Error> {
    let row = c
        .query_opt(&format!("{SELECT} WHERE username = $1"), &[&username])
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The id of a user, if it exists.
pub async fn id_of(c: &impl GenericClient, username: &str) -> Result<Option<i64>, Error> {
    let row = c
        .query_opt("SELECT id FROM users WHERE username = $1", &[&username])
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// Adds a user; fails naming the username if it exists. Returns the new id.
pub async fn add(c: &impl GenericClient, u: &UserRecord) -> Result<i64, Error> {
    let row = c
        .query_opt(
            "INSERT INTO users (username, email, first_name, last_name, password, is_staff,
                is_superuser, is_active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (username) DO NOTHING RETURNING id",
            &[
                &u.username,
                &u.email,
                &u.first_name,
                &u.last_name,
                &u.password,
                &u.is_staff,
                &u.is_superuser,
                &u.is_active,
            ],
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
pub async fn upsert(c: &impl GenericClient, u: &UserRecord) -> Result<(), Error> {
    c.execute(
        "INSERT INTO users (username, email, first_name, last_name, password, is_staff,
            is_superuser, is_active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (username) DO UPDATE SET email = EXCLUDED.email,
            first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
            password = EXCLUDED.password, is_staff = EXCLUDED.is_staff,
            is_superuser = EXCLUDED.is_superuser, is_active = EXCLUDED.is_active",
        &[
            &u.username,
            &u.email,
            &u.first_name,
            &u.last_name,
            &u.password,
            &u.is_staff,
            &u.is_superuser,
            &u.is_active,
        ],
    )
    .await?;
    Ok(())
}
