//! Helpers for benchmarks only: fill the database fast, in one statement, so a bench can
//! measure pages over a realistic table without spending minutes on setup.

use tokio_postgres::GenericClient;

use crate::Error;

/// Inserts `n` finished public jobs of `device_type` (which must exist), one minute apart
/// ending now, with every tenth one personal to `submitter` (so visibility filters have
/// something to skip). Returns the lowest and highest new ids.
pub async fn insert_finished_jobs(
    c: &impl GenericClient,
    n: i64,
    device_type: &str,
    submitter: Option<i64>,
) -> Result<(i64, i64), Error> {
    let row = c
        .query_one(
            "WITH ins AS (
                 INSERT INTO jobs (submitter_id, description, original_definition, requested_device_type,
                     visibility, state, health, submit_time, start_time, end_time)
                 SELECT $3, 'bench job ' || g, 'job_name: bench job ' || g, $2,
                        CASE WHEN g % 10 = 0 THEN 'personal'::job_visibility ELSE 'public' END,
                        'finished', CASE WHEN g % 7 = 0 THEN 'incomplete'::job_health ELSE 'complete' END,
                        now() - make_interval(mins => ($1 - g)::int) - interval '2 minutes',
                        now() - make_interval(mins => ($1 - g)::int) - interval '1 minute',
                        now() - make_interval(mins => ($1 - g)::int)
                 FROM generate_series(1, $1) g
                 RETURNING id)
             SELECT min(id) AS lo, max(id) AS hi FROM ins",
            &[&n, &device_type, &submitter],
        )
        .await?;
    Ok((row.try_get("lo")?, row.try_get("hi")?))
}
