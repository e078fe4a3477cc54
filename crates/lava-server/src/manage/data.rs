//! `migrate`, `loaddata` and `dumpdata`.

use std::path::PathBuf;

use anyhow::Context as _;
use lava_common::fixture;

use super::Ctx;

/// `manage migrate`.
pub async fn migrate(ctx: &Ctx<'_>) -> anyhow::Result<()> {
    let mut client = ctx.client().await?;
    let applied = lava_db::migrate(&mut client).await?;
    if applied.is_empty() {
        println!("No migrations to apply.");
    }
    for m in applied {
        println!("Applied {m}");
    }
    Ok(())
}

/// `manage loaddata FILE...`: every file is read and checked before anything is written,
/// and everything is loaded in one transaction, so a bad record loads nothing.
pub async fn loaddata(ctx: &Ctx<'_>, files: &[PathBuf]) -> anyhow::Result<()> {
    let mut parsed = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let records = fixture::parse(&text).with_context(|| format!("{}", file.display()))?;
        let interpreted = fixture::interpret(&records)
            .with_context(|| format!("{}: nothing was loaded", file.display()))?;
        for w in &interpreted.warnings {
            eprintln!("warning: {}: {w}", file.display());
        }
        parsed.push((file, interpreted));
    }
    let mut client = ctx.client().await?;
    let tx = client.transaction().await?;
    let mut total = 0;
    for (file, interpreted) in &parsed {
        let source = file.display().to_string();
        let report = lava_db::fixtures::load(&tx, interpreted, &source)
            .await
            .with_context(|| format!("{source}: nothing was loaded"))?;
        total += report.values().sum::<usize>();
    }
    tx.commit().await?;
    println!(
        "Installed {total} object(s) from {} fixture(s)",
        parsed.len()
    );
    Ok(())
}

/// `manage dumpdata [MODEL...]`.
pub async fn dumpdata(
    ctx: &Ctx<'_>,
    models: &[String],
    indent: Option<usize>,
) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let items = lava_db::fixtures::dump(&client, models).await?;
    let records = fixture::to_records(&items);
    let text = match indent {
        None => serde_json::to_string(&records)?,
        Some(n) => {
            let pad = vec![b' '; n];
            let fmt = serde_json::ser::PrettyFormatter::with_indent(&pad);
            let mut out = Vec::new();
            let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
            serde::Serialize::serialize(&records, &mut ser)?;
            String::from_utf8(out)?
        }
    };
    println!("{text}");
    Ok(())
}
