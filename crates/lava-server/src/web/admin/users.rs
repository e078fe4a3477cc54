//! Users in the admin interface: add a user, change their flags, reset their password
//! (argon2, which also ends their sessions). Only superusers touch superuser accounts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use lava_common::fixture::UserRecord;
use lava_db::accounts::Flags;
use serde::Serialize;

use super::super::AppState;
use super::super::auth::{Caller, hash_password};
use super::super::throttle;
use super::guard::{StaffPage, StaffPost};
use super::view::{self, OrPage as _};

/// The context of the user list.
#[derive(Serialize)]
struct UsersPage {
    users: Vec<Account>,
    groups: Vec<GroupRow>,
    log: Vec<view::LogRow>,
}

/// A user's account flags (never the password hash).
#[derive(Serialize)]
struct Account {
    username: String,
    email: String,
    is_staff: bool,
    is_superuser: bool,
    is_active: bool,
}

impl Account {
    fn of(i: UserRecord) -> Account {
        Account {
            username: i.username,
            email: i.email,
            is_staff: i.is_staff,
            is_superuser: i.is_superuser,
            is_active: i.is_active,
        }
    }
}

/// A group and its members' names.
#[derive(Serialize)]
struct GroupRow {
    name: String,
    members: Vec<String>,
}

/// The context of one user's page: `groups` are those the caller may put them in.
#[derive(Serialize)]
struct UserPage {
    account: Account,
    member_of: Vec<String>,
    groups: Vec<String>,
}

/// The user list, the groups, and the forms to add either.
pub async fn list(
    State(state): State<AppState>,
    StaffPage(s): StaffPage,
) -> Result<Response, Response> {
    let c = view::db(&state).await?;
    let users: Vec<_> = lava_db::users::list(&c)
        .await
        .or_page(&state)?
        .into_iter()
        .map(|u| Account::of(u.info))
        .collect();
    let groups: Vec<_> = lava_db::accounts::groups(&c)
        .await
        .or_page(&state)?
        .into_iter()
        .map(|g| GroupRow {
            name: g.name,
            members: g.members,
        })
        .collect();
    drop(c);
    let log = view::recent_log(&state, 20).await?;
    let ctx = UsersPage { users, groups, log };
    Ok(view::page(
        &state,
        &s,
        "admin/users.html",
        &ctx,
        StatusCode::OK,
    ))
}

/// One user's page: flags, password reset, groups.
pub async fn show(
    State(state): State<AppState>,
    Path(username): Path<String>,
    StaffPage(s): StaffPage,
) -> Result<Response, Response> {
    let c = view::db(&state).await?;
    let Some(u) = lava_db::users::get(&c, &username).await.or_page(&state)? else {
        return Err(view::fail(
            &state,
            StatusCode::NOT_FOUND,
            &format!("user '{username}' was not found"),
        ));
    };
    let member_of = lava_db::users::groups_of(&c, &username)
        .await
        .or_page(&state)?;
    // The groups the caller may put people in: every group for a superuser, their own for
    // other staff (see `groups::membership`).
    let groups: Vec<_> = lava_db::accounts::groups(&c)
        .await
        .or_page(&state)?
        .into_iter()
        .filter(|g| s.caller.is_superuser || g.members.contains(&s.caller.username))
        .map(|g| g.name)
        .collect();
    let ctx = UserPage {
        account: Account::of(u.info),
        member_of,
        groups,
    };
    Ok(view::page(
        &state,
        &s,
        "admin/user.html",
        &ctx,
        StatusCode::OK,
    ))
}

/// The new-user form.
#[derive(Debug, serde::Deserialize)]
pub struct AddForm {
    /// One word.
    pub username: String,
    /// Trimmed; may be empty.
    #[serde(default)]
    pub email: String,
    /// Empty: no password login until one is set.
    #[serde(default)]
    pub password: String,
    /// Present (any value) when the box is ticked: a browser sends nothing for an unticked one.
    pub is_staff: Option<String>,
    /// Ticked (see `is_staff`): only a superuser may tick it, and it makes the user staff too.
    pub is_superuser: Option<String>,
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Whether `username` is a superuser (a 404 page when there is no such user). Staff who are
/// not superusers must not change a superuser's account: resetting its password would make
/// them one.
async fn superuser_guard(
    state: &AppState,
    c: &impl lava_db::Db,
    caller: &Caller,
    username: &str,
) -> Result<bool, Response> {
    let Some(u) = lava_db::users::get(c, username).await.or_page(state)? else {
        let msg = format!("user '{username}' was not found");
        return Err(view::fail(state, StatusCode::NOT_FOUND, &msg));
    };
    if u.info.is_superuser && !caller.is_superuser {
        tracing::warn!(user = %caller.username, target = %username, "superuser account change refused");
    }
    Ok(u.info.is_superuser)
}

/// An argon2 hash off the async threads, within the argon2 bound; an empty password stays
/// empty (no login).
async fn hash(state: &AppState, password: String) -> Result<String, Response> {
    if password.is_empty() {
        return Ok(String::new());
    }
    throttle::argon2(move || hash_password(&password))
        .await
        .map_err(|e| view::fail(state, StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))?
        .map_err(|e| view::fail(state, StatusCode::INTERNAL_SERVER_ERROR, &e))
}

/// Adds a user. Only a superuser may add a superuser.
pub async fn add(
    State(state): State<AppState>,
    post: StaffPost<AddForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    if post.form.is_superuser.is_some() && !post.caller.is_superuser {
        tracing::warn!(user = %post.caller.username, target = %post.form.username, "superuser creation refused");
        return Err(view::forbidden(
            &state,
            "Only a superuser may add a superuser.",
        ));
    }
    let f = post.form;
    let name = f.username.trim().to_string();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(view::fail(
            &state,
            StatusCode::BAD_REQUEST,
            &format!("username: '{name}' must be one word"),
        ));
    }
    let record = UserRecord {
        username: name.clone(),
        email: f.email.trim().to_string(),
        first_name: String::new(),
        last_name: String::new(),
        password: hash(&state, f.password).await?,
        is_staff: f.is_staff.is_some() || f.is_superuser.is_some(),
        is_superuser: f.is_superuser.is_some(),
        is_active: true,
    };
    view::change(&state, &post.caller, ("user", &name), &reason, async |tx| {
        lava_db::users::add(tx, &record).await.or_page(&state)?;
        Ok(("added".to_string(), ()))
    })
    .await?;
    Ok(view::done(&format!("/admin/users/{name}/")))
}

/// The flags form (checkboxes: absent means off).
#[derive(Debug, serde::Deserialize)]
pub struct FlagsForm {
    /// Present (any value) when the box is ticked: a browser sends nothing for an unticked one.
    pub is_staff: Option<String>,
    /// Ticked (see `is_staff`): only a superuser may change it; it implies staff.
    pub is_superuser: Option<String>,
    /// Ticked (see `is_staff`); an inactive user cannot log in.
    pub is_active: Option<String>,
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Sets a user's flags.
pub async fn update(
    State(state): State<AppState>,
    Path(username): Path<String>,
    post: StaffPost<FlagsForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    let f = &post.form;
    let flags = Flags {
        is_staff: f.is_staff.is_some() || f.is_superuser.is_some(),
        is_superuser: f.is_superuser.is_some(),
        is_active: f.is_active.is_some(),
    };
    view::change(
        &state,
        &post.caller,
        ("user", &username),
        &reason,
        async |tx| {
            // Only a superuser may make or unmake superusers, so staff cannot raise themselves.
            let was = superuser_guard(&state, tx, &post.caller, &username).await?;
            if !post.caller.is_superuser && (was || flags.is_superuser) {
                return Err(view::forbidden(
                    &state,
                    "Only a superuser may change a superuser's account or make a user a superuser.",
                ));
            }
            lava_db::accounts::set_flags(tx, &username, flags)
                .await
                .or_page(&state)?;
            let action = format!(
                "flags: staff {}, superuser {}, active {}",
                flags.is_staff, flags.is_superuser, flags.is_active
            );
            Ok((action, ()))
        },
    )
    .await?;
    Ok(view::done(&format!("/admin/users/{username}/")))
}

/// The password reset form.
#[derive(Debug, serde::Deserialize)]
pub struct PasswordForm {
    /// At least 8 characters; only its argon2 hash is stored, and the user's sessions end.
    pub password: String,
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Resets a user's password.
pub async fn password(
    State(state): State<AppState>,
    Path(username): Path<String>,
    post: StaffPost<PasswordForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    if post.form.password.len() < 8 {
        return Err(view::fail(
            &state,
            StatusCode::BAD_REQUEST,
            "password: use at least 8 characters",
        ));
    }
    let hashed = hash(&state, post.form.password).await?;
    view::change(
        &state,
        &post.caller,
        ("user", &username),
        &reason,
        async |tx| {
            if superuser_guard(&state, tx, &post.caller, &username).await?
                && !post.caller.is_superuser
            {
                return Err(view::forbidden(
                    &state,
                    "Only a superuser may reset a superuser's password.",
                ));
            }
            lava_db::accounts::set_password(tx, &username, &hashed)
                .await
                .or_page(&state)?;
            Ok(("password reset".to_string(), ()))
        },
    )
    .await?;
    Ok(view::done(&format!("/admin/users/{username}/")))
}
