//! Bundle streams: where the seed-era dashboard files job results.

use lava_common::fixture::BundleStreamRecord;
use lava_common::ids::StreamPath;
use tokio_postgres::Row;

use crate::{Db, Error};

/// A stream as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleStream {
    /// The database id.
    pub id: i64,
    /// The stored fields.
    pub info: BundleStreamRecord,
    /// Number of bundles in it.
    pub bundles: i64,
}

const SELECT: &str = "SELECT s.id, s.pathname, s.name, s.slug, u.username, g.name AS group_name,
        s.is_public, s.is_anonymous,
        (SELECT count(*) FROM bundles b WHERE b.stream_id = s.id) AS bundles
    FROM bundle_streams s
    LEFT JOIN users u ON u.id = s.user_id
    LEFT JOIN groups g ON g.id = s.group_id";

fn from_row(row: &Row) -> Result<BundleStream, Error> {
    Ok(BundleStream {
        id: row.try_get("id")?,
        info: BundleStreamRecord {
            pathname: row.try_get("pathname")?,
            name: row.try_get("name")?,
            slug: row.try_get("slug")?,
            user: row.try_get("username")?,
            group: row.try_get("group_name")?,
            is_public: row.try_get("is_public")?,
            is_anonymous: row.try_get("is_anonymous")?,
        },
        bundles: row.try_get("bundles")?,
    })
}

/// Every stream, by pathname.
pub async fn list(c: &impl Db) -> Result<Vec<BundleStream>, Error> {
    let rows = c
        .query(&format!("{SELECT} ORDER BY s.pathname"), &[])
        .await?;
    rows.iter().map(from_row).collect()
}

/// One stream by pathname, if it exists.
pub async fn get(c: &impl Db, pathname: &StreamPath) -> Result<Option<BundleStream>, Error> {
    let row = c
        .query_opt(&format!("{SELECT} WHERE s.pathname = $1"), &[&pathname])
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// How many streams exist.
pub async fn count(c: &impl Db) -> Result<i64, Error> {
    Ok(c.query_one("SELECT count(*) AS n FROM bundle_streams", &[])
        .await?
        .try_get("n")?)
}

async fn user_and_group(
    c: &impl Db,
    s: &BundleStreamRecord,
) -> Result<(Option<i64>, Option<i64>), Error> {
    let user_id = match &s.user {
        Some(name) => Some(
            crate::users::id_of(c, name)
                .await?
                .ok_or_else(|| Error::not_found("user", name.clone()))?,
        ),
        None => None,
    };
    let group_id = match &s.group {
        Some(name) => {
            let row = c
                .query_opt("SELECT id FROM groups WHERE name = $1", &[name])
                .await?;
            Some(
                row.map(|r| r.try_get::<_, i64>("id"))
                    .transpose()?
                    .ok_or_else(|| Error::not_found("group", name.clone()))?,
            )
        }
        None => None,
    };
    Ok((user_id, group_id))
}

/// Adds a stream; fails naming its pathname if it exists.
pub async fn add(c: &impl Db, s: &BundleStreamRecord) -> Result<(), Error> {
    if get(c, &s.pathname).await?.is_some() {
        return Err(Error::AlreadyExists {
            what: "bundle stream",
            key: s.pathname.to_string(),
        });
    }
    upsert(c, s).await
}

/// Inserts a stream or updates the one with the same pathname.
pub async fn upsert(c: &impl Db, s: &BundleStreamRecord) -> Result<(), Error> {
    let (user_id, group_id) = user_and_group(c, s).await?;
    c.execute(
        "INSERT INTO bundle_streams (pathname, name, slug, user_id, group_id, is_public, is_anonymous)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (pathname) DO UPDATE SET name = EXCLUDED.name, slug = EXCLUDED.slug,
            user_id = EXCLUDED.user_id, group_id = EXCLUDED.group_id,
            is_public = EXCLUDED.is_public, is_anonymous = EXCLUDED.is_anonymous",
        &[&s.pathname, &s.name, &s.slug, &user_id, &group_id, &s.is_public, &s.is_anonymous],
    )
    .await?;
    Ok(())
}
