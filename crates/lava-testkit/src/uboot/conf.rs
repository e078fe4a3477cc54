//! What the board tells its users: the device `.conf` (with its type next to it, where
//! `lava-dispatch --device` looks) and `board.env`, in shell syntax, for job writers.

use std::path::Path;

use lava_common::conf::escape;

use crate::Error;
use crate::command::quote_if_needed;

use super::{BoardImage, DEVICE_TYPE, SERVER_IP, UbootBoard};
use crate::{PDU_HOSTNAME, PDU_PORT, REBOOT_DELAY_SECS};

/// The device type, as shipped in `examples/device-types/uboot-qemu.conf`.
pub const DEVICE_TYPE_CONF: &str =
    include_str!("../../../../examples/device-types/uboot-qemu.conf");

/// The device type as a LAVA 2023 device-type template, as shipped in
/// `examples/dispatcher-config/device-types/uboot-qemu.jinja2`.
pub const DEVICE_TYPE_TEMPLATE: &str =
    include_str!("../../../../examples/dispatcher-config/device-types/uboot-qemu.jinja2");

/// The prompt of a root shell on the board's image.
pub const SHELL_PROMPT: &str = "root@lava-arm64:~#";

impl UbootBoard {
    /// The device `.conf`: console, power through `pduclient`, and where the board's TFTP
    /// server is (`server_ip`, as the board sees it) and which directory it serves
    /// (`tftp_root`).
    pub fn device_conf(&self, pduclient: &Path) -> String {
        let pdu = |command: &str| {
            format!(
                "{} --daemon {} --hostname {} --command {command} --port {PDU_PORT}",
                escape(&quote_if_needed(&pduclient.display().to_string())),
                self.pdu_daemon(),
                PDU_HOSTNAME,
            )
        };
        format!(
            "# The U-Boot QEMU board in {dir} (lava-lab board start; see\n\
             # ../device-types/{DEVICE_TYPE}.conf). Its TFTP server serves tftp_root and is\n\
             # server_ip as the board sees it.\n\
             device_type = {DEVICE_TYPE}\n\
             hostname = {hostname}\n\
             connection_command = {connection}\n\
             hard_reset_command = {reboot} --delay {REBOOT_DELAY_SECS}\n\
             power_off_cmd = {off}\n\
             power_on_cmd = {on}\n\
             server_ip = {SERVER_IP}\n\
             tftp_root = {root}\n",
            dir = escape(&self.dir().display().to_string()),
            hostname = self.hostname(),
            connection = self.connection_command(),
            reboot = pdu("reboot"),
            off = pdu("off"),
            on = pdu("on"),
            root = escape(&self.tftp_root().display().to_string()),
        )
    }

    /// The same device as a LAVA 2023 device dictionary over the `uboot-qemu` device-type
    /// template ([`DEVICE_TYPE_TEMPLATE`], itself over LAVA's own `base-uboot.jinja2` from
    /// Debian's `lava-server`, not shipped here). The worker's address and TFTP root as the
    /// board sees them go in the two keys of our own the device YAML may carry
    /// (`dispatcher_ip`, `tftp_root`; LAVA keeps those per worker).
    pub fn device_dictionary(&self, pduclient: &Path) -> String {
        let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
        let pdu = |command: &str| {
            format!(
                "{} --daemon {} --hostname {} --command {command} --port {PDU_PORT}",
                quote_if_needed(&pduclient.display().to_string()),
                self.pdu_daemon(),
                PDU_HOSTNAME,
            )
        };
        format!(
            "{{# The U-Boot QEMU board in {dir} (lava-lab board start), as a LAVA 2023 device\n   \
             dictionary: the same board as {hostname}.conf. #}}\n\
             {{% extends '{DEVICE_TYPE}.jinja2' %}}\n\
             {{% set connection_command = {connection} %}}\n\
             {{% set hard_reset_command = {reboot} %}}\n\
             {{% set power_off_command = {off} %}}\n\
             {{% set power_on_command = {on} %}}\n\
             {{% block timeouts %}}\n\
             {{{{ super() }}}}\n\
             dispatcher_ip: {SERVER_IP}\n\
             tftp_root: {root}\n\
             {{% endblock timeouts %}}\n",
            dir = self.dir().display(),
            hostname = self.hostname(),
            connection = quote(&self.connection_command()),
            reboot = quote(&format!("{} --delay {REBOOT_DELAY_SECS}", pdu("reboot"))),
            off = quote(&pdu("off")),
            on = quote(&pdu("on")),
            root = quote(&self.tftp_root().display().to_string()),
        )
    }

    /// `board.env`: `name='value'` lines a shell can source, naming the device file and
    /// images that boot on the board to a shell.
    pub fn board_env(&self, image: &BoardImage) -> String {
        let url = |p: &Path| format!("file://{}", p.display());
        let vars: [(&str, String); 19] = [
            ("BOARD_DIR", self.dir().display().to_string()),
            (
                "DEVICE_DICTIONARY",
                self.layout
                    .device_dictionary(self.hostname())
                    .display()
                    .to_string(),
            ),
            (
                "DEVICE_CONF",
                self.layout
                    .device_conf(self.hostname())
                    .display()
                    .to_string(),
            ),
            ("DEVICE_TYPE", DEVICE_TYPE.to_owned()),
            ("DEVICE_HOSTNAME", self.hostname().to_owned()),
            ("KERNEL_URL", url(&image.kernel)),
            ("KERNEL_TYPE", "image".to_owned()),
            ("RAMDISK_URL", url(&image.ramdisk)),
            ("DTB_URL", url(&image.dtb)),
            ("LOGIN_PROMPT", "login:".to_owned()),
            ("USERNAME", "root".to_owned()),
            ("SHELL_PROMPT", SHELL_PROMPT.to_owned()),
            ("TFTP_ROOT", self.tftp_root().display().to_string()),
            ("SERVER_IP", SERVER_IP.to_owned()),
            (
                "TFTPD_LOG",
                self.layout.file("tftpd.log").display().to_string(),
            ),
            ("CONNECTION_COMMAND", self.connection_command()),
            ("TELNET_PORT", self.telnet_port().to_string()),
            ("PDU_DAEMON", self.pdu_daemon()),
            ("PDU_PORT", PDU_PORT.to_string()),
        ];
        let mut text = format!(
            "# The U-Boot QEMU board in {}: `. board.env` in a shell.\n\
             # A job deploys KERNEL_URL (type KERNEL_TYPE), RAMDISK_URL and DTB_URL with\n\
             # deploy to: tftp, boots with method u-boot, commands ramdisk, and logs in at\n\
             # LOGIN_PROMPT as USERNAME; the shell prompt is SHELL_PROMPT.\n",
            self.dir().display()
        );
        for (name, value) in vars {
            text.push_str(&format!("{name}={}\n", crate::command::shell_quote(&value)));
        }
        text
    }
}

/// Writes `text` to `path` through a temporary file and a rename, so a reader never sees
/// half of it.
pub(crate) fn write_atomic(path: &Path, text: &str) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).map_err(Error::io("create directory", dir))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(Error::io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(Error::io("rename", &tmp))
}
