//! The deploy action: every image of the job downloaded, checked and unpacked into the job's
//! directory, the job's test overlay built, and then the images made available where the
//! device boots from: files QEMU reads (the overlay appended to the ramdisk), or the job's
//! directory on the TFTP server (see [`super::tftp`]) for a bootloader.
//!
//! A seed-era `deploy_linaro_kernel` deploys the way the device's type boots: to the TFTP
//! server on a bootloader board, to files for QEMU.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lava_common::device::{ClientType, DeployMethod};
use lava_common::job::{Deploy, DeployTo, KernelType, SourceFormat};

use super::download;
use super::kernel::{self, Detected};
use super::ramdisk::{self, RamdiskPlan};
use super::tftp::TftpDir;
use crate::archive;
use crate::job::{Ctx, Failure};
use crate::testshell::overlay;

/// The most a `modules` tarball may unpack to.
const MAX_MODULES_BYTES: u64 = 1 << 30;

/// What the last deploy made for the boot that follows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deployed {
    /// How it deployed.
    pub method: Option<DeployMethod>,
    /// Files on the TFTP server by role (`kernel`, `ramdisk`, `dtb`, `modules`, `overlay`),
    /// relative to its root, as boot commands name them.
    pub tftp: BTreeMap<String, String>,
    /// The kernel's type, from the job or from the file.
    pub kernel_type: Option<KernelType>,
    /// Whether the ramdisk the bootloader loads carries a U-Boot header.
    pub ramdisk_header: bool,
    /// Whether the test overlay is inside what boots (ramdisk or root file system).
    pub overlay_in_image: bool,
    /// The exported NFS root, for `{NFSROOTFS}`.
    pub nfs_root: Option<String>,
}

/// Where this deploy really goes.
pub fn method(d: &Deploy, ctx: &Ctx) -> DeployMethod {
    match d.to {
        DeployTo::Tmpfs
            if ctx.source == SourceFormat::Json
                && ctx.device.client_type == ClientType::Bootloader =>
        {
            DeployMethod::Tftp
        }
        DeployTo::Tmpfs => DeployMethod::Tmpfs,
        DeployTo::Tftp => DeployMethod::Tftp,
        DeployTo::Nfs => DeployMethod::Nfs,
        DeployTo::Image => DeployMethod::Image,
    }
}

/// LAVA's name for the deploy action.
pub fn action_name(d: &Deploy, ctx: &Ctx) -> &'static str {
    match method(d, ctx) {
        DeployMethod::Tftp => "tftp-deploy",
        DeployMethod::Nfs => "nfs-deploy",
        DeployMethod::Tmpfs | DeployMethod::Image => "deployimages",
    }
}

/// Checks, before anything runs, that the device can take this deploy.
pub fn check(ctx: &Ctx, d: &Deploy) -> Result<(), Failure> {
    let m = method(d, ctx);
    if d.images.is_empty() || ctx.device.deploy_methods.contains(&m) {
        return Ok(());
    }
    let supported: Vec<&str> = ctx
        .device
        .deploy_methods
        .iter()
        .map(|m| m.as_str())
        .collect();
    Err(Failure::job(
        "validate",
        format!(
            "device type '{}' cannot deploy to {} (it supports: {})",
            ctx.device.device_type,
            m.as_str(),
            supported.join(", ")
        ),
    ))
}

/// Deploys every image.
pub async fn run(ctx: &mut Ctx, action: &str, deploy: &Deploy) -> Result<(), Failure> {
    std::fs::create_dir_all(&ctx.workdir).map_err(|e| {
        Failure::infra(
            action,
            format!("cannot create {}: {e}", ctx.workdir.display()),
        )
    })?;
    for (role, image) in &deploy.images {
        let mut path = download::fetch(ctx, action, role, image).await?;
        if image.qcow2 {
            path = super::qcow2::to_raw(ctx, action, role, &path).await?;
        }
        ctx.log.info(format!("{role}: {}", path.display()));
        ctx.images.insert(role.clone(), path);
        if let Some(arg) = &image.image_arg {
            ctx.image_args.push(arg.clone());
        }
    }
    if !ctx.tests.is_empty() && ctx.overlay.is_none() {
        overlay::build(ctx, action).await?;
    }
    let method = method(deploy, ctx);
    ctx.deployed = Deployed {
        method: Some(method),
        ..Deployed::default()
    };
    // As LAVA's download does, every method's images get their overlays first.
    if method != DeployMethod::Tmpfs && super::overlays::apply(ctx, action, deploy).await? {
        ctx.deployed.overlay_in_image = true;
    }
    match method {
        DeployMethod::Tmpfs => files(ctx, action, deploy).await,
        DeployMethod::Tftp => to_tftp(ctx, action, deploy).await,
        DeployMethod::Nfs => super::nfs::deploy(ctx, action, deploy).await,
        DeployMethod::Image => Ok(()),
    }
}

/// The ramdisk's role in `deploy`: YAML's `initrd` or `ramdisk`.
fn ramdisk_role(deploy: &Deploy) -> Option<&'static str> {
    ["ramdisk", "initrd"]
        .into_iter()
        .find(|r| deploy.image(r).is_some())
}

/// Files for QEMU: an image's `overlays` go after it (see [`super::overlays`]); otherwise
/// the test overlay goes after the ramdisk as a second archive.
async fn files(ctx: &mut Ctx, action: &str, deploy: &Deploy) -> Result<(), Failure> {
    if super::overlays::apply(ctx, action, deploy).await? {
        ctx.deployed.overlay_in_image = true;
        return Ok(());
    }
    let Some(role) = ramdisk_role(deploy) else {
        return Ok(());
    };
    let image = deploy
        .image(role)
        .unwrap_or_else(|| unreachable!("found above"));
    if image.overlays.is_some() {
        // Its overlays say what goes into it, and the test overlay was not among them.
        return Ok(());
    }
    let Some(cpio) = ctx.overlay.as_ref().map(|o| o.cpio.clone()) else {
        return Ok(());
    };
    if !image.install_overlay {
        return Ok(());
    }
    let source = ctx.images[role].clone();
    let prepared = ramdisk::prepare(
        ctx,
        action,
        RamdiskPlan {
            source: &source,
            said_header: image.uboot_header,
            extras: vec![cpio],
            wrap: None,
        },
    )
    .await?;
    ctx.log.info(format!(
        "the test overlay follows the {role} in {}",
        prepared.display()
    ));
    ctx.images.insert(role.to_string(), prepared);
    ctx.deployed.overlay_in_image = true;
    Ok(())
}

/// The name a file keeps on the server: its local name.
fn name_of(path: &Path, role: &str) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| role.to_string())
}

/// The job's directory on the TFTP server, made once per job.
fn tftp_dir(ctx: &mut Ctx, action: &str) -> Result<(), Failure> {
    if ctx.tftp.is_none() {
        let root = ctx
            .device
            .network
            .tftp_root
            .clone()
            .unwrap_or_else(|| ctx.settings.tftp_root.clone());
        let dir = TftpDir::create(action, &root, &ctx.job_id)?;
        ctx.log.info(format!(
            "the job's TFTP directory: {}",
            dir.path().display()
        ));
        ctx.tftp = Some(dir);
    }
    Ok(())
}

/// Places one file on the TFTP server and records it by role.
pub fn place(ctx: &mut Ctx, action: &str, role: &str, path: &Path) -> Result<(), Failure> {
    let name = name_of(path, role);
    let dir = ctx
        .tftp
        .as_ref()
        .unwrap_or_else(|| unreachable!("made first"));
    let rel = dir.place(action, role, path, &name)?;
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    ctx.log
        .info(format!("{role} on the TFTP server: {rel} ({size} bytes)"));
    ctx.deployed.tftp.insert(role.to_string(), rel);
    Ok(())
}

/// The kernel's type: the job's `type`, else what the file says.
pub fn kernel_type(
    action: &str,
    path: &Path,
    given: Option<KernelType>,
) -> Result<Option<KernelType>, Failure> {
    let detected = kernel::detect(path)
        .map_err(|e| Failure::infra(action, format!("cannot read {}: {e}", path.display())))?;
    match (given, detected) {
        (Some(t), _) => Ok(Some(t)),
        (None, Detected::Type(t)) => Ok(Some(t)),
        (None, Detected::X86) => Err(Failure::job(
            action,
            "the kernel is an x86 bzImage, which U-Boot boots with neither bootm, bootz nor booti",
        )),
        (None, Detected::Unknown) => Ok(None),
    }
}

/// Everything a bootloader fetches, under the job's directory on the TFTP server.
pub(crate) async fn to_tftp(ctx: &mut Ctx, action: &str, deploy: &Deploy) -> Result<(), Failure> {
    tftp_dir(ctx, action)?;
    if let Some(path) = ctx.images.get("kernel").cloned() {
        let given = deploy.image("kernel").and_then(|k| k.kernel_type);
        ctx.deployed.kernel_type = kernel_type(action, &path, given)?;
        match ctx.deployed.kernel_type {
            Some(t) => ctx.log.info(format!("kernel type: {}", t.as_str())),
            None => ctx
                .log
                .warning("the kernel's type is unknown: give type: zimage, image or uimage"),
        }
        place(ctx, action, "kernel", &path)?;
    }
    let modules_cpio = match ctx.images.get("modules").cloned() {
        Some(path) => {
            place(ctx, action, "modules", &path)?;
            Some(modules_archive(ctx, action, &path)?)
        }
        None => None,
    };
    if let Some(role) = ramdisk_role(deploy) {
        let image = deploy
            .image(role)
            .unwrap_or_else(|| unreachable!("found above"));
        let mut extras = Vec::new();
        // With `overlays`, the header (if any) is gone and `lava: true` put the test overlay in.
        let overlaid = image.overlays.is_some();
        if image.install_overlay
            && !image.overlays.as_ref().is_some_and(|o| o.lava)
            && let Some(o) = &ctx.overlay
        {
            extras.push(o.cpio.clone());
            ctx.deployed.overlay_in_image = true;
        }
        if image.install_modules
            && let Some(m) = &modules_cpio
        {
            extras.push(m.clone());
        }
        let bootloader = ctx.device.bootloader.as_ref();
        let wrap = bootloader
            .filter(|b| b.ramdisk_uboot_header)
            .and_then(|b| b.mkimage_arch.clone());
        let source = ctx.images[role].clone();
        let prepared = ramdisk::prepare(
            ctx,
            action,
            RamdiskPlan {
                source: &source,
                said_header: image.uboot_header && !overlaid,
                extras,
                wrap: wrap.as_deref(),
            },
        )
        .await?;
        ctx.deployed.ramdisk_header = wrap.is_some();
        place(ctx, action, "ramdisk", &prepared)?;
    }
    if let Some(path) = ctx.images.get("dtb").cloned() {
        place(ctx, action, "dtb", &path)?;
    }
    if let Some(tarball) = ctx.overlay.as_ref().map(|o| o.tarball.clone()) {
        place(ctx, action, "overlay", &tarball)?;
    }
    Ok(())
}

/// The deploy's modules as a cpio archive to follow the ramdisk.
fn modules_archive(ctx: &Ctx, action: &str, tarball: &Path) -> Result<PathBuf, Failure> {
    let stage = ctx.workdir.join("modules-stage");
    let _ = std::fs::remove_dir_all(&stage);
    std::fs::create_dir_all(&stage)
        .map_err(|e| Failure::infra(action, format!("cannot create {}: {e}", stage.display())))?;
    let bytes = archive::unpack_tar(tarball, &stage, MAX_MODULES_BYTES)
        .map_err(|e| Failure::job(action, format!("modules: {e}")))?;
    let out = ctx.workdir.join("modules.cpio.gz");
    let made = archive::cpio_gz(&stage, &out).map_err(|e| Failure::infra(action, e));
    let _ = std::fs::remove_dir_all(&stage);
    made?;
    ctx.log
        .info(format!("modules: {bytes} bytes, appended to the ramdisk"));
    Ok(out)
}
