//! `lava-server manage …`: each subcommand in its own module, each change in one transaction.

mod add_device;
mod archive;
mod data;
mod device_types;
mod devices;
mod failure_tags;
mod import_lava;
mod jobs;
mod output;
mod people;
mod workers;

use anyhow::Context as _;
use lava_common::settings::Settings;

use lava_cli::Manage;

/// What every subcommand needs: the settings, and a way to reach the database.
pub struct Ctx<'a> {
    /// The loaded settings.
    pub settings: &'a Settings,
}

impl Ctx<'_> {
    /// Opens a database connection, naming where the URL came from when it fails.
    pub async fn client(&self) -> anyhow::Result<lava_db::Client> {
        lava_db::connect(&self.settings.database_url).await.with_context(|| {
            format!(
                "cannot connect to the database at {} (set database.url in {} or LAVA_DATABASE_URL)",
                redact(&self.settings.database_url),
                self.settings.settings_file.display()
            )
        })
    }
}

/// Takes [`lava_db::LOG_FILES_LOCK`] on `client` for as long as it stays open, or refuses:
/// `what` (this command) cannot run while `other` holds it.
async fn hold_log_files_lock(client: &lava_db::Client, what: &str) -> anyhow::Result<()> {
    if !lava_db::try_advisory_lock(client, lava_db::LOG_FILES_LOCK).await? {
        anyhow::bail!(
            "{what} cannot start: another `manage jobs rm` or `manage import-lava --job-output` \
             is writing or removing job log directories; run it again when that one has finished"
        );
    }
    Ok(())
}

/// Hides the password of a database URL for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Runs one `manage` subcommand.
pub async fn run(command: Manage, settings: &Settings) -> anyhow::Result<()> {
    let ctx = Ctx { settings };
    match command {
        Manage::Migrate => data::migrate(&ctx).await,
        Manage::Loaddata { files } => data::loaddata(&ctx, &files).await,
        Manage::ImportLava(args) => import_lava::run(&ctx, &args).await,
        Manage::Dumpdata { models, indent } => data::dumpdata(&ctx, &models, indent).await,
        Manage::Submit { file, user } => jobs::submit(&ctx, &file, user.as_deref()).await,
        Manage::Jobs(c) => jobs::run(&ctx, c).await,
        Manage::AddDevice(args) => add_device::run(&ctx, &args).await,
        Manage::DeviceTypes(c) => device_types::run(&ctx, c).await,
        Manage::Devices(c) => devices::run(&ctx, c).await,
        Manage::Streams(c) => people::streams(&ctx, c).await,
        Manage::Users(c) => people::users(&ctx, c).await,
        Manage::Tokens(c) => people::tokens(&ctx, c).await,
        Manage::Workers(c) => workers::run(&ctx, c).await,
        Manage::FailureTags(c) => failure_tags::run(&ctx, c).await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            super::redact("postgresql://u:secret@h/db"),
            "postgresql://u:***@h/db"
        );
        assert_eq!(super::redact("postgresql://u@h/db"), "postgresql://u@h/db");
    }
}
