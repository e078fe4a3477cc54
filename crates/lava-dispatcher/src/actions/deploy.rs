//! The deploy action: every image of the job downloaded, checked and unpacked into the job's
//! directory, and recorded by role for the boot action.

use lava_common::job::Deploy;

use super::download;
use crate::job::{Ctx, Failure};

/// Deploys every image.
pub async fn run(ctx: &mut Ctx, action: &str, deploy: &Deploy) -> Result<(), Failure> {
    std::fs::create_dir_all(&ctx.workdir).map_err(|e| {
        Failure::infra(
            action,
            format!("cannot create {}: {e}", ctx.workdir.display()),
        )
    })?;
    for (role, image) in &deploy.images {
        let path = download::fetch(ctx, action, role, image).await?;
        ctx.log.info(format!("{role}: {}", path.display()));
        ctx.images.insert(role.clone(), path);
        if let Some(arg) = &image.image_arg {
            ctx.image_args.push(arg.clone());
        }
    }
    Ok(())
}
