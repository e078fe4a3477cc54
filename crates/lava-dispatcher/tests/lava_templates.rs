//! The Jinja2 device reader against LAVA's real templates: Debian's `lava-server` 2023.01,
//! fetched at test time (`apt-get download`, `dpkg-deb -x` into `target/`), rendered here with
//! MiniJinja and by LAVA's own renderer (Python Jinja2, `lava_render.py`) for the same
//! dictionaries and job contexts. The text must be the same byte for byte, and the device
//! read from ours must have the U-Boot commands, load addresses, connection and power
//! commands that LAVA's YAML has.

use std::path::{Path, PathBuf};
use std::time::Instant;

use lava_common::device::{BootCommand, DeviceSource};
use lava_common::jinja::Renderer;
use lava_testkit::{PythonRender, lava_device_types, python_render};
use serde_json::{Value, json};

/// The dictionaries: the device types the issue names (a juno-r2 is LAVA's `juno` type),
/// each as a lab writes it, and the U-Boot QEMU board's own (over its type template in
/// `examples/dispatcher-config/device-types/`, itself over LAVA's `base-uboot.jinja2`).
const DICTIONARIES: [(&str, &str); 5] = [
    (
        "qemu01",
        "{% extends 'qemu.jinja2' %}\n{% set mac_addr = '52:54:00:12:34:59' %}\n{% set memory = 1024 %}\n",
    ),
    (
        "bbb01",
        "{% extends 'beaglebone-black.jinja2' %}\n{% set connection_command = 'telnet ser2net-host 7001' %}\n{% set hard_reset_command = 'pduclient --daemon pdu --hostname pdu1 --command reboot --port 1' %}\n{% set power_off_command = 'pduclient --daemon pdu --hostname pdu1 --command off --port 1' %}\n{% set power_on_command = 'pduclient --daemon pdu --hostname pdu1 --command on --port 1' %}\n",
    ),
    (
        "rpi4-01",
        "{% extends 'bcm2711-rpi-4-b.jinja2' %}\n{% set connection_command = 'telnet localhost 7002' %}\n{% set hard_reset_command = ['relay-ctl off 2', 'relay-ctl on 2'] %}\n{% set power_off_command = 'relay-ctl off 2' %}\n",
    ),
    (
        "juno-r2-01",
        "{% extends 'juno.jinja2' %}\n{% set connection_command = 'telnet localhost 7003' %}\n{% set usb_uuid = 'usb-SanDisk_Ultra_20060775320F43006019-0:0' %}\n{% set hard_reset_command = 'pduclient --daemon pdu --hostname pdu2 --command reboot --port 4' %}\n",
    ),
    (
        "x15-01",
        "{% extends 'x15.jinja2' %}\n{% set connection_command = 'telnet localhost 7004' %}\n{% set adb_serial_number = '1234567' %}\n{% set fastboot_serial_number = '1234567' %}\n",
    ),
];

/// The job contexts each dictionary is rendered with, as LAVA passes a job's `context`.
fn contexts() -> Vec<Value> {
    vec![
        json!({}),
        json!({"arch": "arm64"}),
        json!({"arch": "amd64", "memory": 2048, "extra_options": ["-smp 2"], "no_kvm": true}),
        json!({"extra_kernel_args": "quiet lava_marker=1", "console_device": "ttyS3",
               "boot_character_delay": 5, "booti_kernel_addr": "0x41000000",
               "bootloader_prompt": "U-Boot#", "uboot_needs_interrupt": true}),
    ]
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The dictionaries written into a temporary `devices/`, the board's from `examples/`.
fn devices_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in DICTIONARIES {
        std::fs::write(dir.path().join(format!("{name}.jinja2")), text).unwrap();
    }
    std::fs::copy(
        workspace().join("examples/dispatcher-config/devices/uboot-qemu01.jinja2"),
        dir.path().join("uboot-qemu01.jinja2"),
    )
    .unwrap();
    dir
}

fn names() -> Vec<&'static str> {
    let mut names: Vec<&str> = DICTIONARIES.iter().map(|(n, _)| *n).collect();
    names.push("uboot-qemu01");
    names
}

#[test]
fn lavas_templates_render_as_lava_renders_them() {
    let package = lava_device_types().unwrap();
    let devices = devices_dir();
    // The board's own type template (over LAVA's base-uboot.jinja2), then LAVA's types.
    let types = [
        workspace().join("examples/dispatcher-config/device-types"),
        package.device_types(),
    ];
    let dirs = vec![
        devices.path().to_path_buf(),
        types[0].clone(),
        types[1].clone(),
    ];
    let renderer = Renderer::new(dirs.clone());
    let mut requests = Vec::new();
    for name in names() {
        for context in contexts() {
            requests.push((format!("{name}.jinja2"), context));
        }
    }
    let python = python_render(&dirs, &requests).unwrap();
    let started = Instant::now();
    let mut checked_uboot = 0;
    for ((template, context), lava) in requests.iter().zip(&python) {
        let ours = renderer
            .render(template, context.as_object().unwrap())
            .unwrap_or_else(|e| panic!("{template} with {context}: {e}"));
        let PythonRender::Rendered { text, data } = lava else {
            panic!("LAVA's renderer refused {template} with {context}: {lava:?}");
        };
        assert!(
            ours == *text,
            "{template} with {context} differs from LAVA's rendering:\n{}",
            first_difference(&ours, text)
        );
        // The device read from our text holds what LAVA's YAML says.
        let source = DeviceSource::dictionary(&devices.path().join(template), &types).unwrap();
        let device = source
            .device(context.as_object().unwrap())
            .unwrap_or_else(|e| panic!("{template} with {context}: {e}"));
        assert_eq!(
            device.connection.as_ref().map(|c| c.command.as_str()),
            data["commands"]["connect"].as_str(),
            "{template}"
        );
        for (ours, key) in [
            (&device.power.hard_reset, "hard_reset"),
            (&device.power.power_off, "power_off"),
            (&device.power.power_on, "power_on"),
        ] {
            let lava: Vec<String> = match &data["commands"][key] {
                Value::Null => vec![],
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
                other => panic!("{template}: commands.{key} = {other}"),
            };
            assert_eq!(*ours, lava, "{template}: commands.{key}");
        }
        let uboot = &data["actions"]["boot"]["methods"]["u-boot"];
        if uboot.is_null() {
            assert!(device.bootloader.is_none(), "{template}");
            continue;
        }
        let bl = device.bootloader.as_ref().expect("a u-boot device");
        for (set, body) in uboot.as_object().unwrap() {
            let Some(commands) = body.get("commands") else {
                continue;
            };
            let lava: Vec<&str> = commands
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().trim())
                .collect();
            assert_eq!(
                bl.command_set(set).unwrap().commands,
                lava,
                "{template} with {context}: command set {set}"
            );
            checked_uboot += 1;
        }
        assert_eq!(
            bl.prompt,
            uboot["parameters"]["bootloader_prompt"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| uboot["parameters"]["bootloader_prompt"].to_string()),
            "{template}"
        );
        for command in BootCommand::ALL {
            let lava = &data["parameters"][command.as_str()];
            let ours = bl.load_addresses.get(&command);
            match ours {
                None => assert!(lava.is_null(), "{template}: parameters.{command}"),
                Some(a) => {
                    assert_eq!(a.kernel.as_deref(), lava["kernel"].as_str(), "{template}");
                    assert_eq!(a.ramdisk.as_deref(), lava["ramdisk"].as_str(), "{template}");
                    assert_eq!(a.dtb.as_deref(), lava["dtb"].as_str(), "{template}");
                }
            }
        }
    }
    let per_render = started.elapsed() / requests.len() as u32;
    eprintln!(
        "{} renders of LAVA {} templates identical to Python Jinja2's ({checked_uboot} U-Boot command sets checked); {per_render:?} per render and read",
        requests.len(),
        package.version
    );
    // The job's context reaches the U-Boot commands, through LAVA's own templates.
    let board =
        DeviceSource::dictionary(&devices.path().join("uboot-qemu01.jinja2"), &types).unwrap();
    assert_eq!(board.device_type(), "uboot-qemu");
    let context = json!({"extra_kernel_args": "quiet lava_marker=1"});
    let device = board.device(context.as_object().unwrap()).unwrap();
    let ramdisk = device.bootloader.unwrap().command_sets["ramdisk"].clone();
    assert!(
        ramdisk.commands.contains(
            &"setenv bootargs 'console=ttyAMA0,115200n8 root=/dev/ram0 quiet lava_marker=1 ip=dhcp'"
                .to_string()
        ),
        "{ramdisk:?}"
    );
    assert_eq!(device.network.server_ip.as_deref(), Some("192.0.2.1"));
}

/// Every device type LAVA ships, under a minimal dictionary: the same text as Python
/// Jinja2's, except `d03`, where Jinja2 scopes a variable `set` inside a block away from the
/// block nested in it and MiniJinja does not (LAVA renders `console=,` there; a GRUB board,
/// which this dispatcher does not boot).
#[test]
fn every_lava_device_type_renders_the_same() {
    let package = lava_device_types().unwrap();
    let devices = tempfile::tempdir().unwrap();
    let mut types: Vec<String> = std::fs::read_dir(package.device_types())
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".jinja2")?.to_string();
            (!stem.starts_with("base")).then_some(stem)
        })
        .collect();
    types.sort();
    assert!(types.len() > 300, "{} device types", types.len());
    let mut requests = Vec::new();
    for t in &types {
        std::fs::write(
            devices.path().join(format!("d-{t}.jinja2")),
            format!("{{% extends '{t}.jinja2' %}}\n{{% set connection_command = 'telnet localhost 7000' %}}\n"),
        )
        .unwrap();
        requests.push((format!("d-{t}.jinja2"), json!({"arch": "arm64"})));
    }
    let dirs = vec![devices.path().to_path_buf(), package.device_types()];
    let python = python_render(&dirs, &requests).unwrap();
    let renderer = Renderer::new(dirs);
    let started = Instant::now();
    let mut differ = Vec::new();
    for (((template, context), lava), t) in requests.iter().zip(&python).zip(&types) {
        let ours = renderer.render(template, context.as_object().unwrap());
        let same = match (&ours, lava) {
            (Ok(ours), PythonRender::Rendered { text, .. }) => ours == text,
            (Err(_), PythonRender::Failed(_)) => true,
            _ => false,
        };
        if !same {
            differ.push(t.clone());
        }
    }
    eprintln!(
        "{} LAVA device types rendered, {:?} per render",
        types.len(),
        started.elapsed() / types.len() as u32
    );
    assert_eq!(
        differ,
        ["d03"],
        "device types whose rendering differs from LAVA's"
    );
}

/// The first line where two texts differ, with its neighbours.
fn first_difference(ours: &str, lava: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), lava.lines().collect());
    let i = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    format!(
        "line {}:\n  ours: {:?}\n  LAVA: {:?}",
        i + 1,
        a.get(i),
        b.get(i)
    )
}

/// `lava-dispatch --render-device` prints the device YAML a job gets, as LAVA's renderer
/// makes it for the job's context (`device-dictionary --review`), finding LAVA's templates in
/// `../device-types/` beside the dictionary's directory.
#[test]
fn render_device_prints_what_lava_renders_for_the_job() {
    let package = lava_device_types().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let devices = dir.path().join("devices");
    std::fs::create_dir(&devices).unwrap();
    std::os::unix::fs::symlink(package.device_types(), dir.path().join("device-types")).unwrap();
    let (name, text) = DICTIONARIES[1];
    let dictionary = devices.join(format!("{name}.jinja2"));
    std::fs::write(&dictionary, text).unwrap();
    let job = dir.path().join("job.yaml");
    std::fs::write(
        &job,
        "job_name: review\ndevice_type: beaglebone-black\nvisibility: public\ntimeouts:\n  job: {minutes: 5}\ncontext:\n  extra_kernel_args: 'quiet lava_review=1'\n  console_device: ttyS2\nactions: []\n",
    )
    .unwrap();
    let ours = lava_testkit::stdout_of(
        std::process::Command::new(env!("CARGO_BIN_EXE_lava-dispatch"))
            .arg("--device")
            .arg(&dictionary)
            .arg("--render-device")
            .arg(&job)
            .env("LAVA_ROOT", dir.path().join("root")),
    )
    .unwrap();
    let context = json!({"extra_kernel_args": "quiet lava_review=1", "console_device": "ttyS2"});
    let lava = python_render(
        &[devices.clone(), package.device_types()],
        &[(format!("{name}.jinja2"), context)],
    )
    .unwrap();
    let PythonRender::Rendered { text, .. } = &lava[0] else {
        panic!("{lava:?}");
    };
    assert!(ours == *text, "{}", first_difference(&ours, text));
    assert!(ours.contains("lava_review=1"), "{ours}");
    assert!(ours.contains("console=ttyS2"), "{ours}");
}

/// The worker's `LAVA_QEMU_ACCEL=tcg` reaches a LAVA qemu dictionary as its templates say
/// it, `no_kvm`: no `-enable-kvm` and no `-cpu host`, whatever the job's context says; the
/// job's `no_kvm: false` does not undo it.
#[test]
fn the_workers_tcg_reaches_a_dictionary_as_no_kvm_over_the_job() {
    let package = lava_device_types().unwrap();
    let devices = devices_dir();
    let types = [package.device_types()];
    let path = devices.path().join("qemu01.jinja2");
    let options = |source: &DeviceSource, context: Value| {
        let device = source.device(context.as_object().unwrap()).unwrap();
        device.qemu.unwrap().options
    };
    let plain = DeviceSource::dictionary(&path, &types).unwrap();
    let kvm = options(&plain, json!({"arch": "amd64"}));
    assert!(
        kvm.contains("-enable-kvm") && kvm.contains("-cpu host"),
        "{kvm}"
    );
    let mut forced = DeviceSource::dictionary(&path, &types).unwrap();
    assert!(forced.force_context("no_kvm", Value::Bool(true)));
    for context in [
        json!({"arch": "amd64"}),
        json!({"arch": "amd64", "no_kvm": false}),
    ] {
        let tcg = options(&forced, context.clone());
        assert!(
            !tcg.contains("-enable-kvm") && !tcg.contains("-cpu host"),
            "{context}: {tcg}"
        );
    }
}
