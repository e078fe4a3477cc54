//! Failure tags in the admin interface (LAVA's `JobFailureTag`): the list with an add form,
//! and one tag's page to rename, describe or delete it. Superusers only: a tag's name is
//! what every job carrying it shows, in pages and REST, so renaming one changes the record
//! of past jobs. Names are checked by `lava_common::ids::check_failure_tag_name` (1 to 256
//! characters, no control characters) in `lava-db`, whose refusal comes back as the page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::super::AppState;
use super::super::auth::Caller;
use super::guard::{StaffPage, StaffPost};
use super::view::{self, OrPage as _};

/// The context of the list.
#[derive(Serialize)]
struct TagsPage {
    tags: Vec<TagRow>,
    log: Vec<view::LogRow>,
}

/// A tag as the pages show it; `id` is what REST lists in a job's `failure_tags`.
#[derive(Serialize)]
struct TagRow {
    id: i32,
    name: String,
    description: String,
}

impl From<lava_db::failure_tags::FailureTag> for TagRow {
    fn from(t: lava_db::failure_tags::FailureTag) -> TagRow {
        TagRow {
            id: t.id,
            name: t.name,
            description: t.description,
        }
    }
}

/// The context of one tag's page, with the admin log about it.
#[derive(Serialize)]
struct TagPage {
    tag: TagRow,
    log: Vec<view::LogRow>,
}

/// The 403 page unless `caller` is a superuser.
// The error is the finished page, made once per refused request: boxing it buys nothing.
#[allow(clippy::result_large_err)]
fn superuser(state: &AppState, caller: &Caller) -> Result<(), Response> {
    if caller.is_superuser {
        return Ok(());
    }
    tracing::warn!(user = %caller.username, "failure tag page refused");
    Err(view::forbidden(
        state,
        "Only a superuser may manage failure tags.",
    ))
}

/// The list of failure tags and the form to add one.
pub async fn list(
    State(state): State<AppState>,
    StaffPage(s): StaffPage,
) -> Result<Response, Response> {
    superuser(&state, &s.caller)?;
    let c = view::db(&state).await?;
    let tags = lava_db::failure_tags::list(&c).await.or_page(&state)?;
    drop(c);
    let log = view::recent_log(&state, 20).await?;
    let ctx = TagsPage {
        tags: tags.into_iter().map(TagRow::from).collect(),
        log,
    };
    Ok(view::page(
        &state,
        &s,
        "admin/failure_tags.html",
        &ctx,
        StatusCode::OK,
    ))
}

/// One tag: its edit and delete forms.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<i32>,
    StaffPage(s): StaffPage,
) -> Result<Response, Response> {
    superuser(&state, &s.caller)?;
    let c = view::db(&state).await?;
    let Some(tag) = lava_db::failure_tags::get(&c, id).await.or_page(&state)? else {
        return Err(view::fail(
            &state,
            StatusCode::NOT_FOUND,
            &format!("failure tag {id} was not found"),
        ));
    };
    let log = view::log_values(
        lava_db::admin_log::list(&c, Some(("failure_tag", &id.to_string())), 50)
            .await
            .or_page(&state)?,
    );
    let ctx = TagPage {
        tag: tag.into(),
        log,
    };
    Ok(view::page(
        &state,
        &s,
        "admin/failure_tag.html",
        &ctx,
        StatusCode::OK,
    ))
}

/// The add and edit form.
#[derive(Debug, serde::Deserialize)]
pub struct TagForm {
    /// The tag's name, trimmed.
    pub name: String,
    /// What it means, trimmed; may be empty.
    #[serde(default)]
    pub description: String,
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// An add or edit that may go ahead: the caller is a superuser and gave a reason; name and
/// description are the form's, trimmed (`lava-db` checks the name).
struct TagEdit<'a> {
    /// The reason, trimmed and not empty, for the admin log.
    reason: String,
    name: &'a str,
    description: &'a str,
}

impl TagForm {
    /// The checks `add` and `update` share, in the order they refuse: 403 for anyone but a
    /// superuser, then 400 for a missing reason.
    // The error is the finished page, as in `superuser`.
    #[allow(clippy::result_large_err)]
    fn checked(&self, state: &AppState, caller: &Caller) -> Result<TagEdit<'_>, Response> {
        superuser(state, caller)?;
        Ok(TagEdit {
            reason: view::reason(state, &self.reason)?,
            name: self.name.trim(),
            description: self.description.trim(),
        })
    }
}

/// Adds a failure tag.
pub async fn add(
    State(state): State<AppState>,
    post: StaffPost<TagForm>,
) -> Result<Response, Response> {
    let edit = post.form.checked(&state, &post.caller)?;
    let mut c = view::db(&state).await?;
    let tx = lava_db::begin(&mut c).await.or_page(&state)?;
    let id = lava_db::failure_tags::add(&tx, edit.name, edit.description)
        .await
        .or_page(&state)?;
    let action = format!("added failure tag '{}'", edit.name);
    view::commit_audited(
        &state,
        tx,
        &post.caller,
        ("failure_tag", &id.to_string()),
        &action,
        &edit.reason,
    )
    .await?;
    tracing::info!(
        %id, name = %edit.name, user = %post.caller.username, reason = %edit.reason,
        "failure tag added"
    );
    Ok(view::done("/admin/failure-tags/"))
}

/// Renames a failure tag or changes its description; jobs keep it (they hold its id).
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<i32>,
    post: StaffPost<TagForm>,
) -> Result<Response, Response> {
    let edit = post.form.checked(&state, &post.caller)?;
    let object = ("failure_tag", &*id.to_string());
    view::change(&state, &post.caller, object, &edit.reason, async |tx| {
        let Some(old) = lava_db::failure_tags::get(tx, id).await.or_page(&state)? else {
            let msg = format!("failure tag {id} was not found");
            return Err(view::fail(&state, StatusCode::NOT_FOUND, &msg));
        };
        lava_db::failure_tags::update(tx, id, edit.name, edit.description)
            .await
            .or_page(&state)?;
        Ok((format!("failure tag '{}' → '{}'", old.name, edit.name), ()))
    })
    .await?;
    Ok(view::done(&format!("/admin/failure-tags/{id}/")))
}

/// The delete form: only the reason.
#[derive(Debug, serde::Deserialize)]
pub struct DeleteForm {
    /// Why the tag goes, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Deletes a failure tag and takes it off every job.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i32>,
    post: StaffPost<DeleteForm>,
) -> Result<Response, Response> {
    superuser(&state, &post.caller)?;
    let reason = view::reason(&state, &post.form.reason)?;
    let object = ("failure_tag", &*id.to_string());
    view::change(&state, &post.caller, object, &reason, async |tx| {
        let name = lava_db::failure_tags::remove_id(tx, id)
            .await
            .or_page(&state)?;
        Ok((format!("deleted failure tag '{name}'"), ()))
    })
    .await?;
    Ok(view::done("/admin/failure-tags/"))
}
