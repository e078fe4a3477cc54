//! The board's machine: QEMU's arm64 `virt` running Debian's U-Boot, under TCG.
//!
//! The device tree handed to the kernel is QEMU's own description of this machine, dumped with
//! `-machine virt,dumpdtb=FILE` from the same options the board runs with, so the two cannot
//! disagree about memory or devices.

use std::path::Path;
use std::process::Command;

use crate::Error;
use crate::command::run;

/// The emulator, from Debian's `qemu-system-arm`.
pub const QEMU_BINARY: &str = "qemu-system-aarch64";

/// Debian's U-Boot build for QEMU's arm64 `virt` machine (package `u-boot-qemu`).
pub const UBOOT_BIOS: &str = "/usr/lib/u-boot/qemu_arm64/u-boot.bin";

/// CPU, accelerator (TCG: an x86 host cannot run arm64 guests natively), memory and the
/// absence of QEMU's default devices; shared by the board and the dtb dump.
const MACHINE: [&str; 10] = [
    "-cpu",
    "cortex-a57",
    "-accel",
    "tcg",
    "-m",
    "1024",
    "-smp",
    "1",
    "-nodefaults",
    "-no-user-config",
];

/// QEMU's arguments for the board, its console on the unix socket `console` (the serial
/// line's socat listens there) and its pid written to `pidfile` once it runs in the
/// background.
///
/// The network is QEMU's user-mode one: U-Boot and Linux get 10.0.2.15 and up by DHCP, and
/// whatever they send beyond 10.0.2.0/24 leaves from the network namespace QEMU runs in.
pub(crate) fn board_args(console: &Path, pidfile: &Path) -> Vec<String> {
    let mut args: Vec<String> = ["-machine", "virt"].map(String::from).to_vec();
    args.extend(MACHINE.map(String::from));
    args.extend(
        [
            "-bios",
            UBOOT_BIOS,
            "-display",
            "none",
            "-chardev",
            &format!("socket,id=console,path={}", option_value(console)),
            "-serial",
            "chardev:console",
            "-netdev",
            "user,id=net0",
            "-device",
            "virtio-net-pci,netdev=net0",
            "-daemonize",
            "-pidfile",
        ]
        .map(String::from),
    );
    args.push(pidfile.display().to_string());
    args
}

/// A path as a QEMU option value, where `,` must be doubled.
fn option_value(path: &Path) -> String {
    path.display().to_string().replace(',', ",,")
}

/// The options [`dump_dtb`] runs with, recorded next to the dtb to notice a change.
pub(crate) fn dtb_args() -> String {
    MACHINE.join(" ")
}

/// Writes the board's device tree to `out`, trimmed of QEMU's padding (1 MiB in all, a few
/// KiB of content: the rest would only slow down its TFTP transfer).
pub(crate) fn dump_dtb(out: &Path) -> Result<(), Error> {
    let mut cmd = Command::new(QEMU_BINARY);
    cmd.arg("-machine")
        .arg(format!("virt,dumpdtb={}", option_value(out)))
        .args(MACHINE)
        .args(["-bios", UBOOT_BIOS, "-display", "none"]);
    run(&mut cmd, None)?;
    let blob = std::fs::read(out).map_err(Error::io("read", out))?;
    let trimmed = trim_fdt(&blob).map_err(|reason| Error::BadImage {
        path: out.to_owned(),
        reason,
    })?;
    std::fs::write(out, trimmed).map_err(Error::io("write", out))
}

/// A flattened device tree cut to its content: `totalsize` set to where the last block
/// (structure or strings) ends.
fn trim_fdt(blob: &[u8]) -> Result<Vec<u8>, String> {
    let word = |at: usize| -> Result<u32, String> {
        let bytes = blob
            .get(at..at + 4)
            .ok_or_else(|| format!("truncated header ({} bytes)", blob.len()))?;
        Ok(u32::from_be_bytes(bytes.try_into().expect("4 bytes")))
    };
    if word(0)? != 0xd00d_feed {
        return Err(format!("no flattened device tree magic: {:#x}", word(0)?));
    }
    let version = word(20)?;
    if version < 17 {
        return Err(format!("version {version}; 17 or later has block sizes"));
    }
    let [total, struct_at, strings_at] = [word(4)?, word(8)?, word(12)?];
    let [strings_len, struct_len] = [word(32)?, word(36)?];
    let end = (struct_at.saturating_add(struct_len)).max(strings_at.saturating_add(strings_len));
    if end > total || end as usize > blob.len() {
        return Err(format!(
            "blocks end at {end}, beyond the blob ({total} bytes)"
        ));
    }
    let mut out = blob[..end as usize].to_vec();
    out[4..8].copy_from_slice(&end.to_be_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(
        total: u32,
        struct_at: u32,
        struct_len: u32,
        strings_at: u32,
        strings_len: u32,
    ) -> Vec<u8> {
        let words = [
            0xd00d_feed,
            total,
            struct_at,
            strings_at,
            40,
            17,
            16,
            0,
            strings_len,
            struct_len,
        ];
        let mut blob: Vec<u8> = words.iter().flat_map(|w: &u32| w.to_be_bytes()).collect();
        blob.resize(total as usize, 0);
        blob
    }

    #[test]
    fn trims_to_the_last_block_and_fixes_the_size() {
        let blob = header(4096, 56, 100, 156, 20);
        let trimmed = trim_fdt(&blob).unwrap();
        assert_eq!(trimmed.len(), 176);
        assert_eq!(trimmed[4..8], 176u32.to_be_bytes());
        assert_eq!(trimmed[8..], blob[8..176]);
    }

    #[test]
    fn refuses_what_is_no_device_tree() {
        assert!(trim_fdt(b"ELF").unwrap_err().contains("truncated"));
        let mut blob = header(4096, 56, 100, 156, 20);
        blob[0] = 0;
        assert!(trim_fdt(&blob).unwrap_err().contains("magic"));
        let blob = header(200, 56, 100, 156, 200);
        assert!(trim_fdt(&blob).unwrap_err().contains("beyond"));
    }

    #[test]
    fn the_console_path_is_one_option_value() {
        let args = board_args(Path::new("/tmp/a,b/board.sock"), Path::new("/tmp/q.pid"));
        assert!(args.contains(&"socket,id=console,path=/tmp/a,,b/board.sock".to_owned()));
        assert_eq!(args.last().unwrap(), "/tmp/q.pid");
        assert_eq!(&args[..2], ["-machine", "virt"]);
    }
}
