//! Bundle streams as the web pages show them: a stream is visible when it is public, or to its
//! owner, the members of its group and superusers; a bundle is listed only when its job is
//! visible to the caller too.

use lava_common::ids::{JobId, StreamPath};

use chrono::{DateTime, Utc};

use crate::viewer::Viewer;
use crate::{Db, Error};

/// A stream in a list.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRow {
    /// Its database id, what [`bundles`] pages by.
    pub id: i64,
    /// `/anonymous/lab-health/` and the like.
    pub pathname: StreamPath,
    /// A display name its owner gave; the [`pathname`](Self::pathname) identifies it.
    pub name: String,
    /// Readable by everyone; otherwise by its owner, its group's members and superusers.
    pub is_public: bool,
    /// Open to anonymous uploads.
    pub is_anonymous: bool,
    /// Bundles the caller may see.
    pub bundles: i64,
}

/// A bundle in a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleRow {
    /// Its database id, unique across streams.
    pub id: i64,
    /// The job that filed it.
    pub job: Option<JobId>,
    /// That job's name.
    pub job_description: Option<String>,
    /// When it was filed.
    pub uploaded_on: DateTime<Utc>,
    /// The SHA-256 of its content.
    pub content_sha256: String,
}

fn stream_condition() -> &'static str {
    "($2::boolean OR s.is_public OR s.user_id = $1::bigint
      OR EXISTS (SELECT 1 FROM user_groups ug WHERE ug.group_id = s.group_id AND ug.user_id = $1::bigint))"
}

fn bundle_condition() -> String {
    format!(
        "(b.job_id IS NULL OR EXISTS (SELECT 1 FROM jobs j WHERE j.id = b.job_id AND {}))",
        Viewer::job_condition("j", 1)
    )
}

fn stream_from(r: &tokio_postgres::Row) -> Result<StreamRow, Error> {
    Ok(StreamRow {
        id: r.try_get("id")?,
        pathname: r.try_get("pathname")?,
        name: r.try_get("name")?,
        is_public: r.try_get("is_public")?,
        is_anonymous: r.try_get("is_anonymous")?,
        bundles: r.try_get("bundles")?,
    })
}

/// The streams `viewer` may see, by pathname.
pub async fn list(c: &impl Db, viewer: &Viewer) -> Result<Vec<StreamRow>, Error> {
    get_or_list(c, viewer, None).await
}

/// One stream by pathname, if it exists and `viewer` may see it.
pub async fn get(
    c: &impl Db,
    viewer: &Viewer,
    pathname: &StreamPath,
) -> Result<Option<StreamRow>, Error> {
    Ok(get_or_list(c, viewer, Some(pathname))
        .await?
        .into_iter()
        .next())
}

async fn get_or_list(
    c: &impl Db,
    viewer: &Viewer,
    pathname: Option<&StreamPath>,
) -> Result<Vec<StreamRow>, Error> {
    let (user, su) = viewer.params();
    let sql = format!(
        "SELECT s.id, s.pathname, s.name, s.is_public, s.is_anonymous,
                (SELECT count(*) FROM bundles b WHERE b.stream_id = s.id AND {}) AS bundles
         FROM bundle_streams s WHERE {} AND ($3::text IS NULL OR s.pathname = $3)
         ORDER BY s.pathname",
        bundle_condition(),
        stream_condition()
    );
    let rows = c.query(&sql, &[&user, &su, &pathname]).await?;
    rows.iter().map(stream_from).collect()
}

/// The bundles of a stream whose jobs `viewer` may see, ids below `before`, newest first.
pub async fn bundles(
    c: &impl Db,
    viewer: &Viewer,
    stream: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<BundleRow>, Error> {
    let (user, su) = viewer.params();
    let sql = format!(
        "SELECT b.id, b.job_id, jb.description AS job_description, b.uploaded_on, b.content_sha256
         FROM bundles b LEFT JOIN jobs jb ON jb.id = b.job_id
         WHERE b.stream_id = $3 AND ($4::bigint IS NULL OR b.id < $4) AND {}
         ORDER BY b.id DESC LIMIT $5",
        bundle_condition()
    );
    let rows = c
        .query(&sql, &[&user, &su, &stream, &before, &limit])
        .await?;
    rows.iter()
        .map(|r| {
            Ok(BundleRow {
                id: r.try_get("id")?,
                job: r.try_get("job_id")?,
                job_description: r.try_get("job_description")?,
                uploaded_on: r.try_get("uploaded_on")?,
                content_sha256: r.try_get("content_sha256")?,
            })
        })
        .collect()
}
