//! API tokens: every user manages their own at `/api/tokens/` (LAVA's path); staff see
//! everyone's under `/admin/tokens/` and may delete any, but only a superuser makes a token
//! for another user (a token is that user's whole authority). A new token's secret is shown
//! once, on the page that answers the form; only its SHA-256 is stored.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::super::AppState;
use super::super::auth::Caller;
use super::guard::{Session, StaffPage, StaffPost, UserPage, UserPost};
use super::view::{self, OrPage as _};

/// The context of a token list: `new_token` carries a secret just made (shown this once);
/// `log` is only on the staff page.
#[derive(Serialize)]
struct TokensPage<'a> {
    tokens: Vec<TokenRow>,
    new_token: Option<NewToken<'a>>,
    log: Option<Vec<view::LogRow>>,
}

/// A token in the list (never its secret: only its hash is stored).
#[derive(Serialize)]
struct TokenRow {
    id: i64,
    username: String,
    description: String,
    created: String,
    last_used: Option<String>,
}

/// A token just made, with its secret.
#[derive(Serialize)]
struct NewToken<'a> {
    username: &'a str,
    secret: &'a str,
}

async fn token_values(state: &AppState, username: Option<&str>) -> Result<Vec<TokenRow>, Response> {
    let c = view::db(state).await?;
    Ok(lava_db::tokens::list(&c, username)
        .await
        .or_page(state)?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            username: t.username,
            description: t.description,
            created: t.created.format("%Y-%m-%d %H:%M").to_string(),
            last_used: t.last_used.map(|d| d.format("%Y-%m-%d %H:%M").to_string()),
        })
        .collect())
}

/// The page listing tokens, with `secret` when one was just made.
async fn tokens_page(
    state: &AppState,
    s: &Session,
    staff: bool,
    secret: Option<(&str, &str)>,
) -> Result<Response, Response> {
    let owner = (!staff).then_some(s.caller.username.as_str());
    let tokens = token_values(state, owner).await?;
    let new_token = secret.map(|(username, secret)| NewToken { username, secret });
    let (template, log) = if staff {
        (
            "admin/tokens.html",
            Some(view::recent_log(state, 20).await?),
        )
    } else {
        ("accounts/tokens.html", None)
    };
    let ctx = TokensPage {
        tokens,
        new_token,
        log,
    };
    Ok(view::page(state, s, template, &ctx, StatusCode::OK))
}

/// Makes a token for `username` and records it; returns the secret.
async fn create(
    state: &AppState,
    caller: &Caller,
    username: &str,
    description: &str,
    reason: &str,
) -> Result<String, Response> {
    let secret = lava_common::token::generate();
    let mut c = view::db(state).await?;
    let tx = lava_db::begin(&mut c).await.or_page(state)?;
    let id = lava_db::tokens::add(
        &tx,
        username,
        description,
        &lava_common::token::hash(&secret),
    )
    .await
    .or_page(state)?;
    let action = format!("token {id} created for {username}");
    view::commit_audited(
        state,
        tx,
        caller,
        ("token", &id.to_string()),
        &action,
        reason,
    )
    .await?;
    Ok(secret)
}

/// The caller's own tokens.
pub async fn own(
    State(state): State<AppState>,
    UserPage(s): UserPage,
) -> Result<Response, Response> {
    tokens_page(&state, &s, false, None).await
}

/// The form of a new own token.
#[derive(Debug, serde::Deserialize)]
pub struct OwnForm {
    /// What it is for (also the reason in the admin log).
    #[serde(default)]
    pub description: String,
}

/// Makes a token for the caller and shows it once.
pub async fn create_own(
    State(state): State<AppState>,
    post: UserPost<OwnForm>,
) -> Result<Response, Response> {
    let d = post.form.description.trim();
    let name = post.caller.username.clone();
    let secret = create(&state, &post.caller, &name, d, d).await?;
    let s = Session {
        caller: post.caller,
        csrf: post.csrf,
    };
    tokens_page(&state, &s, false, Some((&name, &secret))).await
}

/// A form with an optional reason.
#[derive(Debug, serde::Deserialize)]
pub struct DeleteForm {
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Deletes one of the caller's own tokens.
pub async fn delete_own(
    State(state): State<AppState>,
    Path(token): Path<i64>,
    post: UserPost<DeleteForm>,
) -> Result<Response, Response> {
    let reason = post.form.reason.trim();
    let object = ("token", &*token.to_string());
    view::change(&state, &post.caller, object, reason, async |tx| {
        lava_db::accounts::remove_own_token(tx, token, post.caller.id)
            .await
            .or_page(&state)?;
        Ok(("deleted".to_string(), ()))
    })
    .await?;
    Ok(view::done("/api/tokens/"))
}

/// Every user's tokens.
pub async fn all(
    State(state): State<AppState>,
    StaffPage(s): StaffPage,
) -> Result<Response, Response> {
    tokens_page(&state, &s, true, None).await
}

/// The form of a token for any user.
#[derive(Debug, serde::Deserialize)]
pub struct ForForm {
    /// The user the token acts as: the caller, or anyone when the caller is a superuser.
    pub username: String,
    /// What it is for, shown in the token lists.
    #[serde(default)]
    pub description: String,
    /// Why the change is made, for the admin log.
    #[serde(default)]
    pub reason: String,
}

/// Makes a token for a user and shows it once: staff for themselves, superusers for anyone.
pub async fn create_for(
    State(state): State<AppState>,
    post: StaffPost<ForForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    let f = &post.form;
    let user = f.username.trim();
    if user != post.caller.username && !post.caller.is_superuser {
        tracing::warn!(user = %post.caller.username, target = %user, "token for another user refused");
        return Err(view::forbidden(
            &state,
            "Only a superuser may make a token for another user.",
        ));
    }
    let secret = create(&state, &post.caller, user, f.description.trim(), &reason).await?;
    let s = Session {
        caller: post.caller.clone(),
        csrf: post.csrf.clone(),
    };
    tokens_page(&state, &s, true, Some((user, &secret))).await
}

/// Deletes any token.
pub async fn delete_any(
    State(state): State<AppState>,
    Path(token): Path<i64>,
    post: StaffPost<DeleteForm>,
) -> Result<Response, Response> {
    let reason = view::reason(&state, &post.form.reason)?;
    let object = ("token", &*token.to_string());
    view::change(&state, &post.caller, object, &reason, async |tx| {
        lava_db::tokens::remove(tx, token).await.or_page(&state)?;
        Ok(("deleted".to_string(), ()))
    })
    .await?;
    Ok(view::done("/admin/tokens/"))
}
