//! Kernel images: their type (which picks U-Boot's boot command) and the U-Boot header.
//!
//! A seed-era job names no kernel type; the file says it: a uImage starts with U-Boot's
//! magic, an arm64 Image has `ARM\x64` at offset 56, a 32-bit ARM zImage has its magic at
//! offset 0x24, and an x86 bzImage (which U-Boot boots only with `zboot`) has `HdrS` at
//! 0x202.

use std::io::Read as _;
use std::path::Path;

use lava_common::device::BootCommand;
use lava_common::job::KernelType;

/// The first bytes of a file with a legacy U-Boot header (`mkimage`), big-endian.
pub const UIMAGE_MAGIC: [u8; 4] = [0x27, 0x05, 0x19, 0x56];

/// The length of that header.
pub const UIMAGE_HEADER_LEN: usize = 64;

/// What the start of a kernel file says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// One of the types U-Boot boots.
    Type(KernelType),
    /// An x86 bzImage.
    X86,
    /// Nothing known.
    Unknown,
}

/// Reads the start of `path` and tells its type.
pub fn detect(path: &Path) -> std::io::Result<Detected> {
    let mut head = Vec::with_capacity(0x210);
    std::fs::File::open(path)?
        .take(0x210)
        .read_to_end(&mut head)?;
    Ok(detect_bytes(&head))
}

fn detect_bytes(head: &[u8]) -> Detected {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if at(0, &UIMAGE_MAGIC) {
        Detected::Type(KernelType::Uimage)
    } else if at(56, b"ARM\x64") || at(48, b"RISCV\0\0\0") {
        Detected::Type(KernelType::Image)
    } else if at(0x24, &[0x18, 0x28, 0x6f, 0x01]) {
        Detected::Type(KernelType::Zimage)
    } else if at(0x202, b"HdrS") {
        Detected::X86
    } else {
        Detected::Unknown
    }
}

/// Whether the file at `path` starts with a U-Boot header.
pub fn has_uboot_header(path: &Path) -> std::io::Result<bool> {
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)?.read(&mut head)?;
    Ok(n == 4 && head == UIMAGE_MAGIC)
}

/// U-Boot's command for a kernel type, as LAVA maps them.
pub fn boot_command(t: KernelType) -> BootCommand {
    match t {
        KernelType::Zimage => BootCommand::Bootz,
        KernelType::Image => BootCommand::Booti,
        KernelType::Uimage => BootCommand::Bootm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_told_by_their_magic() {
        let mut arm64 = vec![0u8; 64];
        arm64[56..60].copy_from_slice(b"ARM\x64");
        assert_eq!(detect_bytes(&arm64), Detected::Type(KernelType::Image));
        let mut zimage = vec![0u8; 64];
        zimage[0x24..0x28].copy_from_slice(&0x016f_2818u32.to_le_bytes());
        assert_eq!(detect_bytes(&zimage), Detected::Type(KernelType::Zimage));
        let mut uimage = vec![0u8; 64];
        uimage[..4].copy_from_slice(&UIMAGE_MAGIC);
        assert_eq!(detect_bytes(&uimage), Detected::Type(KernelType::Uimage));
        let mut bz = vec![0u8; 0x210];
        bz[0x202..0x206].copy_from_slice(b"HdrS");
        assert_eq!(detect_bytes(&bz), Detected::X86);
        assert_eq!(detect_bytes(b"short"), Detected::Unknown);
        assert_eq!(boot_command(KernelType::Image), BootCommand::Booti);
    }
}
