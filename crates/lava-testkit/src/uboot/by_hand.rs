//! Booting the board "by hand", as a person at its console would: the images placed under
//! the TFTP root, the device type's `boot_cmds_ramdisk` with LAVA's placeholders filled in.
//!
//! This is the reference the dispatcher's board path is held against (tests, and the raw
//! boot bench), not a second dispatcher: one command set, one kernel type (`image`, so
//! `{BOOTX}` is `booti`), a ramdisk wrapped in a U-Boot header as the device type asks.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use lava_common::conf::DeviceConfig;

use crate::Error;
use crate::command::run;

use super::{BoardImage, UbootBoard};

/// A job's files on the TFTP server, as paths relative to the TFTP root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFiles {
    /// `{KERNEL}`.
    pub kernel: String,
    /// `{RAMDISK}`.
    pub ramdisk: String,
    /// `{DTB}`.
    pub dtb: String,
}

impl UbootBoard {
    /// The board's device configuration (its device file layered on its type), as the
    /// dispatcher reads it.
    pub fn device_config(&self) -> Result<DeviceConfig, Error> {
        Ok(DeviceConfig::load_file(
            &self.layout.etc(),
            &self.device_conf_path(),
        )?)
    }

    /// One key of [`UbootBoard::device_config`], interpolated; an error when it is unset.
    pub fn device_value(&self, key: &str) -> Result<String, Error> {
        self.device_config()?
            .get(key)?
            .ok_or_else(|| Error::BootCommands(format!("the device sets no {key}")))
    }

    /// Copies `image` to `<tftp root>/<job>/` (readable by tftpd-hpa's user), the ramdisk
    /// wrapped with `mkimage` as the device type's `ramdisk_uboot_header` asks.
    pub fn place_job_files(&self, job: &str, image: &BoardImage) -> Result<JobFiles, Error> {
        crate::uboot::dir::check_hostname(job)?;
        let dir = self.tftp_root().join(job);
        std::fs::create_dir_all(&dir).map_err(Error::io("create directory", &dir))?;
        set_mode(&dir, 0o755)?;
        let copy = |from: &Path, name: &str| -> Result<String, Error> {
            let to = dir.join(name);
            std::fs::copy(from, &to).map_err(Error::io("copy to", &to))?;
            set_mode(&to, 0o644)?;
            Ok(format!("{job}/{name}"))
        };
        let kernel = copy(&image.kernel, "Image")?;
        let dtb = copy(&image.dtb, "virt.dtb")?;
        let ramdisk = if self.device_value("ramdisk_uboot_header")? == "true" {
            let arch = self.device_value("uboot_mkimage_arch")?;
            let to = dir.join("ramdisk.cpio.gz.uboot");
            let mut mkimage = Command::new("mkimage");
            mkimage
                .args([
                    "-A", &arch, "-O", "linux", "-T", "ramdisk", "-C", "none", "-d",
                ])
                .arg(&image.ramdisk)
                .arg(&to);
            run(&mut mkimage, None)?;
            set_mode(&to, 0o644)?;
            format!("{job}/ramdisk.cpio.gz.uboot")
        } else {
            copy(&image.ramdisk, "ramdisk.cpio.gz")?
        };
        Ok(JobFiles {
            kernel,
            ramdisk,
            dtb,
        })
    }

    /// The device type's `boot_cmds_ramdisk` for `files` and a kernel of type `image`:
    /// `{BOOTX}` is `booti {KERNEL_ADDR} {RAMDISK_ADDR} {DTB_ADDR}` and the addresses are the
    /// `booti_*` ones. Refuses a placeholder it does not know.
    pub fn ramdisk_commands(&self, files: &JobFiles) -> Result<Vec<String>, Error> {
        let set = self.device_value("boot_cmds_ramdisk")?;
        let values = [
            (
                "{BOOTX}",
                "booti {KERNEL_ADDR} {RAMDISK_ADDR} {DTB_ADDR}".to_owned(),
            ),
            ("{SERVER_IP}", super::SERVER_IP.to_owned()),
            ("{KERNEL_ADDR}", self.device_value("booti_kernel_addr")?),
            ("{RAMDISK_ADDR}", self.device_value("booti_ramdisk_addr")?),
            ("{DTB_ADDR}", self.device_value("booti_dtb_addr")?),
            ("{KERNEL}", files.kernel.clone()),
            ("{RAMDISK}", files.ramdisk.clone()),
            ("{DTB}", files.dtb.clone()),
        ];
        set.lines()
            .map(|line| {
                let filled = values.iter().fold(line.to_owned(), |text, (key, value)| {
                    text.replace(key, value)
                });
                match unknown_placeholder(&filled) {
                    Some(name) => Err(Error::BootCommands(format!(
                        "boot_cmds_ramdisk line {line:?}: unknown placeholder {{{name}}}"
                    ))),
                    None => Ok(filled),
                }
            })
            .collect()
    }
}

/// Runs one of the device's power commands (`power_on_cmd`, …) as the dispatcher does:
/// through `sh -c`, failing when it fails.
pub fn run_power_command(board: &UbootBoard, key: &str) -> Result<(), Error> {
    let line = board.device_value(key)?;
    run(Command::new("/bin/sh").args(["-c", &line]), None).map(drop)
}

/// The `pduclient` of this build tree, for tests and benches: `LAVA_PDUCLIENT`, else the one
/// in the target directory the running test was built into (`target/debug/pduclient` for
/// `target/debug/deps/TEST`).
pub fn built_pduclient() -> Result<PathBuf, Error> {
    if let Some(path) = std::env::var_os("LAVA_PDUCLIENT") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().map_err(Error::io("find", "the running program"))?;
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join("pduclient"))
        .collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(Error::NoPduclient { looked: candidates })
}

/// The first `{NAME}` (capitals and `_`, as LAVA's placeholders) left in `text`; U-Boot's
/// own `${name}` variables are lower case.
fn unknown_placeholder(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let name = rest.split_once('}').map(|(name, _)| name)?;
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            return Some(name);
        }
    }
    None
}

fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    std::fs::set_permissions(path, PermissionsExt::from_mode(mode))
        .map_err(Error::io("chmod", path))
}

#[cfg(test)]
mod tests {
    use super::unknown_placeholder;

    #[test]
    fn finds_placeholders_but_not_uboot_variables() {
        assert_eq!(unknown_placeholder("setenv initrd_size ${filesize}"), None);
        assert_eq!(
            unknown_placeholder("tftp ${loadaddr} {KERNEL_ADR}"),
            Some("KERNEL_ADR")
        );
        assert_eq!(unknown_placeholder("echo {"), None);
    }
}
