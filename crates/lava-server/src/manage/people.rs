//! `manage streams|users|tokens …`.

use std::io::BufRead as _;

use anyhow::{Context as _, bail};
use lava_common::fixture::{BundleStreamRecord, UserRecord};
use lava_common::ids::StreamPath;
use serde::Serialize;

use super::Ctx;
use super::output::{or_dash, print_rows};
use lava_cli::{Streams, Tokens, Users};

/// A bundle stream in `streams list`.
#[derive(Serialize)]
struct StreamRow {
    pathname: lava_common::ids::StreamPath,
    name: String,
    bundles: i64,
    is_public: bool,
    is_anonymous: bool,
    user: Option<String>,
}

/// A user in `users list` (never the password hash).
#[derive(Serialize)]
struct UserRow {
    username: String,
    email: String,
    is_staff: bool,
    is_superuser: bool,
    is_active: bool,
    date_joined: String,
}

/// A token in `tokens list` (never its secret: only its hash is stored).
#[derive(Serialize)]
struct TokenRow {
    id: i64,
    user: String,
    created: String,
    last_used: Option<String>,
    description: String,
}

/// Runs one `streams` subcommand.
pub async fn streams(ctx: &Ctx<'_>, command: Streams) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    match command {
        Streams::List(format) => {
            let rows: Vec<_> = lava_db::streams::list(&client)
                .await?
                .into_iter()
                .map(|s| {
                    let line = vec![
                        s.info.pathname.to_string(),
                        s.bundles.to_string(),
                        if s.info.is_public {
                            "public"
                        } else {
                            "private"
                        }
                        .to_string(),
                        if s.info.is_anonymous {
                            "anonymous"
                        } else {
                            "-"
                        }
                        .to_string(),
                    ];
                    let value = StreamRow {
                        pathname: s.info.pathname,
                        name: s.info.name,
                        bundles: s.bundles,
                        is_public: s.info.is_public,
                        is_anonymous: s.info.is_anonymous,
                        user: s.info.user,
                    };
                    (line, value)
                })
                .collect();
            print_rows(format.json, &rows)
        }
        Streams::Add {
            pathname,
            name,
            user,
            private,
        } => {
            lava_common::ids::check_stream_pathname(&pathname)?;
            let slug = pathname
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string();
            let record = BundleStreamRecord {
                name: name.unwrap_or_else(|| slug.clone()),
                slug,
                user,
                group: None,
                is_public: !private,
                is_anonymous: pathname.starts_with("/anonymous/"),
                pathname: StreamPath::from(pathname),
            };
            lava_db::streams::add(&client, &record).await?;
            println!("added bundle stream {}", record.pathname);
            Ok(())
        }
    }
}

/// Hashes a password with argon2 (PHC string format), as the web app's password reset does.
fn hash_password(password: &str) -> anyhow::Result<String> {
    crate::web::auth::hash_password(password).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Runs one `users` subcommand.
pub async fn users(ctx: &Ctx<'_>, command: Users) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    match command {
        Users::Add {
            name,
            email,
            staff,
            superuser,
            password_stdin,
        } => {
            if name.trim().is_empty() || name.contains(char::is_whitespace) {
                bail!("invalid username '{name}': it must be one word");
            }
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("cannot read the password")?;
                let pw = line.trim_end_matches(['\n', '\r']);
                if pw.is_empty() {
                    bail!("--password-stdin: standard input held no password");
                }
                hash_password(pw)?
            } else {
                String::new()
            };
            let record = UserRecord {
                username: name.clone(),
                email,
                first_name: String::new(),
                last_name: String::new(),
                password,
                is_staff: staff || superuser,
                is_superuser: superuser,
                is_active: true,
            };
            lava_db::users::add(&client, &record).await?;
            println!("added user '{name}'");
            Ok(())
        }
        Users::List(format) => {
            let yes = |b: bool, word: &str| if b { word.to_string() } else { "-".to_string() };
            let rows: Vec<_> = lava_db::users::list(&client)
                .await?
                .into_iter()
                .map(|u| {
                    let i = &u.info;
                    let line = vec![
                        i.username.clone(),
                        if i.email.is_empty() {
                            "-".into()
                        } else {
                            i.email.clone()
                        },
                        yes(i.is_staff, "staff"),
                        yes(i.is_superuser, "superuser"),
                        yes(i.is_active, "active"),
                    ];
                    let value = UserRow {
                        username: i.username.clone(),
                        email: i.email.clone(),
                        is_staff: i.is_staff,
                        is_superuser: i.is_superuser,
                        is_active: i.is_active,
                        date_joined: u.date_joined.to_rfc3339(),
                    };
                    (line, value)
                })
                .collect();
            print_rows(format.json, &rows)
        }
    }
}

/// Runs one `tokens` subcommand.
pub async fn tokens(ctx: &Ctx<'_>, command: Tokens) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    match command {
        Tokens::Add { user, description } => {
            let token = lava_common::token::generate();
            let id = lava_db::tokens::add(
                &client,
                &user,
                &description,
                &lava_common::token::hash(&token),
            )
            .await?;
            eprintln!("added token {id} for user '{user}'; the token (shown only this once) is:");
            println!("{token}");
            Ok(())
        }
        Tokens::List { user, format } => {
            let rows: Vec<_> = lava_db::tokens::list(&client, user.as_deref())
                .await?
                .into_iter()
                .map(|t| {
                    let used = t.last_used.map(|d| d.to_rfc3339());
                    let line = vec![
                        t.id.to_string(),
                        t.username.clone(),
                        t.created.to_rfc3339(),
                        or_dash(used.as_deref()),
                        t.description.clone(),
                    ];
                    let value = TokenRow {
                        id: t.id,
                        user: t.username,
                        created: t.created.to_rfc3339(),
                        last_used: used,
                        description: t.description,
                    };
                    (line, value)
                })
                .collect();
            print_rows(format.json, &rows)
        }
        Tokens::Rm { id } => {
            lava_db::tokens::remove(&client, id).await?;
            println!("removed token {id}");
            Ok(())
        }
    }
}
