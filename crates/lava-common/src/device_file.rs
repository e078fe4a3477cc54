//! The first configuration file of a new device, as `add_device.py` writes it.
//!
//! One code path for `lava-server manage add-device` (and its `add_device.py` name) and
//! `lava-dev render device`, so the two never disagree.

use std::path::PathBuf;

use crate::conf::{ConfError, ConfFile};

/// What a new device's file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDevice<'a> {
    /// The device type (its `device-types/TYPE.conf` must exist).
    pub device_type: &'a str,
    /// The device's hostname.
    pub hostname: &'a str,
    /// The ser2net telnet port, for `connection_command`.
    pub telnet_port: Option<u16>,
    /// The PDU port, for `hard_reset_command` and `power_off_cmd`.
    pub pdu_port: Option<u16>,
}

/// The PDU command for `port`, as the seed gives it (port zero-padded to two digits).
pub fn pduclient_command(command: &str, port: u16) -> String {
    format!(
        "/usr/bin/pduclient --daemon localhost --hostname pdu --command {command} --port {port:02}"
    )
}

impl NewDevice<'_> {
    /// The file's content, keys in the seed's order: `hostname`, `device_type`,
    /// `connection_command`, `hard_reset_command`, `power_off_cmd`.
    pub fn render(&self, path: impl Into<PathBuf>) -> Result<ConfFile, ConfError> {
        let mut conf = ConfFile::new(path);
        conf.set("hostname", self.hostname)?;
        conf.set("device_type", self.device_type)?;
        if let Some(port) = self.telnet_port {
            conf.set("connection_command", &format!("telnet localhost {port}"))?;
        }
        if let Some(port) = self.pdu_port {
            conf.set("hard_reset_command", &pduclient_command("reboot", port))?;
            conf.set("power_off_cmd", &pduclient_command("off", port))?;
        }
        Ok(conf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_seed_example() {
        let d = NewDevice {
            device_type: "mx53loco",
            hostname: "foo",
            telnet_port: Some(4006),
            pdu_port: Some(5),
        };
        let text = d.render("/x/foo.conf").unwrap().to_string();
        assert_eq!(
            text,
            "hostname = foo\n\
             device_type = mx53loco\n\
             connection_command = telnet localhost 4006\n\
             hard_reset_command = /usr/bin/pduclient --daemon localhost --hostname pdu --command reboot --port 05\n\
             power_off_cmd = /usr/bin/pduclient --daemon localhost --hostname pdu --command off --port 05\n"
        );
    }

    #[test]
    fn without_ports_only_names() {
        let d = NewDevice {
            device_type: "kvm",
            hostname: "kvm02",
            telnet_port: None,
            pdu_port: None,
        };
        assert_eq!(
            d.render("/x/kvm02.conf").unwrap().to_string(),
            "hostname = kvm02\ndevice_type = kvm\n"
        );
    }
}
