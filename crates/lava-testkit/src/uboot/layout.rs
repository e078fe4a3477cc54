//! Where a board keeps its files under its directory `DIR`:
//!
//! ```text
//! DIR/board.env                         what a job writer needs, in shell syntax
//! DIR/etc/devices/HOSTNAME.conf         the device, for `lava-dispatch --device`
//! DIR/etc/device-types/uboot-qemu.conf  its type (lava-dispatch looks in ../device-types/)
//! DIR/tftp/                             the TFTP root, unless another one was given
//! DIR/run/                              scripts, daemon configuration, pid files, logs
//! ```
//!
//! Every process of the board carries `LAVA_UBOOT_BOARD=DIR/run` in its environment: that is
//! how teardown finds them all, QEMU started by pdudaemon and tftpd's children included.

use std::path::{Path, PathBuf};

use crate::Error;

/// The environment variable that marks the board's processes.
pub(crate) const MARKER_VAR: &str = "LAVA_UBOOT_BOARD";

/// `sockaddr_un.sun_path` holds 108 bytes with the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

/// The paths of one board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) dir: PathBuf,
    pub(crate) run: PathBuf,
}

impl Layout {
    /// The layout under `dir`, which must be absolute and plain enough to be written into
    /// shell scripts, pdudaemon's JSON and QEMU options unquoted.
    pub(crate) fn new(dir: &Path) -> Result<Self, Error> {
        check_plain(dir)?;
        let layout = Self {
            dir: dir.to_owned(),
            run: dir.join("run"),
        };
        let sock = layout.board_sock();
        let len = sock.as_os_str().len();
        if len > MAX_SOCKET_PATH {
            return Err(Error::BoardSocketTooLong {
                path: sock,
                len,
                max: MAX_SOCKET_PATH,
            });
        }
        Ok(layout)
    }

    pub(crate) fn board_env(&self) -> PathBuf {
        self.dir.join("board.env")
    }

    pub(crate) fn etc(&self) -> PathBuf {
        self.dir.join("etc")
    }

    pub(crate) fn device_conf(&self, hostname: &str) -> PathBuf {
        self.etc().join("devices").join(format!("{hostname}.conf"))
    }

    /// The board's LAVA device dictionary, where LAVA 2023 keeps them below `etc`.
    pub(crate) fn device_dictionary(&self, hostname: &str) -> PathBuf {
        self.etc()
            .join("lava-server/dispatcher-config/devices")
            .join(format!("{hostname}.jinja2"))
    }

    /// The board's LAVA device-type template, where LAVA 2023 keeps a lab's own types.
    pub(crate) fn device_type_template(&self) -> PathBuf {
        self.etc()
            .join("lava-server/dispatcher-config/device-types")
            .join(format!("{}.jinja2", super::DEVICE_TYPE))
    }

    pub(crate) fn device_type_conf(&self) -> PathBuf {
        self.etc()
            .join("device-types")
            .join(format!("{}.conf", super::DEVICE_TYPE))
    }

    pub(crate) fn default_tftp_root(&self) -> PathBuf {
        self.dir.join("tftp")
    }

    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.run.join(name)
    }

    /// The unix socket the serial line's socat listens on and QEMU connects to.
    pub(crate) fn board_sock(&self) -> PathBuf {
        self.file("board.sock")
    }

    /// `run/nsdev`: what the TFTP server's private mount namespace sees as `/dev`.
    pub(crate) fn nsdev(&self) -> PathBuf {
        self.file("nsdev")
    }

    /// Present when the board created the TFTP root, so that stopping removes it.
    pub(crate) fn owned_tftp_root_flag(&self) -> PathBuf {
        self.file("owned-tftp-root")
    }

    /// Present when the board created `DIR` itself, so that stopping removes it if empty.
    pub(crate) fn owned_dir_flag(&self) -> PathBuf {
        self.file("owned-dir")
    }

    /// `LAVA_UBOOT_BOARD=DIR/run`.
    pub(crate) fn marker(&self) -> String {
        format!("{MARKER_VAR}={}", self.run.display())
    }
}

/// Refuses paths that are relative or hold anything but `[A-Za-z0-9/._+@=-]`: they end up in
/// generated shell scripts, in pdudaemon's JSON and in `%`-formatted commands.
pub(crate) fn check_plain(path: &Path) -> Result<(), Error> {
    let text = path.to_str().unwrap_or("");
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._+@=-".contains(c);
    if path.is_absolute() && !text.is_empty() && text.chars().all(plain) {
        return Ok(());
    }
    Err(Error::UnsafePath {
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_the_board_directory() {
        let l = Layout::new(Path::new("/tmp/b1")).unwrap();
        assert_eq!(l.board_env(), Path::new("/tmp/b1/board.env"));
        assert_eq!(
            l.device_conf("uboot-qemu01"),
            Path::new("/tmp/b1/etc/devices/uboot-qemu01.conf")
        );
        assert_eq!(
            l.device_type_conf(),
            Path::new("/tmp/b1/etc/device-types/uboot-qemu.conf")
        );
        assert_eq!(l.board_sock(), Path::new("/tmp/b1/run/board.sock"));
        assert_eq!(l.marker(), "LAVA_UBOOT_BOARD=/tmp/b1/run");
    }

    #[test]
    fn refuses_paths_that_would_need_quoting() {
        for bad in [
            "rel/dir",
            "/tmp/a b",
            "/tmp/it's",
            "/tmp/50%",
            "/tmp/a\nb",
            "/tmp/$x",
        ] {
            let err = Layout::new(Path::new(bad)).unwrap_err();
            assert!(matches!(err, Error::UnsafePath { .. }), "{bad}: {err}");
        }
        let long = format!("/tmp/{}", "x".repeat(100));
        let err = Layout::new(Path::new(&long)).unwrap_err();
        assert!(matches!(err, Error::BoardSocketTooLong { .. }), "{err}");
    }
}
