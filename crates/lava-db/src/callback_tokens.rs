//! The tokens of jobs' notify callbacks, kept apart from the definitions that everyone who
//! may see a job can read (the stored definition and plan carry a mask instead). Only the
//! callback sender and resubmission read them; no page or API does.

use crate::{Db, Error};
use lava_common::ids::JobId;

/// Job `job`'s callback tokens by place, in order.
pub async fn of_job(c: &impl Db, job: JobId) -> Result<Vec<(i32, String)>, Error> {
    let rows = c
        .query(
            "SELECT position, token FROM job_callback_tokens WHERE job_id = $1 ORDER BY position",
            &[&job],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("position")?, r.try_get("token")?)))
        .collect()
}

/// Jobs stored before tokens were kept apart (their plan's notify block still holds a token
/// other than `mask`), with id above `after`, oldest first: (id, definition).
pub async fn unmasked_jobs(
    c: &impl Db,
    mask: &str,
    after: JobId,
    limit: i64,
) -> Result<Vec<(JobId, String)>, Error> {
    let rows = c
        .query(
            "SELECT id, original_definition FROM jobs
             WHERE id > $1 AND jsonb_typeof(plan -> 'notify') = 'object'
               AND (jsonb_path_exists(plan, '$.notify.callback.token ? (@ != $m)', jsonb_build_object('m', $2::text))
                 OR jsonb_path_exists(plan, '$.notify.callbacks[*].token ? (@ != $m)', jsonb_build_object('m', $2::text)))
             ORDER BY id LIMIT $3",
            &[&after, &mask, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("original_definition")?)))
        .collect()
}

/// Replaces a job's stored definition and plan with their masked forms and stores the
/// tokens taken out of them (an upgrade step for jobs stored before tokens were kept apart).
pub async fn move_out(
    c: &impl Db,
    job: JobId,
    definition: &str,
    plan: &serde_json::Value,
    tokens: &[(i32, String)],
) -> Result<(), Error> {
    c.execute(
        "UPDATE jobs SET original_definition = $2, plan = $3 WHERE id = $1",
        &[&job, &definition, &plan],
    )
    .await?;
    c.execute("DELETE FROM job_callback_tokens WHERE job_id = $1", &[&job])
        .await?;
    store(c, job, tokens).await
}

async fn store(c: &impl Db, job: JobId, tokens: &[(i32, String)]) -> Result<(), Error> {
    for (position, token) in tokens {
        c.execute(
            "INSERT INTO job_callback_tokens (job_id, position, token) VALUES ($1, $2, $3)",
            &[&job, position, token],
        )
        .await?;
    }
    Ok(())
}
