//! `lava-server manage import-lava`: brings a LAVA 2023 lab over. Its files (device
//! dictionaries, device-type templates, health checks, the workers' `dispatcher.d`) and, from
//! a `dumpdata` dump, its users, groups, tags, aliases, device types, workers and devices.
//!
//! Everything is read and checked first; then the changes are worked out against what is
//! here (only what differs is a change, so running it again changes nothing), printed, and
//! with `--dry-run` nothing more. Otherwise the database changes are made in one transaction
//! and the files staged beside their places, renamed in once the transaction has committed.

mod changes;
mod history;
mod logs;
mod tree;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use lava_common::fixture::lava_dump::LabDump;

use super::Ctx;
use changes::{Change, Records};
use lava_cli::ImportLava;
use tree::Tree;

/// Runs the import.
pub async fn run(ctx: &Ctx<'_>, args: &ImportLava) -> anyhow::Result<()> {
    if args.with_history && args.dump.is_none() {
        bail!("--with-history needs --dump: the history is in the old server's database");
    }
    if let Some(dir) = &args.job_output
        && !dir.is_dir()
    {
        bail!("--job-output {}: not a directory", dir.display());
    }
    let tree = Tree::read(&args.dispatcher_config, args.dispatcher_d.as_deref())?;
    for w in &tree.warnings {
        eprintln!("warning: {w}");
    }
    check_dictionaries(ctx, &tree);
    let mut client = ctx.client().await?;
    if args.job_output.is_some() {
        super::hold_log_files_lock(&client, "manage import-lava --job-output").await?;
    }
    let tx = client.transaction().await?;
    let (records, history) = match &args.dump {
        Some(file) if args.with_history => {
            let (records, staged) = history::stage(&tx, file).await?;
            (records, Some(staged))
        }
        Some(file) => (read_dump(file)?, None),
        None => (Records::default(), None),
    };
    let changes = changes::plan(&tx, ctx.settings, &tree, &records).await?;
    for change in &changes {
        println!("{change}");
    }
    let source = args
        .dump
        .as_deref()
        .unwrap_or(&args.dispatcher_config)
        .display()
        .to_string();
    changes::apply(&tx, &changes, &source).await?;
    let imported = match &history {
        Some(staged) => history::finish(&tx, staged).await?,
        None => 0,
    };
    let logs = match (&history, &args.job_output) {
        (Some(_), Some(dir)) => {
            let store = ctx.settings.jobs_dir();
            let max_line = ctx.settings.limits.log_line_bytes;
            let r = logs::import(&tx, dir, &store, max_line, args.dry_run).await?;
            let verb = if args.dry_run { "found" } else { "copied" };
            println!(
                "job logs: {} {verb} ({} bytes), {} missing, {} refused (over 8 GiB), {} line(s) cut to limits.log_line_bytes",
                r.copied, r.bytes, r.missing, r.refused, r.cut
            );
            r
        }
        _ => logs::LogReport::default(),
    };
    if changes.is_empty() && imported == 0 && logs.copied == 0 {
        println!("nothing to change: this lab is already here");
        return Ok(());
    }
    if args.dry_run {
        // The transaction is dropped: everything above is rolled back.
        println!(
            "dry run: {} change(s), {imported} job(s) of history and {} job log(s), nothing written",
            changes.len(),
            logs.copied
        );
        return Ok(());
    }
    let staged = stage(&changes)?;
    if let Err(e) = tx.commit().await {
        staged.discard();
        return Err(e).context("nothing was imported");
    }
    staged.install()?;
    println!(
        "{} change(s) made, {imported} job(s) of history and {} job log(s) imported",
        changes.len(),
        logs.copied
    );
    for change in &changes {
        if let Change::Worker { record, new: true } = change {
            println!(
                "worker {0} has no token yet: `lava-server manage workers add {0}` prints one",
                record.hostname
            );
        }
    }
    Ok(())
}

/// Reads the dump, saying what of it is not brought over.
fn read_dump(file: &Path) -> anyhow::Result<Records> {
    let reader =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let dump = LabDump::read(reader).with_context(|| format!("{}", file.display()))?;
    for (model, n) in &dump.history {
        eprintln!(
            "note: {}: {n} {model} record(s) of history not imported (add --with-history)",
            file.display()
        );
    }
    records_of(file, &dump)
}

/// The dump's configuration, typed; says which models are left out.
fn records_of(file: &Path, dump: &LabDump) -> anyhow::Result<Records> {
    let items = dump
        .items()
        .with_context(|| format!("{}: nothing was imported", file.display()))?;
    for w in &items.warnings {
        eprintln!("warning: {}: {w}", file.display());
    }
    note_foreign_passwords(file, &items.items);
    for (model, n) in &dump.skipped {
        eprintln!(
            "note: {}: {n} {model} record(s) not imported (not part of a lab's configuration here)",
            file.display()
        );
    }
    Ok(Records::new(&items.items, dump))
}

/// Says which users keep a password hash that no login here can match: Django's PBKDF2 and
/// argon2 hashes are checked at login (and then replaced, see `web::django_password`); any
/// other form (bcrypt, a broken hash) is kept as it is but matches nothing, so those users
/// log in with API tokens until an admin sets them a password. (LAVA's `lava-health` has no
/// usable password at all: a string without an algorithm.)
fn note_foreign_passwords(file: &Path, items: &[(usize, lava_common::fixture::Item)]) {
    let names: Vec<&str> = items
        .iter()
        .filter_map(|(_, item)| match item {
            lava_common::fixture::Item::User(u)
                if u.password.contains('$')
                    && !u.password.starts_with('$')
                    && crate::web::django_password::DjangoHash::parse(&u.password).is_none() =>
            {
                Some(u.username.as_str())
            }
            _ => None,
        })
        .collect();
    if names.is_empty() {
        return;
    }
    let shown: Vec<&str> = names.iter().take(10).copied().collect();
    eprintln!(
        "note: {}: {} user(s) ({}{}) keep a password hash this server cannot check (it \
         checks its own argon2 hashes and Django's pbkdf2_sha256, pbkdf2_sha1 and argon2): \
         they log in with API tokens until an admin sets a password on the admin interface's \
         user page",
        file.display(),
        names.len(),
        shown.join(", "),
        if names.len() > shown.len() {
            ", …"
        } else {
            ""
        }
    );
}

/// Warns about each dictionary that does not render to a device this dispatcher runs: it is
/// still imported (LAVA holds it), and its jobs fail with the same message until it is fixed.
fn check_dictionaries(ctx: &Ctx<'_>, tree: &Tree) {
    let host = lava_common::host_paths::HostPaths {
        root: ctx.settings.root.clone(),
        dispatcher_etc: ctx.settings.dispatcher_etc.clone(),
    };
    let mut dirs = vec![tree.templates_dir.clone()];
    dirs.extend(lava_common::jinja::search_path(&host));
    dirs.push(ctx.settings.share.join("device-types"));
    for d in &tree.devices {
        let device = lava_common::device::DeviceSource::dictionary(&d.path, &dirs)
            .and_then(|s| s.device(&serde_json::Map::new()));
        if let Err(e) = device {
            eprintln!("warning: {}: {e}", d.path.display());
        }
    }
}

/// Files written beside their places, waiting to be renamed in.
struct Staged(Vec<(PathBuf, PathBuf)>);

fn stage(changes: &[Change]) -> anyhow::Result<Staged> {
    let mut staged = Staged(Vec::new());
    for change in changes {
        let Change::File { path, text, .. } = change else {
            continue;
        };
        match crate::conffiles::stage(path, text) {
            Ok(temp) => staged.0.push((temp, path.clone())),
            Err(e) => {
                staged.discard();
                return Err(anyhow::anyhow!(
                    "cannot write beside {}: {e}; nothing was imported",
                    path.display()
                ));
            }
        }
    }
    Ok(staged)
}

impl Staged {
    fn discard(self) {
        for (temp, _) in self.0 {
            let _ = std::fs::remove_file(temp);
        }
    }

    fn install(self) -> anyhow::Result<()> {
        for (temp, path) in &self.0 {
            crate::conffiles::install(temp, path).with_context(|| {
                format!(
                    "cannot rename {} to {} (the database is imported: run the import again)",
                    temp.display(),
                    path.display()
                )
            })?;
        }
        Ok(())
    }
}
