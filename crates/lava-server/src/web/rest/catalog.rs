//! `/api/v0.2/tags/`, `aliases/` and `permissions/…/`: the names admins give devices and
//! device types. Every change is in the admin log with who made it and "through the REST API".

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::super::AppState;
use super::super::auth::{Auth, Caller};
use super::super::error::ApiError;
use super::{Paging, no_credentials, no_permission, not_found, ok};
use crate::web::replies::{AliasReply, TagReply};
use crate::web::xmlrpc::methods::Perm;

/// The reason written in the admin log for changes made here.
pub const REASON: &str = "through the REST API";

/// The caller, if `perm` lets them in: LAVA's 403 bodies otherwise.
pub fn require(auth: &Auth, perm: Perm) -> Result<Caller, ApiError> {
    let who = auth.caller.clone().ok_or_else(no_credentials)?;
    let allowed = match perm {
        Perm::Anyone | Perm::User => true,
        Perm::Staff => who.is_staff || who.is_superuser,
        Perm::Superuser => who.is_superuser,
    };
    if allowed {
        Ok(who)
    } else {
        Err(no_permission())
    }
}

/// A 400 naming the field at fault, in DRF's shape.
pub fn bad(field: &str, msg: impl Into<String>) -> ApiError {
    ApiError::field(field, msg)
}

/// The string field `name` of a JSON object body; `required` makes its absence a 400.
pub fn field(body: &Value, name: &str, required: bool) -> Result<Option<String>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) if required => Err(bad(name, "This field is required.")),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(name, "Not a valid string.")),
    }
}

/// Runs `change` in a transaction that also records `action` on the object in the admin log.
pub async fn logged<F>(
    state: &AppState,
    who: &Caller,
    object: (&str, &str),
    action: &str,
    change: F,
) -> Result<(), ApiError>
where
    F: AsyncFnOnce(&lava_db::Transaction<'_>) -> Result<(), lava_db::Error>,
{
    let mut c = state.pool.get().await.map_err(lava_db::Error::from)?;
    let client: &mut lava_db::Client = &mut c;
    let tx = client.transaction().await.map_err(lava_db::Error::from)?;
    change(&tx).await?;
    let entry = lava_db::admin_log::Change {
        user_id: who.id,
        username: &who.username,
        object_type: object.0,
        object_id: object.1,
        action,
        reason: REASON,
    };
    lava_db::admin_log::record(&tx, &entry).await?;
    tx.commit().await.map_err(lava_db::Error::from)?;
    tracing::info!(object = object.1, user = %who.username, action, "changed through the REST API");
    Ok(())
}

fn tag_json(t: &lava_db::tags::Tag) -> TagReply<'_> {
    TagReply::from(t)
}

/// `GET /api/v0.2/tags/`.
pub async fn tags_list(
    State(state): State<AppState>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let c = state.db().await?;
    let tags = lava_db::tags::list(&c).await?;
    Ok(ok(paging.slice(&tags, tag_json)))
}

/// `GET /api/v0.2/tags/<name>/`.
pub async fn tags_show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let c = state.db().await?;
    let t = lava_db::tags::get(&c, &name).await?.ok_or_else(not_found)?;
    Ok(ok(tag_json(&t.tag)))
}

/// `POST /api/v0.2/tags/` with `{"name", "description"?}`.
pub async fn tags_create(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let who = require(&auth, Perm::Staff)?;
    let name = field(&body, "name", true)?.unwrap_or_default();
    let description = field(&body, "description", false)?;
    let d = description.clone();
    logged(&state, &who, ("tag", &name), "added", async |tx| {
        lava_db::tags::add(tx, &name, d.as_deref()).await
    })
    .await
    .map_err(|e| conflict_as_field(e, "name"))?;
    let t = lava_db::tags::Tag { name, description };
    Ok((StatusCode::CREATED, Json(tag_json(&t))).into_response())
}

/// `DELETE /api/v0.2/tags/<name>/`: 204.
pub async fn tags_delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let who = require(&auth, Perm::Staff)?;
    logged(&state, &who, ("tag", &name), "deleted", async |tx| {
        lava_db::tags::delete(tx, &name).await
    })
    .await
    .map_err(missing_as_404)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A 409 or 400 from the database as DRF's 400 on `field`.
fn conflict_as_field(e: ApiError, name: &str) -> ApiError {
    if matches!(e.status, StatusCode::CONFLICT | StatusCode::BAD_REQUEST) {
        bad(name, e.text())
    } else {
        e
    }
}

fn missing_as_404(e: ApiError) -> ApiError {
    if e.status == StatusCode::NOT_FOUND {
        not_found()
    } else {
        e
    }
}

fn alias_json(a: &lava_db::aliases::Alias) -> AliasReply<'_> {
    AliasReply::from(a)
}

/// `GET /api/v0.2/aliases/`.
pub async fn aliases_list(
    State(state): State<AppState>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let c = state.db().await?;
    let aliases = lava_db::aliases::list(&c).await?;
    Ok(ok(paging.slice(&aliases, alias_json)))
}

/// `GET /api/v0.2/aliases/<name>/`.
pub async fn aliases_show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let c = state.db().await?;
    let a = lava_db::aliases::get(&c, &name)
        .await?
        .ok_or_else(not_found)?;
    Ok(ok(alias_json(&a)))
}

/// `POST /api/v0.2/aliases/` with `{"name", "device_type"}`.
pub async fn aliases_create(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let who = require(&auth, Perm::Staff)?;
    let name = field(&body, "name", true)?.unwrap_or_default();
    let device_type = field(&body, "device_type", true)?.unwrap_or_default();
    let action = format!("added for {device_type}");
    logged(&state, &who, ("alias", &name), &action, async |tx| {
        lava_db::aliases::add(tx, &name, &device_type).await
    })
    .await
    .map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            bad("device_type", e.text())
        } else {
            conflict_as_field(e, "name")
        }
    })?;
    let a = lava_db::aliases::Alias { name, device_type };
    Ok((StatusCode::CREATED, Json(alias_json(&a))).into_response())
}

/// `DELETE /api/v0.2/aliases/<name>/`: 204.
pub async fn aliases_delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let who = require(&auth, Perm::Staff)?;
    logged(&state, &who, ("alias", &name), "deleted", async |tx| {
        lava_db::aliases::delete(tx, &name, None).await
    })
    .await
    .map_err(missing_as_404)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v0.2/permissions/devicetypes/` and `…/devices/`: this server keeps no group
/// permissions on devices or types (job visibility decides who sees what), so the honest
/// answer is an empty list.
pub async fn permissions_list(paging: Paging) -> Result<Response, ApiError> {
    Ok(ok(paging.envelope(0, Vec::<Value>::new())))
}
