use std::path::Path;

use serde_json::json;

use super::*;
use crate::device::Placeholder;

const TYPE: &str = "\
client_type = bootloader
interrupt_boot_prompt = Hit any key to stop autoboot
interrupt_boot_command =
bootloader_prompt = =>
image_boot_msg = Starting kernel
console_device = ttyAMA0
extra_kernel_args =
booti_kernel_addr = 0x40400000
booti_ramdisk_addr = 0x44000000
booti_dtb_addr = 0x43f00000
bootm_kernel_addr = 0x48000000
ramdisk_uboot_header = true
uboot_mkimage_arch = arm64
boot_cmds_ramdisk = dhcp
    tftp {KERNEL_ADDR} {KERNEL}
    setenv bootargs 'console=%(console_device)s %(extra_kernel_args)s'
    {BOOTX}
boot_cmds = boot
login_prompt = login:
username = root
action_timeout_uboot-action = 120
";

const DEVICE: &str = "\
device_type = uboot-qemu
hostname = b1
connection_command = telnet 127.0.0.1 7000
hard_reset_command = pduclient --command reboot
server_ip = 192.0.2.1
tftp_root = /srv/b1
char_delay_ms = 5
";

fn conf(ty: &str, dev: &str) -> DeviceConfig {
    let t = ConfFile::parse(Path::new("/etc/device-types/uboot-qemu.conf"), ty).unwrap();
    let d = ConfFile::parse(Path::new("/etc/devices/b1.conf"), dev).unwrap();
    DeviceConfig::layered(&[&t, &d])
}

#[test]
fn a_uboot_board_is_read_whole() {
    let d = from_conf(&conf(TYPE, DEVICE), &Map::new()).unwrap();
    assert_eq!(d.hostname, "b1");
    assert_eq!(d.client_type, ClientType::Bootloader);
    assert_eq!(d.deploy_methods, [DeployMethod::Tftp, DeployMethod::Nfs]);
    let c = d.connection.unwrap();
    assert_eq!(c.command, "telnet 127.0.0.1 7000");
    assert_eq!(c.char_delay, Duration::from_millis(5));
    assert_eq!(d.power.hard_reset, ["pduclient --command reboot"]);
    assert!(d.power.power_off.is_empty());
    let b = d.bootloader.unwrap();
    assert_eq!(b.prompt, "=>");
    assert_eq!(b.interrupt.as_ref().unwrap().text, "");
    assert_eq!(b.boot_message.as_deref(), Some("Starting kernel"));
    let ramdisk = b.command_set("ramdisk").unwrap();
    assert_eq!(ramdisk.commands.len(), 4);
    assert_eq!(ramdisk.commands[2], "setenv bootargs 'console=ttyAMA0 '");
    assert_eq!(b.command_set("default").unwrap().commands, ["boot"]);
    let booti = &b.load_addresses[&BootCommand::Booti];
    assert_eq!(booti.dtb.as_deref(), Some("0x43f00000"));
    assert_eq!(b.load_addresses[&BootCommand::Bootm].dtb, None);
    assert!(!b.load_addresses.contains_key(&BootCommand::Bootz));
    assert!(b.ramdisk_uboot_header);
    assert_eq!(b.mkimage_arch.as_deref(), Some("arm64"));
    assert!(b.error_messages.iter().any(|m| m == "TFTP error"));
    assert_eq!(d.network.server_ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(d.network.tftp_root, Some(PathBuf::from("/srv/b1")));
    assert_eq!(d.timeouts.actions["uboot-action"], Duration::from_secs(120));
    assert_eq!(d.login.username.as_deref(), Some("root"));
    assert!(d.qemu.is_none());
}

#[test]
fn the_jobs_context_fills_the_types_references_and_nothing_else() {
    let context = json!({"console_device": "ttyS2", "extra_kernel_args": "quiet 100%",
        "connection_command": "sh -c 'rm -rf /'", "arch": "arm64"});
    let d = from_conf(&conf(TYPE, DEVICE), context.as_object().unwrap()).unwrap();
    let b = d.bootloader.unwrap();
    assert_eq!(
        b.command_set("ramdisk").unwrap().commands[2],
        "setenv bootargs 'console=ttyS2 quiet 100%'"
    );
    assert_eq!(d.connection.unwrap().command, "telnet 127.0.0.1 7000");
    for bad in [json!("a\nreset"), json!(["x"]), json!("x".repeat(1025))] {
        let context = json!({ "extra_kernel_args": bad });
        let e = from_conf(&conf(TYPE, DEVICE), context.as_object().unwrap()).unwrap_err();
        assert!(
            e.to_string().starts_with("context.extra_kernel_args: "),
            "{e}"
        );
    }
}

#[test]
fn bad_values_name_their_file_and_line() {
    let e = from_conf(
        &conf(&TYPE.replace("0x43f00000", "0x43f0;reset"), DEVICE),
        &Map::new(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/device-types/uboot-qemu.conf:10: booti_dtb_addr = \"0x43f0;reset\": expected an address such as 0x40400000"
    );
    let e = from_conf(
        &conf(TYPE, &DEVICE.replace("192.0.2.1", "board; reset")),
        &Map::new(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/etc/devices/b1.conf:5: server_ip"),
        "{e}"
    );
    let e = from_conf(
        &conf(&TYPE.replace("bootloader_prompt = =>\n", ""), DEVICE),
        &Map::new(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "device b1: bootloader_prompt is not set (a bootloader device needs it); set it in /etc/devices/b1.conf"
    );
    let e = from_conf(
        &conf(&TYPE.replace("uboot_mkimage_arch = arm64\n", ""), DEVICE),
        &Map::new(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("uboot_mkimage_arch is not set"),
        "{e}"
    );
    let e = from_conf(
        &conf(&TYPE.replace("= true", "= maybe"), DEVICE),
        &Map::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("expected true or false"), "{e}");
}

#[test]
fn a_qemu_device_gets_kernel_args_and_the_extra_ones() {
    let ty = "client_type = qemu\nqemu_options = -m 512\n";
    let d = from_conf(&conf(ty, "device_type = kvm\n"), &Map::new()).unwrap();
    let q = d.qemu.unwrap();
    assert_eq!(q.binary, "qemu-system-x86_64");
    assert_eq!(q.kernel_args, "console=ttyS0,115200 panic=-1");
    assert_eq!(d.hostname, "b1", "the file's name when hostname is unset");
    assert_eq!(d.deploy_methods, [DeployMethod::Tmpfs, DeployMethod::Image]);
    let context = json!({"extra_kernel_args": "quiet"});
    let d = from_conf(
        &conf(ty, "device_type = kvm\n"),
        context.as_object().unwrap(),
    )
    .unwrap();
    assert_eq!(
        d.qemu.unwrap().kernel_args,
        "console=ttyS0,115200 panic=-1 quiet"
    );
    let _ = Placeholder::Bootx;
}
