//! Groups in the admin interface: add a group, put users in or take them out. Group
//! membership decides who sees group jobs, so staff who are not superusers manage only the
//! groups they belong to: nobody gives themselves (or a friend) sight of others' jobs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::super::AppState;
use super::guard::StaffPost;
use super::view::{self, OrPage as _};

/// The membership form: join or leave a group.
#[derive(Debug, serde::Deserialize)]
pub struct MembershipForm {
    /// The group's name.
    pub group: String,
    /// `join` or `leave`.
    pub action: String,
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Puts a user into a group or takes them out.
pub async fn membership(
    State(state): State<AppState>,
    Path(username): Path<String>,
    post: StaffPost<MembershipForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    let group = post.form.group.trim();
    view::change(&state, &post.caller, ("user", &username), &reason, async |tx| {
        if !post.caller.is_superuser
            && !lava_db::users::is_member(tx, post.caller.id, group)
                .await
                .or_page(&state)?
        {
            tracing::warn!(user = %post.caller.username, %group, target = %username, "group change refused");
            return Err(view::forbidden(
                &state,
                &format!("Only a superuser or a member of group '{group}' may change its members."),
            ));
        }
        match post.form.action.as_str() {
            "join" => lava_db::users::join_group(tx, &username, group).await,
            "leave" => lava_db::accounts::leave_group(tx, &username, group).await,
            other => {
                let msg = format!("action: '{other}' is neither join nor leave");
                return Err(view::fail(&state, StatusCode::BAD_REQUEST, &msg));
            }
        }
        .or_page(&state)?;
        Ok((format!("{} group {group}", post.form.action), ()))
    })
    .await?;
    Ok(view::done(&format!("/admin/users/{username}/")))
}

/// The new-group form.
#[derive(Debug, serde::Deserialize)]
pub struct GroupForm {
    /// The group's name.
    pub name: String,
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Adds a group.
pub async fn add_group(
    State(state): State<AppState>,
    post: StaffPost<GroupForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    let name = post.form.name.trim();
    if name.is_empty() {
        return Err(view::fail(
            &state,
            StatusCode::BAD_REQUEST,
            "name: a group needs a name",
        ));
    }
    view::change(&state, &post.caller, ("group", name), &reason, async |tx| {
        lava_db::users::add_group(tx, name).await.or_page(&state)?;
        Ok(("added".to_string(), ()))
    })
    .await?;
    Ok(view::done("/admin/users/"))
}
