use super::*;

const BOARD: &str = "\
character_delays:
      boot: 10
constants:
  u-boot:
    interrupt-prompt: 'Hit any key to stop autoboot'
    interrupt-character: ' '
    interrupt_ctrl_list: []
    interrupt-newline: True
    final-message: 'Starting kernel'
    error-messages:
      - 'Resetting CPU'
      - 'File not found'
commands:
    connect: telnet localhost 7001
    hard_reset: ['relay off 2', 'relay on 2']
    power_off: pduclient --command off
parameters:
  booti:
    kernel: '0x40400000'
    ramdisk: '0x44000000'
    dtb: '0x43f00000'
    tee: '0x83000000'
actions:
  deploy:
    parameters:
      add_header: u-boot
      mkimage_arch: arm64 # a comment
    methods:
      image:
      tftp:
      nbd:
  boot:
    connections:
      serial:
    methods:
      minimal:
      u-boot:
        parameters:
          bootloader_prompt: =>
          interrupt_prompt: Hit any key to stop autoboot
          interrupt_char: \"\"
          needs_interrupt: True
        ramdisk:
          commands:
          - \"setenv autoload no\"
          - \"tftp {TEE_ADDR} {TEE}\"
          - \"setenv bootargs 'console=ttyAMA0,115200n8 root=/dev/ram0 quiet ip=dhcp'\"
          - \"{BOOTX}\"
timeouts:
  actions:
    bootloader-interrupt:
      seconds: 30
    http-download:
      minutes: 5
  connections:
    uboot-commands:
      seconds: '30'
dispatcher_ip: 192.0.2.1
tftp_root: /srv/board
";

fn read(text: &str) -> Result<Device, DeviceError> {
    from_lava_yaml(text, "b1", "board", Path::new("/etc/devices/b1.jinja2"))
}

#[test]
fn a_uboot_device_is_read_whole() {
    let d = read(BOARD).unwrap();
    assert_eq!(d.client_type, ClientType::Bootloader);
    let c = d.connection.unwrap();
    assert_eq!(c.command, "telnet localhost 7001");
    assert_eq!(c.char_delay, Duration::from_millis(10));
    assert_eq!(d.power.hard_reset, ["relay off 2", "relay on 2"]);
    assert_eq!(d.power.power_off, ["pduclient --command off"]);
    assert!(d.power.power_on.is_empty());
    let b = d.bootloader.unwrap();
    assert_eq!(b.prompt, "=>");
    let i = b.interrupt.as_ref().unwrap();
    assert_eq!((i.text.as_str(), i.newline), ("", true));
    assert_eq!(b.boot_message.as_deref(), Some("Starting kernel"));
    let set = b.command_set("ramdisk").unwrap();
    assert_eq!(set.commands.len(), 4);
    assert_eq!(set.commands[1], "tftp {TEE_ADDR} {TEE}");
    assert_eq!(
        b.load_addresses[&BootCommand::Booti].kernel.as_deref(),
        Some("0x40400000")
    );
    assert!(b.ramdisk_uboot_header);
    assert_eq!(b.mkimage_arch.as_deref(), Some("arm64"));
    assert_eq!(b.error_messages, ["Resetting CPU", "File not found"]);
    assert_eq!(
        d.deploy_methods,
        [DeployMethod::Tmpfs, DeployMethod::Tftp, DeployMethod::Image]
    );
    assert_eq!(
        d.timeouts.actions["http-download"],
        Duration::from_secs(300)
    );
    assert_eq!(
        d.timeouts.connections["uboot-commands"],
        Duration::from_secs(30)
    );
    assert_eq!(d.network.server_ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(d.network.tftp_root, Some(PathBuf::from("/srv/board")));
    assert!(d.qemu.is_none());
}

#[test]
fn control_characters_interrupt_without_a_line_end() {
    let d = read(&BOARD.replace("interrupt_ctrl_list: []", "interrupt_ctrl_list: ['c']")).unwrap();
    let i = d.bootloader.unwrap().interrupt.unwrap();
    assert_eq!((i.text.as_str(), i.newline), ("\u{3}", false));
    let e =
        read(&BOARD.replace("interrupt_ctrl_list: []", "interrupt_ctrl_list: ['cc']")).unwrap_err();
    assert!(
        e.to_string()
            .contains("constants.u-boot.interrupt_ctrl_list: 'cc'"),
        "{e}"
    );
}

#[test]
fn bad_values_name_their_path() {
    for (from, to, want) in [
        (
            "kernel: '0x40400000'",
            "kernel: '0x4040;reset'",
            "parameters.booti.kernel: \"0x4040;reset\": expected an address",
        ),
        (
            "bootloader_prompt: =>",
            "bootloader_prompt: ''",
            "actions.boot.methods.u-boot.parameters.bootloader_prompt: not set",
        ),
        (
            "dispatcher_ip: 192.0.2.1",
            "dispatcher_ip: board",
            "dispatcher_ip: \"board\": expected an IP address",
        ),
        (
            "      seconds: '30'",
            "      seconds: soon",
            "timeouts.connections.uboot-commands.seconds: expected a whole number",
        ),
        (
            "mkimage_arch: arm64",
            "mkimage_arch: arm 64",
            "actions.deploy.parameters.mkimage_arch: expected one word",
        ),
        (
            "    connect: telnet localhost 7001",
            "    connections: {a: {connect: x}}",
            "commands.connections: several connections",
        ),
    ] {
        let e = read(&BOARD.replace(from, to)).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "device dictionary /etc/devices/b1.jinja2: rendered device yaml: {want}"
            )),
            "{e}"
        );
    }
    let e = read("a: [").unwrap_err().to_string();
    assert!(e.contains("(document): yaml syntax error"), "{e}");
}

#[test]
fn a_qemu_device_keeps_the_jobs_options_apart() {
    let text = "\
constants: {}
parameters: {pass: }
actions:
  deploy:
    methods:
      image:
  boot:
    connections:
      serial:
    methods:
      qemu:
        parameters:
          command:
            qemu-system-x86_64
          options:
          - -nographic
          - -net nic,model=virtio,macaddr=52:54:00:12:34:58 -net user
          - -m 512
          extra: ['-no-reboot', '-smp 2']
timeouts: {actions: {}, connections: {}}
";
    let d = read(text).unwrap();
    assert_eq!(d.client_type, ClientType::Qemu);
    let q = d.qemu.unwrap();
    assert_eq!(q.binary, "qemu-system-x86_64");
    assert_eq!(
        q.options,
        "-nographic -net nic,model=virtio,macaddr=52:54:00:12:34:58 -net user -m 512"
    );
    assert_eq!(q.job_options, ["-no-reboot", "-smp 2"]);
    assert_eq!(d.deploy_methods, [DeployMethod::Tmpfs, DeployMethod::Image]);
}
