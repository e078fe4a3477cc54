//! A ramdisk made ready for a boot: the job's ramdisk, then more gzip'd cpio archives after
//! it (the test overlay, the deploy's modules), which the kernel unpacks in order over the
//! first; wrapped in a U-Boot header by `mkimage` (Debian's u-boot-tools) when the device
//! type asks for one. A ramdisk that came with a header loses it first, so the archives
//! follow the data and not the header.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::kernel::{UIMAGE_HEADER_LEN, has_uboot_header};
use crate::command::Argv;
use crate::job::{Ctx, Failure};

/// How long `mkimage` may take.
const MKIMAGE_TIMEOUT: Duration = Duration::from_secs(120);

/// What a prepared ramdisk is made of.
pub struct RamdiskPlan<'a> {
    /// The ramdisk as deployed.
    pub source: &'a Path,
    /// Whether the job says it has a U-Boot header (`header: u-boot`).
    pub said_header: bool,
    /// Archives to append, in order.
    pub extras: Vec<PathBuf>,
    /// `mkimage -A` for a U-Boot header around the result; `None` for none.
    pub wrap: Option<&'a str>,
}

/// Builds the ramdisk of `plan` in the job's directory and returns its path (the source
/// itself when nothing changes).
pub async fn prepare(ctx: &Ctx, action: &str, plan: RamdiskPlan<'_>) -> Result<PathBuf, Failure> {
    let source = plan.source;
    let io = |what: &str, p: &Path, e: std::io::Error| {
        Failure::infra(action, format!("cannot {what} {}: {e}", p.display()))
    };
    let header = has_uboot_header(source).map_err(|e| io("read", source, e))?;
    if plan.said_header && !header {
        return Err(Failure::job(
            action,
            format!(
                "the ramdisk is given with header: u-boot, but {} does not start with a U-Boot header",
                source.display()
            ),
        ));
    }
    if plan.extras.is_empty() && header == plan.wrap.is_some() {
        return Ok(source.to_path_buf());
    }
    let dir = ctx.workdir.join("ramdisk-prepared");
    std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
    let name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ramdisk".into());
    let base = name.strip_suffix(".uboot").unwrap_or(&name).to_string();
    let payload = dir.join(&base);
    {
        let mut out = std::fs::File::create(&payload).map_err(|e| io("create", &payload, e))?;
        let mut input = std::fs::File::open(source).map_err(|e| io("read", source, e))?;
        if header {
            let mut skip = [0u8; UIMAGE_HEADER_LEN];
            input
                .read_exact(&mut skip)
                .map_err(|e| io("read", source, e))?;
        }
        std::io::copy(&mut input, &mut out).map_err(|e| io("write", &payload, e))?;
        for extra in &plan.extras {
            let mut e = std::fs::File::open(extra).map_err(|e| io("read", extra, e))?;
            std::io::copy(&mut e, &mut out).map_err(|e| io("write", &payload, e))?;
        }
        out.flush().map_err(|e| io("write", &payload, e))?;
    }
    let Some(arch) = plan.wrap else {
        return Ok(payload);
    };
    let wrapped = dir.join(format!("{base}.uboot"));
    let words = [
        "-A",
        arch,
        "-O",
        "linux",
        "-T",
        "ramdisk",
        "-C",
        "none",
        "-n",
        "lava ramdisk",
        "-d",
    ]
    .map(String::from)
    .into_iter()
    .chain([payload.display().to_string(), wrapped.display().to_string()]);
    let argv = Argv::new("mkimage", words);
    ctx.log.debug(format!("{argv}"));
    let run = argv.output();
    let out = match tokio::time::timeout(MKIMAGE_TIMEOUT, run).await {
        Err(_) => {
            return Err(Failure::infra(
                action,
                format!("mkimage did not finish within {MKIMAGE_TIMEOUT:?}"),
            ));
        }
        Ok(Err(e)) => {
            return Err(Failure::infra(
                action,
                format!("cannot run mkimage (Debian's u-boot-tools): {e}"),
            ));
        }
        Ok(Ok(out)) => out,
    };
    if !out.status.success() {
        return Err(Failure::infra(
            action,
            format!(
                "mkimage failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(wrapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_ramdisk_gets_its_overlay_and_a_fresh_header() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = crate::job::test_ctx(dir.path());
        let src = dir.path().join("ramdisk.cpio.gz");
        std::fs::write(&src, b"RAMDISK").unwrap();
        let extra = dir.path().join("overlay.cpio.gz");
        std::fs::write(&extra, b"+OVERLAY").unwrap();
        let plan = |said_header, wrap| RamdiskPlan {
            source: &src,
            said_header,
            extras: vec![extra.clone()],
            wrap,
        };
        let raw = prepare(&ctx, "t", plan(false, None)).await.unwrap();
        assert_eq!(std::fs::read(&raw).unwrap(), b"RAMDISK+OVERLAY");
        let wrapped = prepare(&ctx, "t", plan(false, Some("arm64")))
            .await
            .unwrap();
        let bytes = std::fs::read(&wrapped).unwrap();
        assert_eq!(bytes[..4], super::super::kernel::UIMAGE_MAGIC);
        assert_eq!(&bytes[64..], b"RAMDISK+OVERLAY");
        // A ramdisk that has a header already loses it before the overlay is appended.
        std::fs::rename(&wrapped, &src).unwrap();
        let again = prepare(&ctx, "t", plan(true, Some("arm64"))).await.unwrap();
        let bytes = std::fs::read(&again).unwrap();
        assert_eq!(&bytes[64..], b"RAMDISK+OVERLAY+OVERLAY");
        std::fs::write(&src, b"RAMDISK").unwrap();
        let e = prepare(&ctx, "t", plan(true, None)).await.unwrap_err();
        assert!(
            e.message.contains("does not start with a U-Boot header"),
            "{e}"
        );
    }
}
