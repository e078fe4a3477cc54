//! Bundles: a job's results filed into the bundle stream its `submit_results` names.

use tokio_postgres::GenericClient;

use crate::Error;

/// Files `content` (the job's results, JSON) into the stream at `pathname`. A stream under
/// `/anonymous/` is created on first use, as the seed's dashboard did; any other stream
/// must exist. Returns the bundle id.
pub async fn file(
    c: &impl GenericClient,
    pathname: &str,
    job: i64,
    content: &serde_json::Value,
    content_sha256: &str,
) -> Result<i64, Error> {
    let stream = c
        .query_opt(
            "SELECT id FROM bundle_streams WHERE pathname = $1",
            &[&pathname],
        )
        .await?;
    let stream_id: i64 = match stream {
        Some(r) => r.try_get("id")?,
        None if pathname.starts_with("/anonymous/") => {
            let slug = pathname
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
            c.query_one(
                "INSERT INTO bundle_streams (pathname, name, slug, is_public, is_anonymous)
                 VALUES ($1, $2, $2, true, true)
                 ON CONFLICT (pathname) DO UPDATE SET pathname = EXCLUDED.pathname RETURNING id",
                &[&pathname, &slug],
            )
            .await?
            .try_get("id")?
        }
        None => {
            return Err(Error::NotFound {
                what: "bundle stream",
                key: pathname.to_string(),
            });
        }
    };
    let row = c
        .query_one(
            "INSERT INTO bundles (stream_id, job_id, content_sha256, content) VALUES ($1, $2, $3, $4)
             ON CONFLICT (stream_id, content_sha256) DO UPDATE SET job_id = EXCLUDED.job_id RETURNING id",
            &[&stream_id, &job, &content_sha256, content],
        )
        .await?;
    Ok(row.try_get("id")?)
}

/// The bundles of a job: (stream pathname, bundle id).
pub async fn of_job(c: &impl GenericClient, job: i64) -> Result<Vec<(String, i64)>, Error> {
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
