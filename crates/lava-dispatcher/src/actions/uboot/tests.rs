use lava_common::conf::{ConfFile, DeviceConfig};
use lava_common::device::fill;

use super::*;

const TYPE: &str = "client_type = bootloader\nbootloader_prompt = =>\nserver_ip = 192.0.2.1\n\
    booti_kernel_addr = 0x40400000\nbooti_ramdisk_addr = 0x44000000\nbooti_dtb_addr = 0x43f00000\n\
    boot_cmds_ramdisk = tftp {RAMDISK_ADDR} {RAMDISK}\n    tftp {DTB_ADDR} {DTB}\n    {BOOTX}\n\
    boot_cmds_nfs = setenv bootargs root=/dev/nfs nfsroot={NFS_SERVER_IP}:{NFSROOTFS}\n\
    boot_cmds = boot\n";

fn ctx(dir: &std::path::Path) -> Ctx {
    let mut ctx = crate::job::test_ctx(dir);
    let conf = ConfFile::parse(std::path::Path::new("/t.conf"), TYPE).unwrap();
    ctx.device =
        lava_common::device::from_conf(&DeviceConfig::layered(&[&conf]), &Default::default())
            .unwrap();
    ctx
}

fn view(ramdisk: bool, header: bool, dtb: bool) -> View {
    View {
        kernel: Some("7/kernel/Image".into()),
        kernel_type: Some(KernelType::Image),
        ramdisk: ramdisk.then(|| "7/ramdisk/r".into()),
        ramdisk_header: header,
        dtb: dtb.then(|| "7/dtb/d.dtb".into()),
        nfs_root: None,
        type_may_come: false,
    }
}

fn filled(ctx: &Ctx, v: &View) -> Vec<String> {
    let bl = ctx.device.bootloader.clone().unwrap();
    let set = bl.command_set("ramdisk").unwrap().commands.clone();
    fill("ramdisk", &set, &substitutions(ctx, &bl, v))
        .unwrap()
        .commands
}

#[test]
fn bootx_follows_lava_for_each_ramdisk() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(dir.path());
    assert_eq!(
        filled(&ctx, &view(true, true, true)),
        [
            "tftp 0x44000000 7/ramdisk/r",
            "tftp 0x43f00000 7/dtb/d.dtb",
            "booti 0x40400000 0x44000000 0x43f00000"
        ]
    );
    assert_eq!(
        filled(&ctx, &view(true, false, true))[2],
        "booti 0x40400000 0x44000000:${initrd_size} 0x43f00000"
    );
    assert_eq!(
        filled(&ctx, &view(false, false, true)),
        [
            "tftp 0x43f00000 7/dtb/d.dtb",
            "booti 0x40400000 - 0x43f00000"
        ]
    );
    assert_eq!(
        filled(&ctx, &view(true, true, false)),
        ["tftp 0x44000000 7/ramdisk/r", "booti 0x40400000 0x44000000"]
    );
    let mut v = view(true, true, true);
    v.kernel_type = Some(KernelType::Zimage);
    let bl = ctx.device.bootloader.clone().unwrap();
    let set = bl.command_set("ramdisk").unwrap().commands.clone();
    let e = fill("ramdisk", &set, &substitutions(&ctx, &bl, &v)).unwrap_err();
    assert!(
        e.to_string().contains("defines no bootz_ramdisk_addr"),
        "{e}"
    );
}

#[test]
fn a_seed_era_boot_picks_the_set_for_what_was_deployed() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(dir.path());
    let boot = Boot {
        method: BootMethod::Device,
        commands: Vec::new(),
        command_set: None,
        options: Vec::new(),
        prompts: Vec::new(),
        auto_login: None,
        transfer_overlay: None,
        docker: None,
    };
    let pick = |v: &View| commands(&ctx, "t", &boot, v).map(|(set, _)| set).unwrap();
    assert_eq!(pick(&view(true, true, true)), "ramdisk");
    assert_eq!(pick(&view(false, false, false)), "default");
    let mut nfs = view(true, true, true);
    nfs.nfs_root = Some("/nfs/7".into());
    assert_eq!(pick(&nfs), "nfs");
    let mut yaml = boot.clone();
    yaml.method = BootMethod::UBoot;
    let e = commands(&ctx, "t", &yaml, &view(true, true, true)).unwrap_err();
    assert!(e.message.contains("needs commands"), "{e}");
    yaml.command_set = Some("usb".into());
    let e = commands(&ctx, "t", &yaml, &view(true, true, true)).unwrap_err();
    assert!(
        e.message
            .contains("has no boot command set 'usb' (it has: default, nfs, ramdisk)"),
        "{e}"
    );
    yaml.command_set = None;
    yaml.commands = vec!["ramdisk".into()];
    assert_eq!(
        commands(&ctx, "t", &yaml, &view(true, true, true))
            .unwrap()
            .0,
        "ramdisk"
    );
    yaml.commands = vec!["version".into(), "boot".into()];
    assert_eq!(
        commands(&ctx, "t", &yaml, &view(true, true, true))
            .unwrap()
            .0,
        "job"
    );
}
