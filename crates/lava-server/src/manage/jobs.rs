//! `manage submit` and `manage jobs …`.

use std::path::Path;

use anyhow::Context as _;
use lava_common::state::JobState;
use serde::Serialize;

use super::Ctx;
use super::output::{or_dash, print_object, print_rows};
use lava_cli::Jobs;

/// `manage submit FILE`: prints the new job id.
pub async fn submit(ctx: &Ctx<'_>, file: &Path, user: Option<&str>) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let client = ctx.client().await?;
    let submitter = match user {
        Some(name) => Some(
            lava_db::users::id_of(&client, name)
                .await?
                .with_context(|| format!("user '{name}' was not found"))?,
        ),
        None => None,
    };
    let id = crate::submit::submit(&client, &text, submitter)
        .await
        .with_context(|| format!("{}: not submitted", file.display()))?;
    println!("{id}");
    Ok(())
}

/// A job in `jobs list`.
#[derive(Serialize)]
struct JobRow {
    id: lava_common::ids::JobId,
    state: JobState,
    health: lava_common::state::JobHealth,
    device: Option<lava_common::ids::DeviceName>,
    device_type: Option<lava_common::ids::DeviceTypeName>,
    description: String,
    priority: i32,
    health_check: bool,
}

/// `jobs show`: times in RFC 3339, `tests` the result counts in one line, `log` the log
/// file once it has lines, `bundles` where its results were filed.
#[derive(Serialize)]
struct JobDetail {
    id: lava_common::ids::JobId,
    description: String,
    state: JobState,
    health: lava_common::state::JobHealth,
    device_type: Option<lava_common::ids::DeviceTypeName>,
    device: Option<lava_common::ids::DeviceName>,
    worker: Option<lava_common::ids::WorkerName>,
    submitter: Option<String>,
    priority: i32,
    health_check: bool,
    submit_time: String,
    start_time: Option<String>,
    end_time: Option<String>,
    error_type: Option<lava_common::error_type::ErrorType>,
    failure_comment: Option<String>,
    tests: String,
    log_lines: i64,
    log: Option<String>,
    bundles: String,
}

/// Runs one `jobs` subcommand.
pub async fn run(ctx: &Ctx<'_>, command: Jobs) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    match command {
        Jobs::List {
            state,
            limit,
            format,
        } => {
            let state = state.map(|s| s.parse::<JobState>()).transpose()?;
            let rows: Vec<_> = lava_db::jobs::list(&client, state, limit, 0)
                .await?
                .into_iter()
                .map(|j| {
                    let line = vec![
                        j.id.to_string(),
                        j.state.to_string(),
                        j.health.to_string(),
                        or_dash(j.device.as_deref()),
                        j.description.clone(),
                    ];
                    let value = JobRow {
                        id: j.id,
                        state: j.state,
                        health: j.health,
                        device: j.device,
                        device_type: j.device_type,
                        description: j.description,
                        priority: j.priority,
                        health_check: j.health_check,
                    };
                    (line, value)
                })
                .collect();
            print_rows(format.json, &rows)
        }
        Jobs::Show { id, format } => {
            let j = lava_db::jobs::get(&client, id)
                .await?
                .with_context(|| format!("job {id} was not found"))?;
            let [pass, fail, skip, unknown] = lava_db::jobs::result_counts(&client, id).await?;
            let log = crate::logstore::LogStore::new(ctx.settings.jobs_dir()).path(id);
            let bundles = lava_db::bundles::of_job(&client, id).await?;
            let value = JobDetail {
                id: j.id,
                description: j.description,
                state: j.state,
                health: j.health,
                device_type: j.device_type,
                device: j.device,
                worker: j.worker,
                submitter: j.submitter,
                priority: j.priority,
                health_check: j.health_check,
                submit_time: j.submit_time.to_rfc3339(),
                start_time: j.start_time.map(|t| t.to_rfc3339()),
                end_time: j.end_time.map(|t| t.to_rfc3339()),
                error_type: j.error_type,
                failure_comment: j.failure_comment,
                tests: format!("{pass} pass, {fail} fail, {skip} skip, {unknown} unknown"),
                log_lines: j.log_lines,
                log: (j.log_lines > 0).then(|| log.display().to_string()),
                bundles: bundles
                    .iter()
                    .map(|(s, b)| format!("{s} #{b}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            print_object(format.json, &value)
        }
        Jobs::Cancel { id, reason } => {
            let state = lava_db::lifecycle::job::cancel(&client, id, None, &reason).await?;
            println!("job {id}: {state}");
            Ok(())
        }
        Jobs::Rm {
            older_than,
            dry_run,
            batch,
        } => {
            let logs = crate::logstore::LogStore::new(ctx.settings.jobs_dir());
            super::archive::rm(client, &logs, older_than, dry_run, batch).await
        }
    }
}
