//! Submitting a job: parse and validate it with the dispatcher's parser, check that a device
//! can run it, store the definition as submitted with its plan, and wake the scheduler.
//! One path for `manage submit`, REST and XML-RPC.

use lava_common::job::{JobError, JobPlan, Visibility, parse_job};
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
    /// The database failed.
    #[error(transparent)]
    Db(#[from] lava_db::Error),
}

/// Checks that some non-retired device can take the job.
async fn check_devices(c: &impl lava_db::GenericClient, plan: &JobPlan) -> Result<(), SubmitError> {
    let devices = lava_db::devices::list(c).await?;
    let usable = |d: &&lava_db::devices::Device| {
        d.health != DeviceHealth::Retired && plan.tags.iter().all(|t| d.tags.contains(t))
    };
    if let Some(target) = &plan.target {
        return match devices.iter().find(|d| d.hostname == *target) {
            Some(d) if usable(&d) => Ok(()),
            _ => Err(SubmitError::DeviceNotFound),
        };
    }
    let Some(dt) = &plan.device_type else {
        return Err(SubmitError::DeviceNotFound);
    };
    if devices
        .iter()
        .filter(|d| d.device_type == *dt)
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

/// The job row for a parsed plan.
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
        health_check: health_check || plan.health_check,
        device_type: plan.device_type.clone().filter(|_| plan.target.is_none()),
        device: plan.target.clone(),
        tags: plan.tags.clone(),
        priority: i32::from(plan.priority),
        visibility: visibility(plan),
        viewing_groups: match &plan.visibility {
            Visibility::Group(groups) => groups.clone(),
            _ => Vec::new(),
        },
    }
}

/// Validates and stores a job; returns its id.
pub async fn submit(
    c: &impl lava_db::GenericClient,
    text: &str,
    submitter: Option<i64>,
) -> Result<i64, SubmitError> {
    let plan = parse_job(text)?;
    if let Some(notify) = &plan.notify {
        crate::callbacks::spec::Notify::parse(notify).map_err(SubmitError::Notify)?;
    }
    check_devices(c, &plan).await?;
    Ok(lava_db::jobs::insert(c, &new_job(text, &plan, submitter, false)).await?)
}
