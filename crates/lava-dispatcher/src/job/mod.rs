//! Running one job: the actions in order, each under its timeout, then the finalize step
//! that always runs (console closed, device powered off, final `job` result logged).

mod context;
pub mod failure;
mod steps;

#[cfg(test)]
pub use context::test_ctx;
pub use context::{Ctx, SET_PROMPT, SHELL_PROMPT, connection_failure, pattern, prompt_regex};
pub use failure::{ErrorType, Failure, Outcome};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use lava_common::device::DeviceSource;
use lava_common::dispatcher_settings::DispatcherSettings;
use lava_common::job::{ActionKind, JobPlan};
use lava_common::log::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::actions;
use crate::joblog::JobLog;

/// What a job run needs besides its plan.
pub struct JobOptions {
    /// The job id, for paths on the target (`/lava-ID`).
    pub job_id: String,
    /// The device's description (a `.conf` or a LAVA device dictionary).
    pub device: DeviceSource,
    /// What the job may reach from this host.
    pub settings: DispatcherSettings,
    /// A private directory for this job's files.
    pub workdir: PathBuf,
    /// The download cache, shared between jobs.
    pub cache_dir: PathBuf,
}

/// Formats a duration as LAVA does in action framing lines (`00:04:00`).
fn hms(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// LAVA's name for an action, used in the log and in `timeouts.actions`.
fn action_name(kind: &ActionKind, ctx: &Ctx) -> &'static str {
    match kind {
        ActionKind::Deploy(d) => actions::deploy::action_name(d, ctx),
        ActionKind::Boot(b) => actions::boot::action_name(b, ctx),
        ActionKind::Test(_) => "lava-test-shell",
        ActionKind::SubmitResults(_) => "submit-results",
    }
}

fn default_timeout(kind: &ActionKind) -> Duration {
    Duration::from_secs(match kind {
        ActionKind::Deploy(_) | ActionKind::Boot(_) => 300,
        ActionKind::Test(_) => 1800,
        ActionKind::SubmitResults(_) => 120,
    })
}

fn lava_result(
    case: &str,
    namespace: &str,
    level: usize,
    duration: Duration,
    failure: Option<&Failure>,
) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    m.insert("case".into(), Value::from(case));
    m.insert("definition".into(), Value::from("lava"));
    m.insert(
        "duration".into(),
        Value::from(format!("{:.2}", duration.as_secs_f64())),
    );
    m.insert("level".into(), Value::from(level.to_string()));
    m.insert("namespace".into(), Value::from(namespace));
    let result = if failure.is_some() { "fail" } else { "pass" };
    m.insert("result".into(), Value::from(result));
    if let Some(f) = failure {
        let mut extra = BTreeMap::new();
        extra.insert("fail".into(), Value::from(f.message.clone()));
        m.insert("extra".into(), Value::Map(extra));
    }
    m
}

/// Runs the job to its end and returns how it ended. The log gets every step; `cancel`
/// turning true stops the job (as SIGTERM does) through the same finalize path.
pub async fn run(
    plan: &JobPlan,
    opts: JobOptions,
    log: JobLog,
    mut cancel: watch::Receiver<bool>,
) -> Outcome {
    log.info(format!(
        "lava-dispatch (lava-rs {}) for job {}",
        env!("CARGO_PKG_VERSION"),
        opts.job_id
    ));
    log.info("start: 0 validate");
    let job_deadline = Instant::now() + plan.timeouts.job;
    let device = match opts.device.device(&plan.context) {
        Ok(d) => d,
        Err(e) => return end_without_device(&log, Failure::config("validate", e.to_string())),
    };
    // A dictionary's templates see the whole context, as LAVA's do; a `.conf` only the keys
    // its commands use.
    let unused: Vec<&str> = plan
        .context
        .keys()
        .map(String::as_str)
        .filter(|k| !lava_common::device::CONTEXT_KEYS.contains(k))
        .collect();
    if !unused.is_empty() && matches!(opts.device, DeviceSource::Conf(_)) {
        // Said where the submitter reads it: LAVA would have passed these to the device's
        // templates, a `.conf` has nowhere to put them.
        log.warning(format!(
            "context keys with no effect on this device: {} (a .conf device takes only {} \
             from the context; a LAVA device dictionary takes every key)",
            unused.join(", "),
            lava_common::device::CONTEXT_KEYS.join(" and ")
        ));
    }
    let tests = plan
        .actions
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match &a.kind {
            ActionKind::Test(t) => Some((i, t.clone())),
            _ => None,
        })
        .collect();
    let mut ctx = Ctx {
        tests,
        source: plan.source,
        connection_timeout: plan.timeouts.connection,
        secrets: plan.secrets.clone(),
        ..Ctx::new(
            log.clone(),
            device,
            opts.settings,
            opts.job_id,
            opts.workdir,
            opts.cache_dir,
            job_deadline,
        )
    };
    let mut outcome = Outcome::Complete;
    if let Err(f) = actions::validate(&ctx, plan).await {
        outcome = Outcome::Incomplete(f);
    } else {
        log.results(lava_result("validate", "common", 0, Duration::ZERO, None));
    }
    'actions: for (i, action) in plan.actions.iter().enumerate() {
        if outcome != Outcome::Complete {
            break;
        }
        let name = action_name(&action.kind, &ctx);
        let timeout = action
            .timeout
            .or_else(|| plan.timeouts.actions.get(name).copied())
            .or_else(|| ctx.device.timeouts.actions.get(name).copied())
            .or(plan.timeouts.action)
            .unwrap_or_else(|| default_timeout(&action.kind));
        let level = i + 1;
        let (step_timeouts, unknown) = steps::limits(
            &action.timeouts,
            &plan.timeouts.actions,
            &ctx.device.timeouts.actions,
        );
        for step in unknown {
            log.info(format!(
                "timeouts.{step} of {name}: no step of this action has that name; it limits nothing, as in LAVA"
            ));
        }
        ctx.step_timeouts = step_timeouts;
        let tries = action.failure_retry.unwrap_or(1).max(1);
        // LAVA files an action without a namespace under `common`.
        let ns = action.namespace.as_deref().unwrap_or("common");
        for attempt in 1..=tries {
            log.info(format!(
                "start: {level} {name} (timeout {}) [{ns}]",
                hms(timeout)
            ));
            if tries > 1 {
                log.info(format!("attempt {attempt} of {tries}"));
            }
            let started = Instant::now();
            let action_deadline = started + timeout;
            ctx.deadline = action_deadline.min(job_deadline);
            ctx.connection_timeout = plan
                .timeouts
                .connections
                .get(name)
                .copied()
                .or_else(|| ctx.device.timeouts.connections.get(name).copied())
                .or(plan.timeouts.connection);
            let deadline = ctx.deadline;
            let result = tokio::select! {
                r = tokio::time::timeout_at(deadline, actions::run(&mut ctx, i, name, &action.kind)) => match r {
                    Ok(r) => r,
                    Err(_) if deadline == job_deadline && job_deadline < action_deadline => Err(Failure::timeout(
                        name,
                        format!("job timed out after {} during {name}", hms(plan.timeouts.job)),
                    )),
                    Err(_) => Err(Failure::timeout(name, format!("{name} timed out after {}", hms(timeout)))),
                },
                _ = cancel.wait_for(|c| *c) => {
                    outcome = Outcome::Canceled(format!("canceled during {name}"));
                    log.error(format!("job canceled during {name}"));
                    break 'actions;
                }
            };
            let took = started.elapsed();
            match result {
                Ok(()) => {
                    log.info(format!(
                        "end: {level} {name} (duration {}) [{ns}]",
                        hms(took)
                    ));
                    log.results(lava_result(name, ns, level, took, None));
                    break;
                }
                Err(f) => {
                    log.exception(f.message.clone());
                    log.results(lava_result(name, ns, level, took, Some(&f)));
                    let job_over = Instant::now() >= job_deadline;
                    if attempt < tries && !job_over && f.kind != ErrorType::Configuration {
                        log.warning(format!(
                            "{name} failed (attempt {attempt} of {tries}): trying again"
                        ));
                        if let Some(interval) = action.failure_retry_interval {
                            log.info(format!(
                                "failure_retry_interval: waiting {} before attempt {}",
                                hms(interval),
                                attempt + 1
                            ));
                            let until = (Instant::now() + interval).min(job_deadline);
                            tokio::select! {
                                _ = tokio::time::sleep_until(until) => {}
                                _ = cancel.wait_for(|c| *c) => {
                                    outcome = Outcome::Canceled(format!("canceled during {name}"));
                                    log.error(format!("job canceled during {name}"));
                                    break 'actions;
                                }
                            }
                        }
                        continue;
                    }
                    outcome = Outcome::Incomplete(f);
                }
            }
        }
    }
    if let Err(f) = actions::finalize(&mut ctx).await
        && outcome == Outcome::Complete
    {
        outcome = Outcome::Incomplete(f);
    }
    final_result(&log, outcome)
}

/// A job whose device could not be described ends before anything is touched.
fn end_without_device(log: &JobLog, f: Failure) -> Outcome {
    log.exception(f.message.clone());
    log.results(lava_result(
        "validate",
        "common",
        0,
        Duration::ZERO,
        Some(&f),
    ));
    final_result(log, Outcome::Incomplete(f))
}

/// Logs the final `job` result and returns the outcome.
fn final_result(log: &JobLog, outcome: Outcome) -> Outcome {
    let mut job = BTreeMap::new();
    job.insert("case".to_string(), Value::from("job"));
    job.insert("definition".to_string(), Value::from("lava"));
    match &outcome {
        Outcome::Complete => {
            job.insert("result".into(), Value::from("pass"));
        }
        Outcome::Incomplete(f) => {
            log.error(format!("{}: {}", f.kind, f.message));
            job.insert("error_msg".into(), Value::from(f.message.clone()));
            job.insert("error_type".into(), Value::from(f.kind.as_str()));
            job.insert("result".into(), Value::from("fail"));
        }
        Outcome::Canceled(why) => {
            job.insert("error_msg".into(), Value::from(why.clone()));
            job.insert(
                "error_type".into(),
                Value::from(ErrorType::Canceled.as_str()),
            );
            job.insert("result".into(), Value::from("fail"));
        }
    }
    log.results(job);
    outcome
}
