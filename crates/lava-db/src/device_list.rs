//! Devices as the web pages show them: filtered by type, health and worker, each with the job
//! it runs when the caller may see that job (a private job's id and name never reach a page).

use lava_common::fixture::DeviceRecord;
use lava_common::ids::{DeviceName, DeviceTypeName, JobId, WorkerName};
use lava_common::state::DeviceHealth;

use crate::devices::{RECORD_COLUMNS, record_from_row};
use crate::viewer::Viewer;
use crate::{Db, Error};

/// Which devices to list; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceFilter {
    /// Only devices of this type.
    pub device_type: Option<DeviceTypeName>,
    /// With this health.
    pub health: Option<DeviceHealth>,
    /// Attached to this worker.
    pub worker: Option<WorkerName>,
    /// Exactly this hostname.
    pub hostname: Option<DeviceName>,
}

/// A device with its current job as far as the caller may know it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRow {
    /// Hostname, type, description, tags, state, health and worker.
    pub info: DeviceRecord,
    /// The job it runs (id, name), when the caller may see it.
    pub job: Option<(JobId, String)>,
}

/// The devices matching `f`, by hostname.
pub async fn list(c: &impl Db, viewer: &Viewer, f: &DeviceFilter) -> Result<Vec<DeviceRow>, Error> {
    let (user, su) = viewer.params();
    // The visibility condition sits in the join, so a device running a hidden job is still
    // listed, only without its job.
    let sql = format!(
        "SELECT {RECORD_COLUMNS}, j.id AS job_id, j.description AS job_description
         FROM devices d LEFT JOIN jobs j ON j.id = d.current_job_id AND {}
         WHERE ($3::text IS NULL OR d.device_type = $3)
           AND ($4::device_health IS NULL OR d.health = $4)
           AND ($5::text IS NULL OR d.worker_host = $5)
           AND ($6::text IS NULL OR d.hostname = $6)
         ORDER BY d.hostname",
        Viewer::job_condition("j", 1)
    );
    let rows = c
        .query(
            &sql,
            &[
                &user,
                &su,
                &f.device_type,
                &f.health,
                &f.worker,
                &f.hostname,
            ],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let job: Option<JobId> = r.try_get("job_id")?;
            let name: Option<String> = r.try_get("job_description")?;
            Ok(DeviceRow {
                info: record_from_row(r)?,
                job: job.map(|id| (id, name.unwrap_or_default())),
            })
        })
        .collect()
}

/// One device, if it exists.
pub async fn get(
    c: &impl Db,
    viewer: &Viewer,
    hostname: &DeviceName,
) -> Result<Option<DeviceRow>, Error> {
    let f = DeviceFilter {
        hostname: Some(hostname.clone()),
        ..DeviceFilter::default()
    };
    Ok(list(c, viewer, &f).await?.into_iter().next())
}
