//! An Android sparse image (`sparse: true` on an ext4 image with overlays): LAVA 2023 expands
//! it with `simg2img`, writes the overlays into the raw file system and packs it again with
//! `img2simg`, so the deploy hands over a sparse image as the job gave one. We do the same,
//! with the same tools (Debian's `android-sdk-libsparse-utils`), and bound the raw size by
//! the worker's `max_image_mib` before anything is expanded, read from the image's header.

use std::io::Read as _;
use std::path::Path;

use crate::command::Argv;
use crate::ext4::{self, Written};

/// The magic number that starts an Android sparse image (little-endian).
const MAGIC: u32 = 0xed26_ff3a;

/// The raw size an Android sparse image expands to: its block size times its block count,
/// from its 28-byte header. The error says why `image` is not one.
pub fn raw_size(image: &Path) -> Result<u64, String> {
    let mut head = [0u8; 28];
    std::fs::File::open(image)
        .and_then(|mut f| f.read_exact(&mut head))
        .map_err(|e| format!("cannot read {}: {e}", image.display()))?;
    let u32_at =
        |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    if u32_at(0) != MAGIC {
        return Err(format!(
            "{} is not an Android sparse image (sparse: true says it is)",
            image.display()
        ));
    }
    let major = u16::from_le_bytes([head[4], head[5]]);
    if major != 1 {
        return Err(format!(
            "{} is an Android sparse image of version {major}; version 1 is known",
            image.display()
        ));
    }
    Ok(u64::from(u32_at(12)) * u64::from(u32_at(16)))
}

/// Runs one of the sparse tools to its end, with no file it writes allowed past `limit`
/// bytes (util-linux `prlimit --fsize`: the header's size is the image's word, its chunks
/// could say more); the error names it and what it printed.
async fn tool(program: &str, from: &Path, to: &Path, limit: u64) -> Result<(), String> {
    let args = [
        format!("--fsize={limit}"),
        program.to_string(),
        from.display().to_string(),
        to.display().to_string(),
    ];
    let out = Argv::new("prlimit", args)
        .output()
        .await
        .map_err(|e| format!("cannot run {program} (install android-sdk-libsparse-utils): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Writes the tree `stage` into the sparse ext4 `image` (or into its `partition`): expanded
/// in `scratch` (at most `limit` bytes), written, and packed again over `image` through a
/// `.part` file, so a failure leaves `image` as it was.
pub async fn write_tree(
    image: &Path,
    partition: Option<u32>,
    stage: &Path,
    scratch: &Path,
    limit: u64,
) -> Result<Written, String> {
    let size = raw_size(image)?;
    if size > limit {
        return Err(format!(
            "the sparse image expands to {} MiB, more than {} MiB, the most the worker's jobs.max_image_mib allows",
            size >> 20,
            limit >> 20
        ));
    }
    let raw = scratch.join("unsparsed.img");
    let packed = image.with_extension("sparse.part");
    let result = async {
        tool("simg2img", image, &raw, size).await?;
        let written = match partition {
            None => ext4::write_tree(&raw, stage, scratch).await?,
            Some(p) => ext4::write_tree_in_partition(&raw, p, stage, scratch).await?,
        };
        tool("img2simg", &raw, &packed, limit).await?;
        std::fs::rename(&packed, image).map_err(|e| {
            format!(
                "cannot move {} to {}: {e}",
                packed.display(),
                image.display()
            )
        })?;
        Ok(written)
    }
    .await;
    let _ = std::fs::remove_file(&raw);
    let _ = std::fs::remove_file(&packed);
    result
}
