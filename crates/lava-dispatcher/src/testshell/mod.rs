//! The test shell: the job's test definitions in its overlay (see [`overlay`]), on the
//! target by the time a test action runs, run there with the `lava-test-*` helpers, and
//! their markers turned into result lines as they arrive.

mod console;
pub mod fetch;
pub mod git;
pub mod overlay;
mod results;
pub mod scripts;

use lava_common::job::Test;

use crate::job::{Ctx, Failure};

/// Runs test action `index` of the job.
pub async fn run(ctx: &mut Ctx, index: usize, action: &str, test: &Test) -> Result<(), Failure> {
    if !ctx.shell_ready {
        return Err(Failure::job(
            action,
            "no shell on the device: a boot action must come first",
        ));
    }
    if ctx.overlay.is_none() {
        overlay::build(ctx, action).await?;
    }
    let (root, runs) = {
        let o = ctx
            .overlay
            .as_ref()
            .unwrap_or_else(|| unreachable!("built above"));
        (
            o.root.clone(),
            o.runs.get(&index).cloned().unwrap_or_default(),
        )
    };
    if ctx.overlay_on_target {
        let rc = overlay::status(ctx, action, &format!("test -d {root}/bin")).await?;
        if rc != 0 {
            return Err(Failure::infra(
                action,
                format!(
                    "the test overlay is not on the target: {root} is missing (the archive after the ramdisk was not unpacked)"
                ),
            ));
        }
    } else {
        overlay::deliver(ctx, action).await?;
        ctx.overlay_on_target = true;
    }
    ctx.log.info(format!(
        "running {} test definition(s) from {root} ({} in this action)",
        test.definitions.len(),
        runs.len()
    ));
    ctx.sendline(action, &format!("{root}/bin/lava-test-runner-{index}"))
        .await?;
    results::follow(ctx, action, &runs).await
}
