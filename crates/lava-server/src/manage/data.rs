//! `migrate`, `loaddata` and `dumpdata`.

use std::path::PathBuf;

use anyhow::Context as _;
use lava_common::fixture;
use lava_common::ids::JobId;

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
    let moved = move_callback_tokens(&mut client).await?;
    if moved > 0 {
        println!("Moved the callback tokens of {moved} stored jobs out of their definitions");
    }
    Ok(())
}

/// Jobs stored before callback tokens were kept apart still show them in their definition
/// and plan: mask both and keep the tokens apart (migration V6's data step; a job whose
/// layout the masking cannot handle gets every occurrence of its tokens' text masked).
async fn move_callback_tokens(client: &mut lava_db::Client) -> anyhow::Result<usize> {
    use lava_common::job::{SECRET_MASK, mask_plan_tokens, mask_secrets, parse_job, plan_tokens};
    let mut after = JobId(0);
    let mut moved = 0;
    loop {
        let tx = client.transaction().await?;
        let batch = lava_db::callback_tokens::unmasked_jobs(&tx, SECRET_MASK, after, 100).await?;
        let Some(last) = batch.last().map(|(id, _)| *id) else {
            return Ok(moved);
        };
        for (id, text) in &batch {
            let Ok(plan) = parse_job(text) else {
                eprintln!(
                    "warning: job {id}: its stored definition no longer parses; its callback tokens stay in it"
                );
                continue;
            };
            let (masked, plan, tokens) = match mask_secrets(text, plan.clone()) {
                Ok(m) => (m.text, m.plan, m.tokens),
                Err(e) => {
                    eprintln!(
                        "warning: job {id}: {e}; masking every occurrence of its tokens instead"
                    );
                    let tokens = plan.notify.as_ref().map(plan_tokens).unwrap_or_default();
                    let mut masked = text.clone();
                    for (_, t) in &tokens {
                        masked = masked.replace(t.as_str(), SECRET_MASK);
                    }
                    let mut plan = plan;
                    if let Some(n) = plan.notify.as_mut() {
                        mask_plan_tokens(n);
                    }
                    (masked, plan, tokens)
                }
            };
            let plan = serde_json::to_value(&plan)?;
            lava_db::callback_tokens::move_out(&tx, *id, &masked, &plan, &tokens).await?;
            moved += 1;
        }
        tx.commit().await?;
        after = last;
    }
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
    let dumped = lava_db::fixtures::dump(&client, models).await?;
    let mut records = fixture::to_records(&dumped.items);
    records.extend(dumped.failure_tags.iter().map(fixture::failure_tag_record));
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
