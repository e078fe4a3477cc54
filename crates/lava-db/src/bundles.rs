//! Bundles: a job's results filed into the bundle stream its `submit_results` names.

use lava_common::ids::{JobId, StreamPath};

use crate::{Db, Error};

/// The stream a job's results go to at `pathname`: a stream under `/anonymous/` is created
/// on first use, as the seed's dashboard did; any other stream must exist (`None`).
pub async fn stream_for_job(c: &impl Db, pathname: &StreamPath) -> Result<Option<i64>, Error> {
    let stream = c
        .query_opt(
            "SELECT id FROM bundle_streams WHERE pathname = $1",
            &[&pathname],
        )
        .await?;
    match stream {
        Some(r) => Ok(Some(r.try_get("id")?)),
        None if pathname.starts_with("/anonymous/") => {
            let slug = pathname
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
            let row = c
                .query_one(
                    "INSERT INTO bundle_streams (pathname, name, slug, is_public, is_anonymous)
                     VALUES ($1, $2, $2, true, true)
                     ON CONFLICT (pathname) DO UPDATE SET pathname = EXCLUDED.pathname RETURNING id",
                    &[&pathname, &slug],
                )
                .await?;
            Ok(Some(row.try_get("id")?))
        }
        None => Ok(None),
    }
}

/// Files `content` (job `job`'s results, JSON, identified by `content_sha256`) into stream
/// `stream` (from [`stream_for_job`]). Returns the bundle id.
pub async fn file(
    c: &impl Db,
    stream: i64,
    job: JobId,
    content: &serde_json::Value,
    content_sha256: &str,
) -> Result<i64, Error> {
    let row = c
        .query_one(
            "INSERT INTO bundles (stream_id, job_id, content_sha256, content) VALUES ($1, $2, $3, $4)
             ON CONFLICT (stream_id, content_sha256) DO UPDATE SET job_id = EXCLUDED.job_id RETURNING id",
            &[&stream, &job, &content_sha256, content],
        )
        .await?;
    Ok(row.try_get("id")?)
}

/// The bundles of a job: (stream pathname, bundle id).
pub async fn of_job(c: &impl Db, job: JobId) -> Result<Vec<(StreamPath, i64)>, Error> {
    let rows = c
        .query(
            "SELECT s.pathname, b.id FROM bundles b JOIN bundle_streams s ON s.id = b.stream_id
             WHERE b.job_id = $1 ORDER BY b.id",
            &[&job],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("pathname")?, r.try_get("id")?)))
        .collect()
}

/// A bundle uploaded by a client (the seed-era `dashboard.put`) into the existing stream at
/// `pathname`. Fails with `NotFound` for an unknown stream and `AlreadyExists` when the stream
/// holds the same content. Returns the bundle id.
pub async fn put(
    c: &impl Db,
    pathname: &StreamPath,
    content: &serde_json::Value,
    content_sha256: &str,
    uploaded_by: Option<i64>,
) -> Result<i64, Error> {
    let stream: i64 = c
        .query_opt(
            "SELECT id FROM bundle_streams WHERE pathname = $1",
            &[&pathname],
        )
        .await?
        .ok_or_else(|| Error::not_found("bundle stream", pathname))?
        .try_get("id")?;
    let row = c
        .query_opt(
            "INSERT INTO bundles (stream_id, content_sha256, content, uploaded_by)
             VALUES ($1, $2, $3, $4) ON CONFLICT (stream_id, content_sha256) DO NOTHING RETURNING id",
            &[&stream, &content_sha256, content, &uploaded_by],
        )
        .await?
        .ok_or_else(|| Error::AlreadyExists {
            what: "bundle",
            key: content_sha256.to_string(),
        })?;
    Ok(row.try_get("id")?)
}

/// A stored bundle found by its content hash: (stream pathname, content).
pub async fn by_sha(
    c: &impl Db,
    content_sha256: &str,
) -> Result<Option<(StreamPath, serde_json::Value)>, Error> {
    let row = c
        .query_opt(
            "SELECT s.pathname, b.content FROM bundles b JOIN bundle_streams s ON s.id = b.stream_id
             WHERE b.content_sha256 = $1 ORDER BY b.id LIMIT 1",
            &[&content_sha256],
        )
        .await?;
    row.map(|r| Ok((r.try_get("pathname")?, r.try_get("content")?)))
        .transpose()
}

/// The content hash of a job's first bundle, if it has one.
pub async fn sha_of_job(c: &impl Db, job: JobId) -> Result<Option<String>, Error> {
    let row = c
        .query_opt(
            "SELECT content_sha256 FROM bundles WHERE job_id = $1 ORDER BY id LIMIT 1",
            &[&job],
        )
        .await?;
    row.map(|r| r.try_get("content_sha256"))
        .transpose()
        .map_err(Error::from)
}
