//! The values of jobs' `secrets` blocks, kept apart from the definitions that everyone who
//! may see a job can read (the stored definition and plan carry a mask instead). Only the
//! worker API (for the worker that runs the job) and resubmission read them; they are
//! written with the job ([`crate::jobs::insert_keeping`]).

use std::collections::BTreeMap;

use crate::{Db, Error};
use lava_common::ids::JobId;

/// Job `job`'s secrets: name to value.
pub async fn of_job(c: &impl Db, job: JobId) -> Result<BTreeMap<String, String>, Error> {
    let rows = c
        .query(
            "SELECT name, value FROM job_secrets WHERE job_id = $1",
            &[&job],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("value")?)))
        .collect()
}
