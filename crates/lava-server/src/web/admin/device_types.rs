//! Device types in the admin interface: the list and the health check editor. A health check
//! is stored only when it parses as a job for this type; otherwise the form comes back with
//! the parser's message (which names the line or field) and nothing changes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use lava_common::ids::DeviceTypeName;
use serde::Serialize;

use super::super::AppState;
use super::guard::{Session, StaffPage, StaffPost};
use super::view::{self, OrPage as _};

/// The context of the device type list.
#[derive(Serialize)]
struct TypesPage {
    types: Vec<TypeRow>,
    log: Vec<view::LogRow>,
}

/// A device type in the list; a blank health check job counts as none.
#[derive(Serialize)]
struct TypeRow {
    name: DeviceTypeName,
    devices: i64,
    has_health_check: bool,
    disabled: bool,
}

/// The context of the health check editor; `error` says why the last post was refused.
#[derive(Serialize)]
struct EditorPage<'a> {
    name: &'a str,
    definition: &'a str,
    error: Option<&'a str>,
}

/// The device type list.
pub async fn list(
    State(state): State<AppState>,
    StaffPage(s): StaffPage,
) -> Result<Response, Response> {
    let c = view::db(&state).await?;
    let types: Vec<_> = lava_db::device_types::list(&c)
        .await
        .or_page(&state)?
        .into_iter()
        .map(|t| TypeRow {
            has_health_check: t
                .info
                .health_check_job
                .as_deref()
                .is_some_and(|j| !j.trim().is_empty()),
            disabled: t.info.disable_health_check,
            name: t.info.name,
            devices: t.devices,
        })
        .collect();
    drop(c);
    let log = view::recent_log(&state, 20).await?;
    let ctx = TypesPage { types, log };
    Ok(view::page(
        &state,
        &s,
        "admin/device_types.html",
        &ctx,
        StatusCode::OK,
    ))
}

fn editor(
    state: &AppState,
    s: &Session,
    name: &str,
    definition: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let ctx = EditorPage {
        name,
        definition,
        error,
    };
    view::page(state, s, "admin/device_type.html", &ctx, status)
}

/// The health check editor of one type.
pub async fn edit(
    State(state): State<AppState>,
    Path(name): Path<DeviceTypeName>,
    StaffPage(s): StaffPage,
) -> Result<Response, Response> {
    let c = view::db(&state).await?;
    let Some(t) = lava_db::device_types::get(&c, &name)
        .await
        .or_page(&state)?
    else {
        return Err(view::fail(
            &state,
            StatusCode::NOT_FOUND,
            &format!("device type '{name}' was not found"),
        ));
    };
    let job = t.info.health_check_job.unwrap_or_default();
    Ok(editor(&state, &s, &name, &job, None, StatusCode::OK))
}

/// What [`set_health_check`] reads from the device type's page.
#[derive(Debug, serde::Deserialize)]
pub struct HealthCheckForm {
    /// The job definition (JSON or YAML); empty removes the health check.
    #[serde(default)]
    pub definition: String,
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Checks a health check job for type `name`: it must parse, its callback tokens must be
/// maskable (the scheduler stores it like any job), and it must be for this type.
pub(crate) fn check(name: &str, definition: &str) -> Result<(), String> {
    let plan = lava_common::job::parse_job(definition).map_err(|e| e.to_string())?;
    let plan = lava_common::job::mask_secrets(definition, plan)
        .map_err(|e| e.to_string())?
        .plan;
    match plan.device_type.as_deref() {
        Some(t) if t == name => Ok(()),
        Some(t) => Err(format!(
            "device_type: the job is for device type '{t}', not '{name}'"
        )),
        None => Err(format!(
            "device_type: a health check must name its device type ('{name}')"
        )),
    }
}

/// Stores (or with an empty definition removes) a type's health check job.
pub async fn set_health_check(
    State(state): State<AppState>,
    Path(name): Path<DeviceTypeName>,
    post: StaffPost<HealthCheckForm>,
) -> Result<Response, Response> {
    let s = Session {
        caller: post.caller.clone(),
        csrf: post.csrf.clone(),
    };
    let definition = post.form.definition.replace("\r\n", "\n");
    let reason = match view::reason(&state, &post.form.reason) {
        Ok(r) => r,
        Err(_) => {
            let msg = "reason: a reason is required, it goes into the admin log";
            return Ok(editor(
                &state,
                &s,
                &name,
                &definition,
                Some(msg),
                StatusCode::BAD_REQUEST,
            ));
        }
    };
    let job = (!definition.trim().is_empty()).then_some(definition.as_str());
    if let Some(job) = job
        && let Err(msg) = check(&name, job)
    {
        tracing::info!(device_type = %name, error = %msg, "health check refused");
        return Ok(editor(
            &state,
            &s,
            &name,
            &definition,
            Some(&msg),
            StatusCode::BAD_REQUEST,
        ));
    }
    view::change(
        &state,
        &post.caller,
        ("device_type", &name),
        &reason,
        async |tx| {
            lava_db::device_types::set_health_check(tx, &name, job)
                .await
                .or_page(&state)?;
            let action = if job.is_some() {
                "health check set"
            } else {
                "health check removed"
            };
            Ok((action.to_string(), ()))
        },
    )
    .await?;
    Ok(view::done(&format!("/admin/device-types/{name}/")))
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn a_health_check_must_be_a_job_for_its_type() {
        let job = "job_name: hc\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {minutes: 1}\nactions: []\n";
        assert_eq!(check("kvm", job), Ok(()));
        let other = check("qemu", job).unwrap_err();
        assert!(
            other.contains("'kvm'") && other.contains("'qemu'"),
            "{other}"
        );
        let broken = check("kvm", "job_name: hc\ndevice_type: [\n").unwrap_err();
        assert!(broken.contains("line"), "{broken}");
    }
}
