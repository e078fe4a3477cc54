//! LAVA 2023's `format: qcow2` on a tmpfs deploy's image: after download the image is
//! converted to a raw one with `qemu-img convert` (LAVA's `qcow2-convert` action), and the
//! job's `{ROLE}` placeholder names the raw file.
//!
//! The download already refused a qcow2 image with a backing file or an external data file
//! (`image_check`); the raw image may be no bigger than the worker's `max_image_mib`, checked
//! on the virtual size `qemu-img info` reports before anything is written.

use std::path::{Path, PathBuf};

use crate::command::Argv;
use crate::job::{Ctx, Failure};

/// The most `qemu-img` may print (`info` about one image, or `convert`'s messages).
const MAX_INFO_BYTES: u64 = 1 << 20;

/// Runs `qemu-img` with `args`; returns its stdout.
async fn qemu_img(action: &str, args: &[&str]) -> Result<Vec<u8>, Failure> {
    let argv = Argv::new("qemu-img", args.iter().copied());
    let out = argv.output_capped(MAX_INFO_BYTES).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            Failure::job(action, format!("qemu-img said too much: {e}"))
        } else {
            Failure::infra(
                action,
                format!("cannot run qemu-img (install qemu-utils): {e}"),
            )
        }
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Failure::job(
            action,
            format!("qemu-img failed ({}): {}", out.status, err.trim()),
        ));
    }
    Ok(out.stdout)
}

/// Converts the downloaded qcow2 image `qcow2` of `role` to raw; returns the raw file (the
/// name without `.qcow2`, plus `.img`, as LAVA names it). The qcow2 copy is removed.
pub async fn to_raw(ctx: &Ctx, action: &str, role: &str, qcow2: &Path) -> Result<PathBuf, Failure> {
    let file = qcow2.display().to_string();
    let info = qemu_img(action, &["info", "--output=json", "-f", "qcow2", &file]).await?;
    let info: serde_json::Value = serde_json::from_slice(&info)
        .map_err(|e| Failure::job(action, format!("{role}: qemu-img info: {e}")))?;
    if info.get("backing-filename").is_some() {
        return Err(Failure::job(
            action,
            format!("{role}: a qcow2 image with a backing file is refused"),
        ));
    }
    let size = info
        .get("virtual-size")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| {
            Failure::job(
                action,
                format!("{role}: qemu-img info gave no virtual size"),
            )
        })?;
    let limit = ctx.settings.max_image_bytes;
    if size > limit {
        return Err(Failure::job(
            action,
            format!(
                "{role}: the qcow2 image is {} MiB as raw, more than {} MiB, the most the worker's jobs.max_image_mib allows",
                size >> 20,
                limit >> 20
            ),
        ));
    }
    let name = qcow2
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| role.to_string());
    let raw = qcow2.with_file_name(format!(
        "{}.img",
        name.strip_suffix(".qcow2").unwrap_or(&name)
    ));
    let partial = raw.with_extension("img.part");
    let part = partial.display().to_string();
    let args = ["convert", "-f", "qcow2", "-O", "raw", &file, &part];
    let converted = qemu_img(action, &args).await;
    if let Err(e) = converted {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &raw).map_err(|e| {
        Failure::infra(
            action,
            format!(
                "cannot move {} to {}: {e}",
                partial.display(),
                raw.display()
            ),
        )
    })?;
    let _ = std::fs::remove_file(qcow2);
    ctx.log.info(format!(
        "{role}: converted from qcow2 to raw, {size} bytes: {}",
        raw.display()
    ));
    Ok(raw)
}
