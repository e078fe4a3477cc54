//! LAVA's `overlays` of an image (LAVA's append-overlays): the job's test
//! overlay (`lava: true`) and named files or tarballs put at a path inside the image.
//!
//! - `cpio.newc`: LAVA unpacks the cpio archive, adds them and packs it again; we append each
//!   as one more gzip'd cpio archive after the image, which the kernel unpacks over it in
//!   order, so the booted tree is the same.
//! - `ext4`: written into the file system image with `debugfs`, as LAVA's ext4 back end does
//!   (see [`crate::ext4`]); an Android sparse one (`sparse: true`) is expanded first and
//!   packed again after (see [`crate::sparse`]).
//! - `tar`: appended to the tarball as more entries (LAVA unpacks and re-packs it; extracting
//!   ours gives the same tree).
//!
//! Every deploy method applies them right after its downloads, as LAVA's download action
//! does; a tftp or nfs deploy then makes its ramdisk or root file system from the result.

use std::path::{Path, PathBuf};

use lava_common::job::{Deploy, ImageOverlays, OverlayFile, OverlayKind, OverlayTarget};

use super::download;
use super::ramdisk::{self, RamdiskPlan};
use crate::job::{Ctx, Failure};
use crate::testshell::overlay::Overlay;
use crate::{archive, ext4, sparse};

/// The most one tarball overlay may unpack to.
const MAX_OVERLAY_BYTES: u64 = 1 << 30;

/// What goes into one image: its role, the test overlay when `lava: true` and the job has
/// one, and the named overlays in document order.
struct Target<'a> {
    role: &'a str,
    lava: Option<Overlay>,
    files: &'a [(String, OverlayFile)],
}

/// Puts each image's overlays into it; returns whether the test overlay went into one.
pub async fn apply(ctx: &mut Ctx, action: &str, deploy: &Deploy) -> Result<bool, Failure> {
    let mut lava_in_image = false;
    for (role, image) in &deploy.images {
        let Some(overlays) = &image.overlays else {
            continue;
        };
        let target = Target {
            role,
            lava: ctx.overlay.clone().filter(|_| overlays.lava),
            files: &overlays.files,
        };
        lava_in_image |= target.lava.is_some();
        let names: Vec<&str> = target
            .lava
            .is_some()
            .then_some("lava")
            .into_iter()
            .chain(overlays.files.iter().map(|(n, _)| n.as_str()))
            .collect();
        if names.is_empty() {
            continue;
        }
        let into = match overlays.into {
            OverlayTarget::Cpio => append_cpio(ctx, action, &target).await?,
            OverlayTarget::Ext4 => write_ext4(ctx, action, &target, overlays).await?,
            OverlayTarget::Tar => append_tar(ctx, action, &target).await?,
        };
        ctx.log
            .info(format!("overlay(s) {} {into}", names.join(", ")));
    }
    Ok(lava_in_image)
}

/// A cpio.newc ramdisk: each overlay follows it as one more gzip'd cpio archive.
async fn append_cpio(ctx: &mut Ctx, action: &str, t: &Target<'_>) -> Result<String, Failure> {
    let role = t.role;
    let mut extras: Vec<PathBuf> = t.lava.iter().map(|o| o.cpio.clone()).collect();
    for (name, file) in t.files {
        let label = format!("{role}.{name}");
        let stage = ctx.workdir.join(format!("overlay-stage/{label}"));
        let _ = std::fs::remove_dir_all(&stage);
        named(ctx, action, role, name, file, &stage).await?;
        let out = ctx.workdir.join(format!("{label}.cpio.gz"));
        let (st, to) = (stage.clone(), out.clone());
        let packed = download::blocking(action, move || archive::cpio_gz(&st, &to)).await;
        let _ = std::fs::remove_dir_all(&stage);
        packed?.map_err(|e| Failure::job(action, format!("overlay {label}: {e}")))?;
        extras.push(out);
    }
    let plan = RamdiskPlan {
        source: &ctx.images[role].clone(),
        said_header: false,
        extras,
        wrap: None,
    };
    let prepared = ramdisk::prepare(ctx, action, plan).await?;
    // A tftp deploy prepares its ramdisk again from this one (the test overlay, modules, a
    // U-Boot header): keep it out of the directory that preparation writes.
    let dir = ctx.workdir.join("overlaid").join(role);
    let kept = dir.join(prepared.file_name().unwrap_or(role.as_ref()));
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::rename(&prepared, &kept))
        .map_err(|e| Failure::infra(action, format!("cannot move {}: {e}", prepared.display())))?;
    let said = format!("follow the {role} in {}", kept.display());
    ctx.images.insert(role.to_string(), kept);
    Ok(said)
}

/// A tarball: the overlays are staged into one tree, in order, and appended to it as more
/// entries ([`archive::append_tree`]), which extraction puts over the earlier ones.
async fn append_tar(ctx: &mut Ctx, action: &str, t: &Target<'_>) -> Result<String, Failure> {
    let stage = stage_all(ctx, action, t).await?;
    let image = ctx.images[t.role].clone();
    let (tar, st) = (image.clone(), stage.clone());
    let added = download::blocking(action, move || archive::append_tree(&tar, &st)).await;
    let _ = std::fs::remove_dir_all(&stage);
    let added = added?.map_err(|e| Failure::job(action, format!("{}: {e}", t.role)))?;
    Ok(format!(
        "appended to the tarball {} ({added} entries)",
        image.display()
    ))
}

/// Stages the test overlay (when it goes in) and each named overlay, in order (a later one
/// over an earlier one, as LAVA applies them), into one tree for the image; returns the
/// tree's directory.
async fn stage_all(ctx: &mut Ctx, action: &str, t: &Target<'_>) -> Result<PathBuf, Failure> {
    let stage = ctx.workdir.join(format!("overlay-stage/{}", t.role));
    let _ = std::fs::remove_dir_all(&stage);
    std::fs::create_dir_all(&stage)
        .map_err(|e| Failure::infra(action, format!("cannot create {}: {e}", stage.display())))?;
    if let Some(o) = &t.lava {
        let (tarball, st) = (o.tarball.clone(), stage.clone());
        download::blocking(action, move || {
            archive::unpack_tar(&tarball, &st, MAX_OVERLAY_BYTES)
        })
        .await?
        .map_err(|e| Failure::infra(action, format!("the test overlay: {e}")))?;
    }
    for (name, file) in t.files {
        named(ctx, action, t.role, name, file, &stage).await?;
    }
    Ok(stage)
}

/// A raw ext4 file system image, or one partition of a disk image: the overlays are staged
/// into one tree, in order (a later one over an earlier one, as LAVA applies them), and
/// written into the file system's root with `debugfs` ([`ext4::write_tree`]). The image is
/// the job's own decompressed copy.
async fn write_ext4(
    ctx: &mut Ctx,
    action: &str,
    t: &Target<'_>,
    overlays: &ImageOverlays,
) -> Result<String, Failure> {
    let stage = stage_all(ctx, action, t).await?;
    let image = ctx.images[t.role].clone();
    let (partition, scratch) = (overlays.partition, &ctx.workdir);
    let written = match partition {
        _ if overlays.sparse => {
            let limit = ctx.settings.max_image_bytes;
            sparse::write_tree(&image, partition, &stage, scratch, limit).await
        }
        None => ext4::write_tree(&image, &stage, scratch).await,
        Some(p) => ext4::write_tree_in_partition(&image, p, &stage, scratch).await,
    };
    let _ = std::fs::remove_dir_all(&stage);
    let written = written.map_err(|e| Failure::job(action, format!("{}: {e}", t.role)))?;
    let place = partition
        .map(|p| format!(" (partition {p})"))
        .unwrap_or_default();
    let kind = if overlays.sparse {
        "sparse ext4"
    } else {
        "ext4"
    };
    Ok(format!(
        "written into the {kind} image {}{place} ({} entries, {} bytes)",
        image.display(),
        written.entries,
        written.bytes
    ))
}

/// Downloads the overlay `name` of image `role` and puts it at its `path` below `stage`.
async fn named(
    ctx: &Ctx,
    action: &str,
    role: &str,
    name: &str,
    file: &OverlayFile,
    stage: &Path,
) -> Result<(), Failure> {
    let label = format!("{role}.{name}");
    let fetched = download::fetch(ctx, action, &label, &file.source).await?;
    let (kind, path, st) = (file.kind, file.path.clone(), stage.to_path_buf());
    let bytes = download::blocking(action, move || stage_one(kind, &path, &fetched, &st))
        .await?
        .map_err(|e| Failure::job(action, format!("overlay {label}: {e}")))?;
    ctx.log.info(format!(
        "overlay {label}: {bytes} bytes at {} in the {role}",
        file.path
    ));
    Ok(())
}

/// Puts `fetched` at `path` below `stage` (a tarball unpacked there, a file copied to it, or
/// into it when `path` ends with `/`). Blocking.
fn stage_one(kind: OverlayKind, path: &str, fetched: &Path, stage: &Path) -> Result<u64, String> {
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
    Ok(bytes)
}
