//! The seed-era calls: `scheduler.job_status`, `scheduler.all_devices`,
//! `scheduler.all_device_types` and the dashboard's bundle streams (`dashboard.*`), which
//! scripts written for LAVA of that time still make.

use lava_common::fixture::BundleStreamRecord;
use lava_common::ids::{DeviceName, DeviceTypeName, JobId, StreamPath};
use lava_common::state::{DeviceHealth, DeviceState, JobHealth, JobState};
use serde::Serialize;
use sha2::Digest as _;

use super::args::Args;
use super::codec::Value;
use super::{Ctx, Fault};

/// The reply of `scheduler.job_status`.
#[derive(Serialize)]
struct JobStatus {
    job_status: &'static str,
    /// `""` while the job has filed no bundle.
    bundle_sha1: String,
}

/// `scheduler.job_status(job_id)` → `{job_status, bundle_sha1}` with the old status words.
/// The bundle hash is the SHA-256 this server files bundles under.
pub async fn job_status(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let id = a.job_id(0, "job_id")?;
    let c = ctx.db().await?;
    let job = lava_db::job_list::get(&c, &ctx.viewer(), id)
        .await?
        .ok_or_else(|| Fault::job_not_found(id))?;
    let status = match (job.state, job.health) {
        (JobState::Submitted | JobState::Scheduled, _) => "Submitted",
        (JobState::Running, _) => "Running",
        (JobState::Canceling, _) => "Canceling",
        (JobState::Finished, JobHealth::Complete) => "Complete",
        (JobState::Finished, JobHealth::Canceled) => "Canceled",
        (JobState::Finished, _) => "Incomplete",
    };
    let sha = lava_db::bundles::sha_of_job(&c, id).await?;
    Ok(Value::from_serialize(&JobStatus {
        job_status: status,
        bundle_sha1: sha.unwrap_or_default(),
    })?)
}

/// The old single device status word.
fn status(state: DeviceState, health: DeviceHealth) -> &'static str {
    match (health, state) {
        (DeviceHealth::Retired, _) => "retired",
        (_, DeviceState::Running) => "running",
        (_, DeviceState::Reserved) => "reserved",
        (DeviceHealth::Bad | DeviceHealth::Maintenance, _) => "offline",
        _ => "idle",
    }
}

/// A row of `scheduler.all_devices`: an array, not a struct.
type DeviceRow = (DeviceName, DeviceTypeName, &'static str, Option<JobId>);

/// `scheduler.all_devices()` → `[[hostname, device_type, status, current_job|nil], …]`.
pub async fn all_devices(ctx: &Ctx) -> Result<Value, Fault> {
    let c = ctx.db().await?;
    let devices = lava_db::devices::list(&c).await?;
    let rows: Vec<DeviceRow> = devices
        .into_iter()
        .map(|d| {
            let status = status(d.info.state, d.info.health);
            (d.info.hostname, d.info.device_type, status, d.current_job)
        })
        .collect();
    Ok(Value::from_serialize(&rows)?)
}

/// A row of `scheduler.all_device_types`: device counts by old status word.
#[derive(Serialize)]
struct TypeCounts {
    idle: i64,
    /// Running or reserved.
    busy: i64,
    offline: i64,
    name: DeviceTypeName,
}

/// `scheduler.all_device_types()` → `[{name, idle, busy, offline}, …]`.
pub async fn all_device_types(ctx: &Ctx) -> Result<Value, Fault> {
    let c = ctx.db().await?;
    let types = lava_db::device_types::list(&c).await?;
    let devices = lava_db::devices::list(&c).await?;
    let rows: Vec<TypeCounts> = types
        .into_iter()
        .map(|t| {
            let count = |want: &[&str]| {
                devices
                    .iter()
                    .filter(|d| d.info.device_type == t.info.name)
                    .filter(|d| want.contains(&status(d.info.state, d.info.health)))
                    .count() as i64
            };
            TypeCounts {
                idle: count(&["idle"]),
                busy: count(&["running", "reserved"]),
                offline: count(&["offline"]),
                name: t.info.name,
            }
        })
        .collect();
    Ok(Value::from_serialize(&rows)?)
}

/// A row of `dashboard.streams`; `user` and `group` are `""` when unset.
#[derive(Serialize)]
struct StreamRow {
    pathname: String,
    name: String,
    user: String,
    group: String,
    bundle_count: i64,
}

/// `dashboard.streams()`: the public streams and the caller's own.
pub async fn streams(ctx: &Ctx) -> Result<Value, Fault> {
    let c = ctx.db().await?;
    let me = ctx.caller.as_ref().map(|u| u.username.as_str());
    let streams = lava_db::streams::list(&c).await?;
    let rows: Vec<StreamRow> = streams
        .into_iter()
        .filter(|s| s.info.is_public || (me.is_some() && s.info.user.as_deref() == me))
        .map(|s| StreamRow {
            pathname: s.info.pathname.into(),
            name: s.info.name,
            user: s.info.user.unwrap_or_default(),
            group: s.info.group.unwrap_or_default(),
            bundle_count: s.bundles,
        })
        .collect();
    Ok(Value::from_serialize(&rows)?)
}

/// `dashboard.make_stream(pathname, name)` → the pathname. Streams under `/anonymous/` take
/// uploads from anyone; others belong to the caller.
pub async fn make_stream(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let user = ctx.user()?.clone();
    let pathname = a.string(0, "pathname")?;
    let name = a.opt_string(1, "name")?.unwrap_or_default();
    lava_common::ids::check_stream_pathname(&pathname)
        .map_err(|e| Fault::new(400, e.to_string()))?;
    let anonymous = pathname.starts_with("/anonymous/");
    let slug = pathname
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let record = BundleStreamRecord {
        pathname: StreamPath::from(pathname.clone()),
        name,
        slug: slug.to_string(),
        user: (!anonymous).then(|| user.username.clone()),
        group: None,
        is_public: !pathname.starts_with("/private/"),
        is_anonymous: anonymous,
    };
    let c = ctx.db().await?;
    match lava_db::streams::add(&c, &record).await {
        Ok(()) => Ok(Value::Str(pathname)),
        Err(lava_db::Error::AlreadyExists { .. }) => Err(Fault::new(
            409,
            format!("Stream at {pathname} already exists"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `dashboard.put(content, content_filename, pathname)` → the content's hash. The content
/// must be JSON; the stream must be anonymous or the caller's (or the caller a superuser).
pub async fn put(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let content = a.string(0, "content")?;
    let _filename = a.string(1, "content_filename")?;
    let pathname = a.string(2, "pathname")?;
    let json: serde_json::Value = serde_json::from_str(&content)
        .map_err(|e| Fault::new(400, format!("Invalid bundle content: {e}")))?;
    let c = ctx.db().await?;
    let stream = lava_db::streams::get(&c, &StreamPath::from(pathname.as_str()))
        .await?
        .ok_or_else(|| Fault::new(404, format!("Bundle stream {pathname} does not exist")))?;
    let allowed = stream.info.is_anonymous
        || ctx.caller.as_ref().is_some_and(|u| {
            u.is_superuser || stream.info.user.as_deref() == Some(u.username.as_str())
        });
    if !allowed {
        return Err(match ctx.caller {
            None => Fault::anonymous(),
            Some(_) => Fault::new(403, "Permission denied."),
        });
    }
    let sha: String = sha2::Sha256::digest(content.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let by = ctx.caller.as_ref().map(|u| u.id);
    match lava_db::bundles::put(&c, &StreamPath::from(pathname.as_str()), &json, &sha, by).await {
        Ok(_) => Ok(Value::Str(sha)),
        Err(lava_db::Error::AlreadyExists { .. }) => Err(Fault::new(
            409,
            format!("Bundle {sha} is already in {pathname}"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The reply of `dashboard.get`.
#[derive(Serialize)]
struct Bundle {
    content: String,
    content_filename: String,
}

/// `dashboard.get(content_sha1)` → `{content, content_filename}` for a bundle in a public
/// stream (or the caller's).
pub async fn get(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let sha = a.string(0, "content_sha1")?;
    let c = ctx.db().await?;
    let not_found = || Fault::new(404, format!("Bundle {sha} does not exist"));
    let (pathname, content) = lava_db::bundles::by_sha(&c, &sha)
        .await?
        .ok_or_else(not_found)?;
    let stream = lava_db::streams::get(&c, &pathname)
        .await?
        .ok_or_else(not_found)?;
    let me = ctx.caller.as_ref();
    let visible = stream.info.is_public
        || me.is_some_and(|u| {
            u.is_superuser || stream.info.user.as_deref() == Some(u.username.as_str())
        });
    if !visible {
        return Err(not_found());
    }
    Ok(Value::from_serialize(&Bundle {
        content: content.to_string(),
        content_filename: format!("{sha}.json"),
    })?)
}
