//! `manage failure-tags …`.

use anyhow::Context as _;
use serde::Serialize;

use super::Ctx;
use super::output::print_rows;
use lava_cli::FailureTags;

/// A failure tag in `failure-tags list`; `id` is what REST lists in a job's `failure_tags`.
#[derive(Serialize)]
struct TagRow {
    id: i32,
    name: String,
    description: String,
}

/// Runs one `failure-tags` subcommand.
pub async fn run(ctx: &Ctx<'_>, command: FailureTags) -> anyhow::Result<()> {
    let mut client = ctx.client().await?;
    match command {
        FailureTags::List(format) => {
            let rows: Vec<_> = lava_db::failure_tags::list(&client)
                .await?
                .into_iter()
                .map(|t| {
                    let line = vec![t.id.to_string(), t.name.clone(), t.description.clone()];
                    let value = TagRow {
                        id: t.id,
                        name: t.name,
                        description: t.description,
                    };
                    (line, value)
                })
                .collect();
            print_rows(format.json, &rows)
        }
        FailureTags::Add { name, description } => {
            let id = lava_db::failure_tags::add(&client, &name, &description).await?;
            println!("{id}");
            Ok(())
        }
        FailureTags::Rm { name } => Ok(lava_db::failure_tags::remove(&client, &name).await?),
        FailureTags::Set { job, tags, comment } => {
            let tx = client.transaction().await?;
            let ids =
                lava_db::failure_tags::set_on_job(&tx, job, &tags, comment.as_deref()).await?;
            tx.commit()
                .await
                .with_context(|| format!("cannot set the failure tags of job {job}"))?;
            tracing::info!(%job, ?ids, "failure tags set");
            Ok(())
        }
    }
}
