//! The images that boot on the board: an arm64 Debian kernel, a busybox initramfs and the
//! board's device tree, in `<workspace>/target/lava-images/uboot-arm64`.
//!
//! `share/create-uboot-image` (next to this crate's sources) builds the kernel and the
//! initramfs from Debian's packages; the device tree is dumped by QEMU itself
//! ([`super::qemu::dump_dtb`]). As for the kvm image, the build is serialised by a mutex in
//! the process and a lock directory between processes.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::Error;
use crate::image::{build_locked, newer_than, workspace_root};

use super::qemu;

/// The files a job deploys to the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardImage {
    /// The arm64 kernel of `linux-image-cloud-arm64`, uncompressed (`type: image`, booti).
    pub kernel: PathBuf,
    /// A busybox initramfs (newc, gzip, no U-Boot header): `lava-arm64 login: ` on
    /// ttyAMA0, `root` without password, prompt `root@lava-arm64:~# `.
    pub ramdisk: PathBuf,
    /// QEMU's device tree of the board's machine.
    pub dtb: PathBuf,
}

/// The board's images, built (once per process, under a lock between processes) when they
/// are missing or older than the script that makes them.
pub fn board_image() -> Result<BoardImage, Error> {
    static BUILT: Mutex<Option<BoardImage>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(image) = built.as_ref() {
        return Ok(image.clone());
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("share/create-uboot-image");
    let dir = workspace_root().join("target/lava-images/uboot-arm64");
    let image = BoardImage {
        kernel: dir.join("Image"),
        ramdisk: dir.join("ramdisk.cpio.gz"),
        dtb: dir.join("virt.dtb"),
    };
    let args_file = dir.join("virt.dtb.args");
    // Up to date: the kernel and ramdisk newer than the script, and the dtb dumped with the
    // board's current machine options.
    if !(newer_than(&[&image.kernel, &image.ramdisk], &script)
        && dtb_current(&image.dtb, &args_file))
    {
        build_locked(&script, &dir, || {
            if !dtb_current(&image.dtb, &args_file) {
                let tmp = dir.join(".virt.dtb.tmp");
                qemu::dump_dtb(&tmp)?;
                std::fs::rename(&tmp, &image.dtb).map_err(Error::io("rename", &tmp))?;
                std::fs::write(&args_file, qemu::dtb_args())
                    .map_err(Error::io("write", &args_file))?;
            }
            Ok(())
        })?;
    }
    *built = Some(image.clone());
    Ok(image)
}

fn dtb_current(dtb: &Path, args_file: &Path) -> bool {
    dtb.is_file() && std::fs::read_to_string(args_file).is_ok_and(|args| args == qemu::dtb_args())
}
