//! A device's first config file: the very code path `add_device.py` uses
//! ([`lava_common::device_file::NewDevice`]), so the two never disagree.

use lava_common::device_file::NewDevice;
use lava_common::ids::check_name;

use crate::Result;

/// The `.conf` text of a new device.
pub fn render(
    device_type: &str,
    hostname: &str,
    telnet_port: Option<u16>,
    pdu_port: Option<u16>,
) -> Result<String> {
    check_name("device type", device_type)?;
    check_name("device", hostname)?;
    let conf = NewDevice {
        device_type,
        hostname,
        telnet_port,
        pdu_port,
    }
    .render(format!("{hostname}.conf"))?;
    Ok(conf.to_string())
}
