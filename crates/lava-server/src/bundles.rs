//! Filing a finished job's results into the bundle streams its `submit_results` actions name.

use lava_common::error_type::ErrorType;
use lava_common::job::{ActionKind, JobPlan};
use sha2::Digest as _;

/// Files the job's results as a bundle into each stream it names. An unknown stream outside
/// `/anonymous/` is a job error (nothing is created silently): the job ends incomplete,
/// naming the stream.
pub async fn file_results(c: &impl lava_db::Db, id: i64) -> Result<(), lava_db::Error> {
    let Some(job) = lava_db::jobs::get(c, id).await? else {
        return Ok(());
    };
    let Ok(plan) = serde_json::from_value::<JobPlan>(job.plan.clone()) else {
        return Ok(());
    };
    let streams: Vec<String> = plan
        .actions
        .iter()
        .filter_map(|a| match &a.kind {
            ActionKind::SubmitResults(s) => Some(s.stream.clone()),
            _ => None,
        })
        .collect();
    if streams.is_empty() {
        return Ok(());
    }
    let cases = lava_db::results::of_job(c, id).await?;
    let runs: Vec<serde_json::Value> = cases
        .iter()
        .map(|t| {
            serde_json::json!({
                "test_id": t.suite, "test_case_id": t.name, "result": t.result.as_str(),
                "measurement": t.measurement, "units": t.units, "set": t.set,
            })
        })
        .collect();
    let content = serde_json::json!({
        "format": "lava-rs bundle 1.0",
        "job": id,
        "description": job.description,
        "health": job.health.as_str(),
        "device": job.device,
        "test_results": runs,
    });
    let sha = sha2::Sha256::digest(content.to_string().as_bytes());
    let sha: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    for stream in streams {
        match lava_db::bundles::file(c, &stream, id, &content, &sha).await {
            Ok(bundle) => tracing::info!(job = id, %stream, bundle, "results filed"),
            Err(lava_db::Error::NotFound { .. }) => {
                let msg = format!(
                    "bundle stream {stream} does not exist: create it with `lava-server manage streams add {stream}`"
                );
                lava_db::finish::fail_after_end(c, id, ErrorType::Job, &msg).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
