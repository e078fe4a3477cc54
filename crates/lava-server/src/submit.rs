//! Submitting a job: parse and validate it with the dispatcher's parser, check that a device
//! can run it, store the definition as submitted (its callback tokens and secrets masked and
//! kept apart) with its plan, and wake the scheduler. One path for `manage submit`, the form, REST and
//! XML-RPC, and one for resubmission.
//!
//! A submitted definition never makes a health check: only the scheduler creates those, from
//! the device type's health check, so a user's failing job cannot mark a device Bad.

use std::collections::BTreeMap;

use lava_common::ids::{DeviceName, DeviceTypeName, JobId};
use lava_common::job::{JobError, JobPlan, SECRET_MASK, Visibility, mask_secrets, parse_job};
use lava_common::state::{DeviceHealth, JobVisibility};

/// Why a submission was refused. The messages follow LAVA's, so clients that match on them
/// keep working.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The definition does not parse or validate.
    #[error("Problem with submitted job data: {0}")]
    Invalid(#[from] JobError),
    /// No usable device of the requested type (with the requested tags).
    #[error("Device type '{0}' is unavailable.")]
    DeviceTypeUnavailable(String),
    /// The requested device does not exist or is retired.
    #[error("Specified device or device type not found.")]
    DeviceNotFound,
    /// The notify block is wrong.
    #[error("Problem with submitted job data: {0}")]
    Notify(String),
    /// The definition asks to be a health check.
    #[error(
        "Problem with submitted job data: health_check: a submitted job cannot be a health check; health checks are set on the device type and run by the scheduler (remove the key)"
    )]
    HealthCheck,
    /// A resubmission would send another user's callback tokens or secrets.
    #[error(
        "job {0}'s notify callbacks or secrets carry its submitter's credentials: only they or a superuser may resubmit it"
    )]
    NotYourTokens(JobId),
    /// A query failed (resolving an alias, finding a device, storing the job).
    #[error(transparent)]
    Db(#[from] lava_db::Error),
}

/// Checks that some non-retired device can take the job.
async fn check_devices(c: &impl lava_db::Db, plan: &JobPlan) -> Result<(), SubmitError> {
    let devices = lava_db::devices::list(c).await?;
    let usable = |d: &&lava_db::devices::Device| {
        d.info.health != DeviceHealth::Retired && plan.tags.iter().all(|t| d.info.tags.contains(t))
    };
    if let Some(target) = &plan.target {
        return match devices.iter().find(|d| d.info.hostname == *target) {
            Some(d) if usable(&d) => Ok(()),
            _ => Err(SubmitError::DeviceNotFound),
        };
    }
    let Some(dt) = &plan.device_type else {
        return Err(SubmitError::DeviceNotFound);
    };
    if devices
        .iter()
        .filter(|d| d.info.device_type == *dt)
        .any(|d| usable(&d))
    {
        Ok(())
    } else {
        Err(SubmitError::DeviceTypeUnavailable(dt.clone()))
    }
}

/// The stored form of a plan's visibility.
pub fn visibility(plan: &JobPlan) -> JobVisibility {
    match plan.visibility {
        Visibility::Public => JobVisibility::Public,
        Visibility::Personal => JobVisibility::Personal,
        Visibility::Group(_) => JobVisibility::Group,
    }
}

/// The job row for a parsed plan, as given (callers that take definitions from outside use
/// [`prepare`], which masks callback tokens first).
pub fn new_job(
    text: &str,
    plan: &JobPlan,
    submitter: Option<i64>,
    health_check: bool,
) -> lava_db::jobs::NewJob {
    lava_db::jobs::NewJob {
        submitter,
        description: plan.name.clone(),
        definition: text.to_string(),
        plan: serde_json::to_value(plan).unwrap_or_default(),
        health_check,
        device_type: plan
            .device_type
            .as_deref()
            .filter(|_| plan.target.is_none())
            .map(DeviceTypeName::from),
        device: plan.target.as_deref().map(DeviceName::from),
        tags: plan.tags.clone(),
        priority: i32::from(plan.priority),
        visibility: visibility(plan),
        viewing_groups: match &plan.visibility {
            Visibility::Group(groups) => groups.clone(),
            _ => Vec::new(),
        },
        queue_timeout: plan.timeouts.queue,
    }
}

/// What a stored definition masks and the database keeps apart: its callback tokens and the
/// values of its `secrets` block. `Debug` shows counts only.
#[derive(Clone, Default)]
pub struct Kept {
    /// The callback tokens by place (see `lava_db::callback_tokens`).
    pub tokens: Vec<(i32, String)>,
    /// The secrets: name to value (see `lava_db::job_secrets`).
    pub secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept")
            .field("tokens", &self.tokens.len())
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Kept {
    /// What job `id` keeps apart.
    pub async fn of_job(c: &impl lava_db::Db, id: JobId) -> Result<Kept, lava_db::Error> {
        Ok(Kept {
            tokens: lava_db::callback_tokens::of_job(c, id).await?,
            secrets: lava_db::job_secrets::of_job(c, id).await?,
        })
    }

    /// Whether there is nothing kept apart.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.secrets.is_empty()
    }
}

/// A job ready to store: its row (definition and plan masked) and what it keeps apart.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The row to insert, definition and plan with the callback tokens masked.
    pub job: lava_db::jobs::NewJob,
    /// Its callback tokens and secrets.
    pub kept: Kept,
}

/// Masks the callback tokens and secrets of `text` (parsed as `plan`) and builds its row. A
/// token or secret that reads as the mask takes the value `inherited` holds at its place or
/// name (a resubmission).
pub fn prepare(
    text: &str,
    plan: JobPlan,
    submitter: Option<i64>,
    health_check: bool,
    inherited: &Kept,
) -> Result<Prepared, JobError> {
    let masked = mask_secrets(text, plan)?;
    let tokens = masked
        .tokens
        .into_iter()
        .map(
            |(place, token)| match inherited.tokens.iter().find(|(p, _)| *p == place) {
                Some((_, real)) if token == SECRET_MASK => (place, real.clone()),
                _ => (place, token),
            },
        )
        .collect();
    let secrets = masked
        .secrets
        .into_iter()
        .map(|(name, value)| match inherited.secrets.get(&name) {
            Some(real) if value == SECRET_MASK => (name, real.clone()),
            _ => (name, value),
        })
        .collect();
    Ok(Prepared {
        job: new_job(&masked.text, &masked.plan, submitter, health_check),
        kept: Kept { tokens, secrets },
    })
}

/// Stores a prepared job and what it keeps apart; returns its id.
pub async fn insert(c: &impl lava_db::Db, p: &Prepared) -> Result<JobId, lava_db::Error> {
    lava_db::jobs::insert_keeping(c, &p.job, &p.kept.tokens, &p.kept.secrets).await
}

/// Validates and stores a job; returns its id.
pub async fn submit(
    c: &impl lava_db::Db,
    text: &str,
    submitter: Option<i64>,
) -> Result<JobId, SubmitError> {
    store(c, text, submitter, &Kept::default(), false).await
}

/// Submits job `old`'s definition again as `user` (a superuser when `superuser`). The
/// callback tokens and secrets kept apart go with it, which only the job's submitter or a
/// superuser may do; a health check's definition makes an ordinary job.
pub async fn resubmit(
    c: &impl lava_db::Db,
    old: &lava_db::jobs::Job,
    user: i64,
    superuser: bool,
) -> Result<JobId, SubmitError> {
    let kept = Kept::of_job(c, old.id).await?;
    if !kept.is_empty() && !superuser && old.submitter_id != Some(user) {
        return Err(SubmitError::NotYourTokens(old.id));
    }
    store(c, &old.definition, Some(user), &kept, old.health_check).await
}

async fn store(
    c: &impl lava_db::Db,
    text: &str,
    submitter: Option<i64>,
    inherited: &Kept,
    was_health_check: bool,
) -> Result<JobId, SubmitError> {
    let mut plan = parse_job(text)?;
    // `device_type: ALIAS` asks for the type the alias names (the definition keeps the alias).
    if plan.target.is_none()
        && let Some(dt) = &plan.device_type
        && let Some(real) = lava_db::aliases::resolve(c, dt).await?
    {
        plan.device_type = Some(real);
    }
    if plan.health_check && !was_health_check {
        return Err(SubmitError::HealthCheck);
    }
    if let Some(notify) = &plan.notify {
        crate::callbacks::spec::Notify::parse(notify).map_err(SubmitError::Notify)?;
    }
    check_devices(c, &plan).await?;
    let prepared = prepare(text, plan, submitter, false, inherited)?;
    Ok(insert(c, &prepared).await?)
}
