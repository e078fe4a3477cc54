//! The worker's address as a board reaches it: `{SERVER_IP}` and `{NFS_SERVER_IP}` in boot
//! commands.
//!
//! In order: the device's own `server_ip` (a board on a network of its own sees the worker
//! under another address), the dispatcher's `network.dispatcher_ip`, and last the address
//! of the interface the default route leaves by (read from `/proc/net/route` and the
//! interface list; nothing is sent anywhere to find it).

use std::net::IpAddr;

use lava_common::device::Device;
use lava_common::dispatcher_settings::DispatcherSettings;

/// The address boards reach the worker on, or why none is known.
pub fn server_ip(device: &Device, settings: &DispatcherSettings) -> Result<String, String> {
    if let Some(ip) = &device.network.server_ip {
        return Ok(ip.clone());
    }
    if let Some(ip) = settings.dispatcher_ip {
        return Ok(ip.to_string());
    }
    default_route_address().ok_or_else(|| {
        format!(
            "the worker's address for boards is unknown: set network.dispatcher_ip in {} (or server_ip for the device); there is no default route to take it from",
            settings.file.display()
        )
    })
}

/// The IPv4 address of the interface of the default route.
fn default_route_address() -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/route").ok()?;
    let iface = default_route_interface(&table)?;
    let addrs = nix::ifaddrs::getifaddrs().ok()?;
    for a in addrs {
        if a.interface_name != iface {
            continue;
        }
        if let Some(sin) = a.address.as_ref().and_then(|s| s.as_sockaddr_in()) {
            return Some(IpAddr::V4(sin.ip()).to_string());
        }
    }
    None
}

/// The interface of the first usable default route in `/proc/net/route`'s text.
fn default_route_interface(table: &str) -> Option<String> {
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (iface, dest, flags) = (f.first()?, f.get(1)?, f.get(3)?);
        let up = u32::from_str_radix(flags, 16).ok()? & 1 == 1;
        (*dest == "00000000" && up).then(|| iface.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_route_is_read_from_the_kernels_table() {
        let table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n\
                     eth1\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\n\
                     eth0\t00000000\t0102000A\t0003\t0\t0\t0\t00000000\n";
        assert_eq!(default_route_interface(table).as_deref(), Some("eth0"));
        assert_eq!(default_route_interface("Iface\n"), None);
    }

    #[test]
    fn the_device_then_the_settings_name_the_address() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = crate::job::test_ctx(dir.path());
        ctx.settings.dispatcher_ip = Some("192.0.2.9".parse().unwrap());
        assert_eq!(server_ip(&ctx.device, &ctx.settings).unwrap(), "192.0.2.9");
        ctx.device.network.server_ip = Some("192.0.2.1".into());
        assert_eq!(server_ip(&ctx.device, &ctx.settings).unwrap(), "192.0.2.1");
    }
}
