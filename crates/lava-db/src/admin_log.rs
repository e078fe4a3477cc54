//! The record of who changed what, and why, through the admin interface and the APIs.

use chrono::{DateTime, Utc};

use crate::{Db, Error};

/// One change.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// When it was recorded: in the transaction of the change itself.
    pub time: DateTime<Utc>,
    /// Who (the username at the time).
    pub username: String,
    /// What kind of object: `device`, `device_type`, `job`, `worker`, `user`, `group`, `token`,
    /// `failure_tag`.
    pub object_type: String,
    /// Its name or id, as the pages link it (`kvm01`, `42`).
    pub object_id: String,
    /// What was done, in a few words.
    pub action: String,
    /// Why, as the admin gave it.
    pub reason: String,
}

/// A change to record.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// The acting user's id.
    pub user_id: i64,
    /// Their username, kept as it was then (the log outlives renames and deletions).
    pub username: &'a str,
    /// What kind of object, one of [`Entry::object_type`]'s words.
    pub object_type: &'a str,
    /// Its name or id, as the pages link it (`kvm01`, `42`).
    pub object_id: &'a str,
    /// What was done, in a few words (`health good → maintenance`).
    pub action: &'a str,
    /// Why the change was made (the admin's words or the daemon's).
    pub reason: &'a str,
}

/// Records a change (call it in the transaction that makes the change).
pub async fn record(c: &impl Db, ch: &Change<'_>) -> Result<(), Error> {
    c.execute(
        "INSERT INTO admin_log (user_id, username, object_type, object_id, action, reason)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &ch.user_id,
            &ch.username,
            &ch.object_type,
            &ch.object_id,
            &ch.action,
            &ch.reason,
        ],
    )
    .await?;
    Ok(())
}

/// The newest changes, of one object or of all, newest first.
pub async fn list(
    c: &impl Db,
    object: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<Entry>, Error> {
    let (ty, id) = object.unzip();
    let rows = c
        .query(
            "SELECT time, username, object_type, object_id, action, reason FROM admin_log
             WHERE ($1::text IS NULL OR (object_type = $1 AND object_id = $2))
             ORDER BY id DESC LIMIT $3",
            &[&ty, &id, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Entry {
                time: r.try_get("time")?,
                username: r.try_get("username")?,
                object_type: r.try_get("object_type")?,
                object_id: r.try_get("object_id")?,
                action: r.try_get("action")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect()
}
