//! What the board needs from the machine, checked before anything starts, so that a missing
//! package is named instead of surfacing as a daemon that "did not start".

use std::path::Path;

use crate::Error;

use super::qemu::{QEMU_BINARY, UBOOT_BIOS};

/// (program or file, Debian package that provides it).
const NEEDED: [(&str, &str); 11] = [
    (QEMU_BINARY, "qemu-system-arm"),
    (UBOOT_BIOS, "u-boot-qemu"),
    ("in.tftpd", "tftpd-hpa"),
    ("ser2net", "ser2net"),
    ("pdudaemon", "pdudaemon"),
    ("socat", "socat"),
    ("ip", "iproute2"),
    ("unshare", "util-linux"),
    ("nsenter", "util-linux"),
    ("/usr/bin/python3", "python3"),
    ("apt-get", "apt"),
];

/// Fails naming the first missing package, or when we are not root (a network namespace
/// and tftpd-hpa's chroot need it).
pub(crate) fn check() -> Result<(), Error> {
    for (what, package) in NEEDED {
        if !available(what) {
            return Err(Error::MissingTool {
                tool: what.to_owned(),
                package: package.to_owned(),
            });
        }
    }
    if !is_root() {
        return Err(Error::NeedsRoot);
    }
    Ok(())
}

/// Whether `what` (an absolute path, or a program looked up in `PATH` and the sbin
/// directories, where `ip` and `in.tftpd` live) exists.
fn available(what: &str) -> bool {
    if what.starts_with('/') {
        return Path::new(what).exists();
    }
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .any(|dir| !dir.is_empty() && Path::new(dir).join(what).is_file())
}

/// Whether the effective user is root, from `/proc/self/status` (this crate has no unsafe).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_in_sbin_too() {
        assert!(available("sh"));
        assert!(available("/bin/sh"));
        assert!(!available("no-such-program-here"));
    }
}
