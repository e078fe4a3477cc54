//! The board's power command lines and device file, as LAVA's configuration would hold them.
//!
//! The commands run `pduclient`, which the caller passes in: it is a binary of
//! lava-dispatcher, and this crate must not depend on the dispatcher.

use std::path::Path;

use crate::command::quote_if_needed as shell_word;

use super::{FakeBoard, PDU_HOSTNAME, PDU_PORT, REBOOT_DELAY_SECS};

impl FakeBoard {
    /// `hard_reset_command`: a PDU reboot with a [`REBOOT_DELAY_SECS`] delay.
    pub fn hard_reset_command(&self, pduclient: &Path) -> String {
        let reboot = self.pduclient_command(pduclient, "reboot");
        format!("{reboot} --delay {REBOOT_DELAY_SECS}")
    }

    /// `power_off_cmd`: switch the board's PDU port off.
    pub fn power_off_cmd(&self, pduclient: &Path) -> String {
        self.pduclient_command(pduclient, "off")
    }

    /// `power_on_cmd`: switch the board's PDU port on.
    pub fn power_on_cmd(&self, pduclient: &Path) -> String {
        self.pduclient_command(pduclient, "on")
    }

    /// A device `.conf` file for this board: `hostname`, `device_type`,
    /// `connection_command`, `hard_reset_command`, `power_off_cmd` and `power_on_cmd`.
    pub fn device_conf(&self, hostname: &str, device_type: &str, pduclient: &Path) -> String {
        format!(
            "hostname = {hostname}\n\
             device_type = {device_type}\n\
             connection_command = {}\n\
             hard_reset_command = {}\n\
             power_off_cmd = {}\n\
             power_on_cmd = {}\n",
            self.connection_command(),
            self.hard_reset_command(pduclient),
            self.power_off_cmd(pduclient),
            self.power_on_cmd(pduclient),
        )
    }

    fn pduclient_command(&self, pduclient: &Path, command: &str) -> String {
        format!(
            "{} --daemon {} --hostname {PDU_HOSTNAME} --command {command} --port {PDU_PORT}",
            shell_word(&pduclient.display().to_string()),
            self.pdu_daemon(),
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::command::quote_if_needed as shell_word;

    #[test]
    fn paths_become_one_shell_word() {
        assert_eq!(shell_word("/usr/bin/pduclient"), "/usr/bin/pduclient");
        assert_eq!(
            shell_word("/tmp/my dir/pduclient"),
            "'/tmp/my dir/pduclient'"
        );
    }
}
