//! The shipped example device and device-type configs: each parses, each device layers on its
//! type, and the values the dispatcher will use come out as intended.

use std::fs;
use std::path::{Path, PathBuf};

use lava_common::conf::{ConfFile, DeviceConfig};

/// `examples/` has the layout of `/etc/lava-dispatcher`, so it serves as `dispatcher_etc`.
fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Every `*.conf` under `examples/DIR`, sorted.
fn confs(dir: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(examples().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    paths.sort();
    paths
}

const NETWORK: &str = "-nographic -no-reboot -net nic,model=virtio -net user";

const PDU: &str = "/usr/bin/pduclient --daemon localhost --hostname pdu --command";

/// The dummy board's shell: the host's /usr read-only in a private root, nothing else.
const DUMMY_SHELL: &str = "bwrap --unshare-all --die-with-parent --cap-drop ALL --clearenv\n\
    --setenv PATH /usr/bin:/bin --setenv HOME / --setenv PS1 \"# \"\n\
    --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib\n\
    --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin\n\
    --proc /proc --dev /dev --tmpfs /tmp --chdir / /bin/sh -i";

/// (device file stem, [(key, interpolated value)]).
fn expected() -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let qemu_common = |ty: &'static str, host: &'static str| {
        vec![
            ("device_type", ty.to_owned()),
            ("hostname", host.to_owned()),
            ("client_type", "qemu".to_owned()),
            ("qemu_binary", "qemu-system-x86_64".to_owned()),
            ("login_prompt", "login:".to_owned()),
            ("username", "root".to_owned()),
        ]
    };
    let mut kvm = qemu_common("kvm", "kvm01");
    kvm.push(("qemu_accel", "kvm:tcg".to_owned()));
    kvm.push((
        "qemu_options",
        format!("-machine accel=kvm:tcg -m 512 {NETWORK}"),
    ));
    let mut qemu = qemu_common("qemu", "qemu01");
    qemu.push(("qemu_accel", "tcg".to_owned()));
    qemu.push((
        "qemu_options",
        format!("-accel tcg -m 512 -smp 1 {NETWORK}"),
    ));
    let board = vec![
        ("device_type", "mx53loco".to_owned()),
        ("hostname", "board01".to_owned()),
        ("client_type", "bootloader".to_owned()),
        ("connection_command", "telnet localhost 4006".to_owned()),
        ("hard_reset_command", format!("{PDU} reboot --port 05")),
        ("power_off_cmd", format!("{PDU} off --port 05")),
        ("power_on_cmd", format!("{PDU} on --port 05")),
        ("bootloader_prompt", "=>".to_owned()),
        (
            "interrupt_boot_prompt",
            "Hit any key to stop autoboot".to_owned(),
        ),
        ("interrupt_boot_command", String::new()),
        (
            "boot_cmds",
            [
                "setenv autoload no",
                "setenv bootargs console=ttymxc0,115200 root=/dev/mmcblk0p2 rootwait ro",
                "fatload mmc 0:1 0x70800000 uImage",
                "bootm 0x70800000",
            ]
            .join("\n"),
        ),
        ("image_boot_msg", "Starting kernel".to_owned()),
        ("login_prompt", "login:".to_owned()),
        ("username", "root".to_owned()),
        ("password", String::new()),
    ];
    let uboot_pdu = "/usr/bin/pduclient --daemon 127.0.0.1:17121 --hostname pdu --command";
    let uboot_cmds = |bootargs: &str| {
        [
            "setenv autoload no",
            "setenv initrd_high 0xffffffff",
            "setenv fdt_high 0xffffffff",
            "dhcp",
            "setenv serverip {SERVER_IP}",
            "tftp {KERNEL_ADDR} {KERNEL}",
            "tftp {RAMDISK_ADDR} {RAMDISK}",
            "setenv initrd_size ${filesize}",
            "tftp {DTB_ADDR} {DTB}",
            &format!("setenv bootargs 'console=ttyAMA0,115200 {bootargs}'"),
            "{BOOTX}",
        ]
        .join("\n")
    };
    let uboot = vec![
        ("device_type", "uboot-qemu".to_owned()),
        ("hostname", "uboot-qemu01".to_owned()),
        ("client_type", "bootloader".to_owned()),
        ("connection_command", "telnet 127.0.0.1 17101".to_owned()),
        (
            "hard_reset_command",
            format!("{uboot_pdu} reboot --port 5 --delay 1"),
        ),
        ("power_off_cmd", format!("{uboot_pdu} off --port 5")),
        ("power_on_cmd", format!("{uboot_pdu} on --port 5")),
        ("server_ip", "192.0.2.1".to_owned()),
        ("tftp_root", "/srv/tftp".to_owned()),
        (
            "interrupt_boot_prompt",
            "Hit any key to stop autoboot".to_owned(),
        ),
        ("interrupt_boot_command", String::new()),
        ("bootloader_prompt", "=>".to_owned()),
        ("image_boot_msg", "Starting kernel".to_owned()),
        ("console_device", "ttyAMA0".to_owned()),
        ("baud_rate", "115200".to_owned()),
        ("extra_kernel_args", String::new()),
        ("booti_kernel_addr", "0x40400000".to_owned()),
        ("booti_ramdisk_addr", "0x44000000".to_owned()),
        ("booti_dtb_addr", "0x43f00000".to_owned()),
        ("bootm_kernel_addr", "0x48000000".to_owned()),
        ("bootm_ramdisk_addr", "0x44000000".to_owned()),
        ("bootm_dtb_addr", "0x43f00000".to_owned()),
        ("ramdisk_uboot_header", "true".to_owned()),
        ("uboot_mkimage_arch", "arm64".to_owned()),
        ("boot_cmds_ramdisk", uboot_cmds("")),
        (
            "boot_cmds_nfs",
            uboot_cmds("root=/dev/nfs rw nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard ip=dhcp "),
        ),
        ("login_prompt", "login:".to_owned()),
        ("username", "root".to_owned()),
        ("password", String::new()),
    ];
    let dummy = vec![
        ("device_type", "dummy".to_owned()),
        ("hostname", "dummy01".to_owned()),
        ("client_type", "dummy".to_owned()),
        ("deploy_methods", "tmpfs".to_owned()),
        ("connection_command", DUMMY_SHELL.to_owned()),
    ];
    vec![
        ("board01", board),
        ("dummy01", dummy),
        ("kvm", kvm),
        ("qemu01", qemu),
        ("uboot-qemu01", uboot),
    ]
}

#[test]
fn every_example_conf_parses() {
    let types = confs("device-types");
    let devices = confs("devices");
    assert_eq!(types.len(), 5, "{types:?}");
    assert_eq!(devices.len(), 5, "{devices:?}");
    for path in types.iter().chain(&devices) {
        let file = ConfFile::read(path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!file.entries().is_empty(), "{}", path.display());
    }
}

#[test]
fn every_device_conf_layers_on_its_type() {
    let etc = examples();
    let want = expected();
    let stems: Vec<String> = confs("devices")
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(stems, want.iter().map(|(s, _)| *s).collect::<Vec<_>>());
    for (stem, values) in want {
        let config = DeviceConfig::load(&etc, stem).unwrap_or_else(|e| panic!("{e}"));
        let ty = config.raw("device_type").unwrap().to_owned();
        assert_eq!(
            config.layers(),
            [
                etc.join("device-types").join(format!("{ty}.conf")),
                etc.join("devices").join(format!("{stem}.conf")),
            ]
        );
        let map = config.to_map().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            config.unknown_keys().is_empty(),
            "{stem}: unknown keys {:?}",
            config.unknown_keys()
        );
        // Every example reads into the device model the dispatcher works from.
        let device = lava_common::device::from_conf(&config, &Default::default())
            .unwrap_or_else(|e| panic!("{stem}: {e}"));
        if stem == "uboot-qemu01" {
            let b = device.bootloader.as_ref().expect("a bootloader");
            assert!(b.command_set("ramdisk").is_some() && b.command_set("nfs").is_some());
            assert_eq!(
                b.load_addresses[&lava_common::device::BootCommand::Booti]
                    .kernel
                    .as_deref(),
                Some("0x40400000")
            );
            assert_eq!(device.network.server_ip.as_deref(), Some("192.0.2.1"));
        }
        for (key, value) in &values {
            let got = config.get(key).unwrap();
            assert_eq!(got.as_deref(), Some(value.as_str()), "{stem}: {key}");
        }
        // Nothing set that the table above does not check.
        let mut keys: Vec<&str> = map.iter().map(|(k, _)| k.as_str()).collect();
        let mut checked: Vec<&str> = values.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        checked.sort_unstable();
        assert_eq!(keys, checked, "{stem}");
    }
}

#[test]
fn kvm_type_conf_keeps_the_accel_reference_raw() {
    let ty = ConfFile::read(examples().join("device-types/kvm.conf")).unwrap();
    assert_eq!(
        ty.get("qemu_options").unwrap(),
        format!("-machine accel=%(qemu_accel)s -m 512 {NETWORK}")
    );
}
