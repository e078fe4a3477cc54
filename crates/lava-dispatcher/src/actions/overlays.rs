//! LAVA's `overlays` of a `cpio.newc` image in a tmpfs deploy (LAVA's append-overlays): the
//! job's test overlay (`lava: true`) and named files or tarballs put at a path inside the
//! image. LAVA unpacks the cpio archive, adds them and packs it again; we append each as one
//! more gzip'd cpio archive after the image, which the kernel unpacks over it in order, so
//! the booted tree is the same.

use std::path::{Path, PathBuf};

use lava_common::job::{Deploy, OverlayFile, OverlayKind};

use super::download;
use super::ramdisk::{self, RamdiskPlan};
use crate::archive;
use crate::job::{Ctx, Failure};

/// The most one tarball overlay may unpack to.
const MAX_OVERLAY_BYTES: u64 = 1 << 30;

/// Appends each image's overlays to it; returns whether the test overlay went into one.
pub async fn apply(ctx: &mut Ctx, action: &str, deploy: &Deploy) -> Result<bool, Failure> {
    let mut lava_in_image = false;
    for (role, image) in &deploy.images {
        let Some(overlays) = &image.overlays else {
            continue;
        };
        let mut extras = Vec::new();
        if overlays.lava
            && let Some(o) = &ctx.overlay
        {
            extras.push(o.cpio.clone());
            lava_in_image = true;
        }
        for (name, file) in &overlays.files {
            extras.push(named(ctx, action, role, name, file).await?);
        }
        if extras.is_empty() {
            continue;
        }
        let source = ctx.images[role].clone();
        let prepared = ramdisk::prepare(
            ctx,
            action,
            RamdiskPlan {
                source: &source,
                said_header: false,
                extras,
                wrap: None,
            },
        )
        .await?;
        let names: Vec<&str> = overlays
            .lava
            .then_some("lava")
            .into_iter()
            .chain(overlays.files.iter().map(|(n, _)| n.as_str()))
            .collect();
        ctx.log.info(format!(
            "overlay(s) {} follow the {role} in {}",
            names.join(", "),
            prepared.display()
        ));
        ctx.images.insert(role.clone(), prepared);
    }
    Ok(lava_in_image)
}

/// Downloads the overlay `name` of image `role` and makes it a gzip'd cpio archive holding
/// it at its `path`.
async fn named(
    ctx: &Ctx,
    action: &str,
    role: &str,
    name: &str,
    file: &OverlayFile,
) -> Result<PathBuf, Failure> {
    let label = format!("{role}.{name}");
    let fetched = download::fetch(ctx, action, &label, &file.source).await?;
    let stage = ctx.workdir.join(format!("overlay-stage/{label}"));
    let _ = std::fs::remove_dir_all(&stage);
    let out = ctx.workdir.join(format!("{label}.cpio.gz"));
    let (kind, path, what) = (file.kind, file.path.clone(), label.clone());
    let (from, st, to) = (fetched, stage.clone(), out.clone());
    let made = tokio::task::spawn_blocking(move || stage_and_pack(kind, &path, &from, &st, &to))
        .await
        .map_err(|e| Failure::infra(action, format!("overlay {what} failed: {e}")))?;
    let _ = std::fs::remove_dir_all(&stage);
    let bytes = made.map_err(|e| Failure::job(action, format!("overlay {label}: {e}")))?;
    ctx.log.info(format!(
        "overlay {label}: {bytes} bytes at {} in the {role}",
        file.path
    ));
    Ok(out)
}

/// Puts `fetched` at `path` below `stage` (a tarball unpacked there, a file copied to it, or
/// into it when `path` ends with `/`) and packs `stage` into `out`. Blocking.
fn stage_and_pack(
    kind: OverlayKind,
    path: &str,
    fetched: &Path,
    stage: &Path,
    out: &Path,
) -> Result<u64, String> {
    // The job parser took only absolute paths without `..`.
    let rel = path.trim_start_matches('/');
    let mkdir = |d: &Path| {
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))
    };
    let bytes = match kind {
        OverlayKind::Tar => {
            let dest = stage.join(rel);
            mkdir(&dest)?;
            archive::unpack_tar(fetched, &dest, MAX_OVERLAY_BYTES)?
        }
        OverlayKind::File => {
            let dest = if rel.is_empty() || path.ends_with('/') {
                let base = fetched.file_name().unwrap_or_default();
                stage.join(rel).join(base)
            } else {
                stage.join(rel)
            };
            mkdir(dest.parent().unwrap_or(stage))?;
            std::fs::copy(fetched, &dest)
                .map_err(|e| format!("cannot copy to {}: {e}", dest.display()))?
        }
    };
    archive::cpio_gz(stage, out)?;
    Ok(bytes)
}
