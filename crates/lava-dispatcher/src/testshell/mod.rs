//! The test shell: test definitions sent to the target over the console, run there with the
//! `lava-test-*` helpers, and their markers turned into result lines as they arrive.

pub mod fetch;
pub mod git;
mod results;
pub mod scripts;

use lava_common::job::Test;

use crate::job::{Ctx, Failure, prompt_regex};

/// The heredoc terminator for files sent to the target.
const EOF_MARK: &str = "LAVA_FILE_END_7f3a";

/// Writes one file on the target with a here-document and waits for the prompt.
async fn send_file(
    ctx: &mut Ctx,
    action: &str,
    path: &str,
    content: &str,
    executable: bool,
) -> Result<(), Failure> {
    if content.lines().any(|l| l == EOF_MARK) {
        return Err(Failure::job(
            action,
            format!("{path} contains the line {EOF_MARK}"),
        ));
    }
    let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("/");
    let mut text = format!("mkdir -p {dir} && cat > {path} <<'{EOF_MARK}'\n{content}");
    if !content.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(EOF_MARK);
    ctx.sendline(action, &text).await?;
    ctx.expect(action, &[prompt_regex()]).await?;
    if executable {
        ctx.shell(action, &format!("chmod +x {path}")).await?;
    }
    Ok(())
}

/// Runs the test action.
pub async fn run(ctx: &mut Ctx, action: &str, test: &Test) -> Result<(), Failure> {
    if !ctx.shell_ready {
        return Err(Failure::job(
            action,
            "no shell on the device: a boot action must come first",
        ));
    }
    let root = format!("/lava-{}", ctx.job_id);
    let mut prepared = Vec::new();
    for def in &test.definitions {
        let index = ctx.definitions_run;
        ctx.definitions_run += 1;
        let fetched = fetch::definition(ctx, action, def, index).await?;
        let id = format!("{index}_{}", def.name);
        prepared.push((id, def, fetched));
    }
    ctx.log.info(format!(
        "sending {} test definition(s) to {root}",
        prepared.len()
    ));
    for (name, body) in [
        ("lava-test-case", scripts::LAVA_TEST_CASE),
        ("lava-test-set", scripts::LAVA_TEST_SET),
        ("lava-test-raise", scripts::LAVA_TEST_RAISE),
    ] {
        send_file(ctx, action, &format!("{root}/bin/{name}"), body, true).await?;
    }
    let ids: Vec<String> = prepared.iter().map(|(id, _, _)| id.clone()).collect();
    for (id, def, fetched) in &prepared {
        let uuid = format!("{}_{id}", ctx.job_id);
        for (rel, content) in &fetched.files {
            send_file(
                ctx,
                action,
                &format!("{root}/tests/{id}/{rel}"),
                content,
                false,
            )
            .await?;
        }
        let run = scripts::run_sh(&root, id, &uuid, &fetched.file, &def.parameters);
        send_file(
            ctx,
            action,
            &format!("{root}/tests/{id}/run.sh"),
            &run,
            true,
        )
        .await?;
    }
    send_file(
        ctx,
        action,
        &format!("{root}/bin/lava-test-runner"),
        &scripts::runner(&root, &ids),
        true,
    )
    .await?;
    let files: Vec<_> = prepared
        .iter()
        .map(|(id, _, f)| (id.clone(), f.file.clone()))
        .collect();
    ctx.sendline(action, &format!("{root}/bin/lava-test-runner"))
        .await?;
    results::follow(ctx, action, &files).await
}
