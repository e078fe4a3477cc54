//! Disk images that name other files of the host.
//!
//! Some image formats point QEMU at further files by path: a qcow2 image's backing file or
//! external data file, VMDK extents, QED, VHDX and VPC parents. A job's image of that kind
//! would let its guest read the worker host's files (`/etc/lava-dispatcher/worker.token` as
//! a backing file), whatever the QEMU command line says, because QEMU opens them itself.
//! So a deployed image is looked at once, by its first bytes, and refused if it is one.

use std::io::Read as _;
use std::path::Path;

/// Why an image is refused, or `None` when it names no other file.
pub fn names_host_files(path: &Path) -> std::io::Result<Option<String>> {
    let mut head = [0u8; 80];
    let mut file = std::fs::File::open(path)?;
    let mut n = 0;
    while n < head.len() {
        let got = file.read(&mut head[n..])?;
        if got == 0 {
            break;
        }
        n += got;
    }
    Ok(verdict(&head[..n]))
}

fn be_u32(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 4)
        .map(|s| u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])))
        .unwrap_or(0)
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    (be_u32(b, at) << 32) | be_u32(b, at + 4)
}

fn verdict(head: &[u8]) -> Option<String> {
    if head.starts_with(b"QFI\xfb") {
        if be_u64(head, 8) != 0 {
            return Some("it is a qcow2 image with a backing file".into());
        }
        // Version 3 headers have incompatible features; bit 2 is an external data file.
        if be_u32(head, 4) >= 3 && be_u64(head, 72) & 0b100 != 0 {
            return Some("it is a qcow2 image with an external data file".into());
        }
        return None;
    }
    let kinds: [(&[u8], &str); 5] = [
        (b"KDMV", "VMDK"),
        (b"# Disk DescriptorFile", "VMDK"),
        (b"QED\0", "QED"),
        (b"vhdxfile", "VHDX"),
        (b"conectix", "VPC"),
    ];
    kinds
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, kind)| format!("it is a {kind} image, which can name other files of the host"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qcow2(version: u32, backing: u64, incompatible: u64) -> Vec<u8> {
        let mut h = vec![0u8; 104];
        h[..4].copy_from_slice(b"QFI\xfb");
        h[4..8].copy_from_slice(&version.to_be_bytes());
        h[8..16].copy_from_slice(&backing.to_be_bytes());
        h[72..80].copy_from_slice(&incompatible.to_be_bytes());
        h
    }

    #[test]
    fn images_naming_other_files_are_found() {
        assert_eq!(verdict(&qcow2(3, 0, 0)), None);
        assert_eq!(verdict(&qcow2(2, 0, 0)), None);
        assert!(
            verdict(&qcow2(3, 0x1000, 0))
                .unwrap()
                .contains("backing file")
        );
        assert!(
            verdict(&qcow2(3, 0, 4))
                .unwrap()
                .contains("external data file")
        );
        assert!(verdict(b"# Disk DescriptorFile\nRW 8 FLAT \"/etc/shadow\" 0\n").is_some());
        assert!(verdict(b"KDMV\x01\0\0\0").is_some());
        assert_eq!(verdict(b"\x7fELF raw bytes of a kernel"), None);
        assert_eq!(verdict(b""), None);
    }

    #[test]
    fn reads_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("disk.qcow2");
        std::fs::write(&p, qcow2(3, 0x200, 0)).unwrap();
        assert!(names_host_files(&p).unwrap().is_some());
        std::fs::write(&p, b"short").unwrap();
        assert_eq!(names_host_files(&p).unwrap(), None);
    }
}
