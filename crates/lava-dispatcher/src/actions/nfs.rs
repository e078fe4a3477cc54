//! NFS root file systems (`deploy: to: nfs`): the job's `nfsrootfs` tarball unpacked under
//! `<nfs root>/<job id>/` (Debian's GNU tar, keeping owners, modes and device nodes, as a
//! root file system needs), the test overlay and modules unpacked into it, and the
//! directory exported to the boards with `exportfs` (Debian's nfs-kernel-server) for the
//! job's lifetime. The kernel, ramdisk and dtb go to the TFTP server as for a `tftp` deploy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lava_common::job::Deploy;

use crate::archive;
use crate::command::Argv;
use crate::job::{Ctx, Failure};

/// How long unpacking a root file system may take.
const UNPACK_TIMEOUT: Duration = Duration::from_secs(900);

/// How long `exportfs` may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(60);

/// The options of a job's export: the board's root writes as root.
pub const EXPORT_OPTIONS: &str = "rw,no_root_squash,no_subtree_check,insecure";

/// A job's exported root file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsExport {
    /// The unpacked root file system, the path `exportfs` was given.
    pub dir: PathBuf,
    /// Whether `exportfs` exported it (and must unexport it).
    pub exported: bool,
}

/// The `exportfs` client specification of a job's directory.
fn spec(dir: &Path) -> String {
    format!("*:{}", dir.display())
}

async fn run(action: &str, argv: Argv, limit: Duration) -> Result<String, Failure> {
    let shown = argv.to_string();
    let out = tokio::time::timeout(limit, argv.output())
        .await
        .map_err(|_| Failure::infra(action, format!("{shown} did not finish within {limit:?}")))?
        .map_err(|e| Failure::infra(action, format!("cannot run {shown}: {e}")))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(Failure::infra(
            action,
            format!("{shown} failed ({}): {}", out.status, text.trim()),
        ))
    }
}

/// Unpacks, fills and exports the job's root file system; then the TFTP part.
pub async fn deploy(ctx: &mut Ctx, action: &str, deploy: &Deploy) -> Result<(), Failure> {
    let rootfs = ctx
        .images
        .get("nfsrootfs")
        .cloned()
        .ok_or_else(|| Failure::job(action, "an nfs deploy needs an nfsrootfs image"))?;
    let image = deploy
        .image("nfsrootfs")
        .unwrap_or_else(|| unreachable!("downloaded above"));
    let root = &ctx.settings.nfs_root;
    std::fs::create_dir_all(root)
        .map_err(|e| Failure::infra(action, format!("cannot create {}: {e}", root.display())))?;
    let dir = root.join(&ctx.job_id);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| Failure::infra(action, format!("cannot clear {}: {e}", dir.display())))?;
    }
    std::fs::create_dir(&dir)
        .map_err(|e| Failure::infra(action, format!("cannot create {}: {e}", dir.display())))?;
    ctx.nfs = Some(NfsExport {
        dir: dir.clone(),
        exported: false,
    });
    let words = [
        "--extract",
        "--numeric-owner",
        "--preserve-permissions",
        "--file",
    ]
    .map(String::from)
    .into_iter()
    .chain([rootfs.display().to_string()])
    .chain(["--directory".to_string(), dir.display().to_string()]);
    run(action, Argv::new("tar", words), UNPACK_TIMEOUT).await?;
    ctx.log
        .info(format!("nfsrootfs unpacked in {}", dir.display()));
    // `overlays` with `lava: true` put the test overlay into the tarball already.
    if image.install_overlay
        && !image.overlays.as_ref().is_some_and(|o| o.lava)
        && let Some(o) = &ctx.overlay
    {
        archive::unpack_tar(&o.tarball, &dir, u64::MAX)
            .map_err(|e| Failure::infra(action, format!("the test overlay: {e}")))?;
        ctx.deployed.overlay_in_image = true;
        ctx.log.info("the test overlay is in the root file system");
    }
    if image.install_modules
        && let Some(m) = ctx.images.get("modules")
    {
        // The job's tarball may be compressed: its contents are bounded like any image.
        archive::unpack_tar(m, &dir, ctx.settings.max_image_bytes)
            .map_err(|e| Failure::job(action, format!("modules: {e}")))?;
    }
    let argv = Argv::new(
        "exportfs",
        ["-o".to_string(), EXPORT_OPTIONS.to_string(), spec(&dir)],
    );
    run(action, argv, EXPORT_TIMEOUT).await?;
    if let Some(n) = ctx.nfs.as_mut() {
        n.exported = true;
    }
    ctx.log
        .info(format!("exported {} ({EXPORT_OPTIONS})", spec(&dir)));
    if !nfsd_running() {
        ctx.log.warning(
            "the kernel NFS server is not running on this worker (no threads in /proc/fs/nfsd/threads): boards cannot mount the export; start nfs-kernel-server",
        );
    }
    ctx.deployed.nfs_root = Some(dir.display().to_string());
    let mut boot_files = deploy.clone();
    boot_files
        .images
        .retain(|(role, _)| !matches!(role.as_str(), "nfsrootfs"));
    if boot_files.images.iter().any(|(r, _)| r == "kernel") {
        super::deploy::to_tftp(ctx, action, &boot_files).await?;
    }
    Ok(())
}

/// Whether the kernel's NFS server runs (its threads, as `rpc.nfsd` starts them).
fn nfsd_running() -> bool {
    std::fs::read_to_string("/proc/fs/nfsd/threads")
        .is_ok_and(|t| t.trim().parse::<u32>().is_ok_and(|n| n > 0))
}

/// Unexports and removes a job's root file system (finalize).
pub async fn remove(action: &str, export: NfsExport) -> Result<(), Failure> {
    let mut result = Ok(());
    if export.exported {
        let argv = Argv::new("exportfs", ["-u".to_string(), spec(&export.dir)]);
        result = run(action, argv, EXPORT_TIMEOUT).await.map(drop);
    }
    if let Err(e) = std::fs::remove_dir_all(&export.dir)
        && e.kind() != std::io::ErrorKind::NotFound
        && result.is_ok()
    {
        result = Err(Failure::infra(
            action,
            format!("cannot remove {}: {e}", export.dir.display()),
        ));
    }
    result
}
