//! The QEMU arguments a job may give: an allow-list, checked at submit and again by the
//! dispatcher before it builds the command.
//!
//! A job's `image_arg` (YAML) and `boot_linaro_image.options` (seed-era JSON) become QEMU
//! arguments on the worker host, where the job's author has no business. They are split
//! with shell-words rules (LAVA's jobs quote `-append "…"`), never given to a shell, and
//! every word must be an option of the list below with a value of the expected shape. A
//! value that names a file must be a placeholder of one of the job's own images (`{kernel}`),
//! so no host path can be handed to QEMU: that is also why `-drive` takes only `file=`
//! placeholders and the `raw`/`qcow2` formats, and why `-device` takes only storage devices.
//! The list is what LAVA's own QEMU jobs use (`-kernel`, `-initrd`, `-append`, `-dtb`,
//! `-bios`, `-drive …,file={rootfs}`, `-device virtio-blk-device,drive=…`), the seed's
//! `-m`/`-smp` boot options, and `-cpu`/`-machine` with the board features LAVA's
//! `qemu.jinja2` takes from a job's context.

use std::fmt;

/// How an allowed option's value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    /// No value.
    Flag,
    /// One of the job's images, as `{role}`.
    Image,
    /// Free text for the guest (the kernel command line).
    Text,
    /// A short word: digits, letters and `_.,=:+-` (sizes, counts).
    Word,
    /// `-drive` key=value pairs.
    Drive,
    /// `-device DRIVER,key=value…` for a storage device.
    Device,
    /// `-machine TYPE,key=value…` with the keys of [`MACHINE_KEYS`].
    Machine,
}

/// The options a job may give, and what each takes.
const OPTIONS: [(&str, Value); 13] = [
    ("-kernel", Value::Image),
    ("-initrd", Value::Image),
    ("-dtb", Value::Image),
    ("-bios", Value::Image),
    ("-append", Value::Text),
    ("-drive", Value::Drive),
    ("-device", Value::Device),
    ("-m", Value::Word),
    ("-smp", Value::Word),
    // The guest's CPU model and features (`max,pauth-impdef=on`), which name no file.
    ("-cpu", Value::Word),
    ("-machine", Value::Machine),
    ("-no-reboot", Value::Flag),
    ("-snapshot", Value::Flag),
];

/// `-drive` keys a job may set (`file` only as a placeholder, `format` from [`FORMATS`]).
const DRIVE_KEYS: [&str; 12] = [
    "file", "format", "if", "index", "media", "readonly", "id", "cache", "snapshot", "discard",
    "bus", "unit",
];

/// Disk formats a job may name: ones whose images cannot refer to other host files by
/// themselves (the dispatcher also refuses qcow2 images with a backing or data file).
const FORMATS: [&str; 2] = ["raw", "qcow2"];

/// `-device` drivers a job may add: storage for its own drives.
const DEVICES: [&str; 7] = [
    "virtio-blk-device",
    "virtio-blk-pci",
    "ide-hd",
    "ide-cd",
    "scsi-hd",
    "scsi-cd",
    "usb-storage",
];

/// `-machine` properties a job may set: the board's features, as LAVA's `qemu.jinja2` passes a
/// job's context `machine` (tuxlava's `virt,virtualization=on,gic-version=3,mte=on`). Not the
/// ones that read or write host files (`dtb`, `dumpdtb`, `firmware`, `kernel`, memory
/// backends) nor `accel`, which is the worker's choice.
const MACHINE_KEYS: [&str; 11] = [
    "virtualization",
    "gic-version",
    "mte",
    "secure",
    "highmem",
    "its",
    "iommu",
    "ras",
    "acpi",
    "smm",
    "usb",
];

/// `-device` properties a job may set.
const DEVICE_KEYS: [&str; 7] = ["drive", "id", "bus", "unit", "bootindex", "serial", "addr"];

/// The most words one `image_arg` or boot option may have.
const MAX_WORDS: usize = 128;

/// QEMU arguments that a job may not give; names the job key, its value and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct QemuArgError {
    /// The job key: `image_arg` or `options`.
    pub key: &'static str,
    /// The whole value as the job gave it.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for QemuArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} '{}' is refused: {}",
            self.key, self.value, self.reason
        )
    }
}

/// The options a job may give, for messages and documentation.
pub fn allowed_options() -> Vec<&'static str> {
    OPTIONS.iter().map(|(o, _)| *o).collect()
}

/// Checks an `image_arg` whose file placeholders must name one of `images` (the roles of
/// the job's images); returns its words, placeholders not yet filled in.
pub fn check_image_arg(arg: &str, images: &[&str]) -> Result<Vec<String>, QemuArgError> {
    check("image_arg", arg, images)
}

/// Checks one seed-era `boot_linaro_image` option (`"-m 512"`); it may not name files.
pub fn check_boot_option(option: &str) -> Result<Vec<String>, QemuArgError> {
    check("options", option, &[])
}

fn check(key: &'static str, text: &str, images: &[&str]) -> Result<Vec<String>, QemuArgError> {
    let refuse = |reason: String| QemuArgError {
        key,
        value: text.to_string(),
        reason,
    };
    let words = shlex::split(text).ok_or_else(|| refuse("unbalanced quotes".into()))?;
    if words.is_empty() {
        return Err(refuse("no QEMU option in it".into()));
    }
    if words.len() > MAX_WORDS {
        return Err(refuse(format!("more than {MAX_WORDS} words")));
    }
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        // QEMU takes `--append` for `-append`.
        let name = word
            .strip_prefix('-')
            .filter(|w| w.starts_with('-'))
            .unwrap_or(word);
        let Some((option, kind)) = OPTIONS.iter().find(|(o, _)| *o == name) else {
            return Err(refuse(format!(
                "'{word}' is not a QEMU option a job may give (allowed: {})",
                allowed_options().join(", ")
            )));
        };
        if *kind == Value::Flag {
            i += 1;
            continue;
        }
        let value = words
            .get(i + 1)
            .ok_or_else(|| refuse(format!("{option} needs a value")))?;
        value_ok(*kind, value, images).map_err(|why| refuse(format!("{option} {value}: {why}")))?;
        i += 2;
    }
    Ok(words)
}

fn value_ok(kind: Value, value: &str, images: &[&str]) -> Result<(), String> {
    match kind {
        Value::Flag | Value::Text => Ok(()),
        Value::Image => image(value, images),
        Value::Word => word(value),
        Value::Drive => {
            for (key, v) in pairs(value) {
                match (key, v) {
                    ("file", Some(v)) => image(v, images)?,
                    ("format", Some(v)) if !FORMATS.contains(&v) => {
                        return Err(format!(
                            "format '{v}' is not allowed (allowed: {})",
                            FORMATS.join(", ")
                        ));
                    }
                    ("readonly" | "snapshot", None) => {}
                    (k, Some(v)) if DRIVE_KEYS.contains(&k) => word(v)?,
                    (k, _) => return Err(format!("-drive key '{k}' is not allowed")),
                }
            }
            Ok(())
        }
        Value::Machine => {
            let mut parts = pairs(value).into_iter();
            match parts.next() {
                Some((machine, None)) => word(machine)?,
                _ => return Err("the machine type must come first".into()),
            }
            for (key, v) in parts {
                match v {
                    Some(v) if MACHINE_KEYS.contains(&key) => word(v)?,
                    _ => return Err(format!("-machine property '{key}' is not allowed")),
                }
            }
            Ok(())
        }
        Value::Device => {
            let mut parts = pairs(value).into_iter();
            match parts.next() {
                Some((driver, None)) if DEVICES.contains(&driver) => {}
                _ => {
                    return Err(format!("the device must be one of {}", DEVICES.join(", ")));
                }
            }
            for (key, v) in parts {
                match v {
                    Some(v) if DEVICE_KEYS.contains(&key) => word(v)?,
                    _ => return Err(format!("-device property '{key}' is not allowed")),
                }
            }
            Ok(())
        }
    }
}

/// `{role}` naming one of the job's images.
fn image(value: &str, images: &[&str]) -> Result<(), String> {
    if images.is_empty() {
        return Err("a job may not name files here".into());
    }
    let role = value.strip_prefix('{').and_then(|v| v.strip_suffix('}'));
    match role {
        Some(r) if images.contains(&r) => Ok(()),
        Some(r) => Err(format!("the job has no image '{r}'")),
        None => Err(format!(
            "a file must be one of the job's images, written {}",
            images
                .iter()
                .map(|i| format!("{{{i}}}"))
                .collect::<Vec<_>>()
                .join(" or ")
        )),
    }
}

fn word(value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.,=:+-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("'{value}' is not a plain word"))
    }
}

/// QEMU's `key=value,key=value` (a doubled comma is a comma in a value); a part without `=`
/// has no value.
fn pairs(text: &str) -> Vec<(&str, Option<&str>)> {
    let mut parts = Vec::new();
    let (mut start, mut i) = (0, 0);
    let bytes = text.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b',' {
            if bytes.get(i + 1) == Some(&b',') {
                i += 2;
                continue;
            }
            parts.push(&text[start..i]);
            start = i + 1;
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
        .into_iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (p, None),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGES: [&str; 6] = ["kernel", "initrd", "rootfs", "dtb", "iso", "hdimg"];

    #[test]
    fn lava_qemu_jobs_pass() {
        for arg in [
            "-kernel {kernel}",
            "-initrd {initrd}",
            "-dtb {dtb}",
            "-kernel {kernel} -append \"console=ttyS0,115200 root=/dev/ram0 rootdelay=3\"",
            "-kernel {kernel} --append 'root=/dev/ram0 rw rootwait console=ttyAMA0,38400n8'",
            "-drive format=raw,file={rootfs}",
            "-drive format=qcow2,file={rootfs}",
            "-drive file={iso},index=2,media=cdrom,readonly=on",
            "-drive file={iso},index=2,media=cdrom,readonly",
            "-drive if=none,file={hdimg},id=hd0,format=raw -device virtio-blk-device,drive=hd0",
            "-cpu max,pauth-impdef=on -machine virt,virtualization=on,gic-version=3,mte=on",
            "-machine q35 -cpu Nehalem",
        ] {
            let words = check_image_arg(arg, &IMAGES).unwrap_or_else(|e| panic!("{e}"));
            assert!(words.len() >= 2, "{arg}");
        }
        assert_eq!(check_boot_option("-m 512").unwrap(), ["-m", "512"]);
    }

    #[test]
    fn anything_else_is_refused_naming_the_value() {
        let refused = |arg: &str| check_image_arg(arg, &IMAGES).unwrap_err();
        let e = refused("-kernel {kernel} $(touch /tmp/x)");
        assert_eq!(
            e.to_string(),
            "image_arg '-kernel {kernel} $(touch /tmp/x)' is refused: '$(touch' is not a QEMU option a job may give (allowed: -kernel, -initrd, -dtb, -bios, -append, -drive, -device, -m, -smp, -cpu, -machine, -no-reboot, -snapshot)"
        );
        for (arg, why) in [
            ("-kernel /etc/passwd", "one of the job's images"),
            ("-kernel {nosuch}", "no image 'nosuch'"),
            (
                "-drive file=/etc/shadow,format=raw",
                "one of the job's images",
            ),
            ("-drive file={rootfs},format=vmdk", "format 'vmdk'"),
            (
                "-drive file={rootfs},file.filename=/etc/passwd",
                "key 'file.filename'",
            ),
            ("-device vfio-pci,host=01:00.0", "must be one of"),
            ("-device virtio-blk-pci,romfile=/etc/passwd", "'romfile'"),
            ("-monitor tcp:0:4444,server", "'-monitor' is not"),
            ("-m '512; reboot'", "not a plain word"),
            ("-machine virt,dumpdtb=x.dtb", "-machine property 'dumpdtb'"),
            ("-machine virt,dtb=Image", "-machine property 'dtb'"),
            ("-machine virt,accel=kvm", "-machine property 'accel'"),
            (
                "-machine virt,memory-backend=m",
                "-machine property 'memory-backend'",
            ),
            ("-machine gic-version=3", "the machine type must come first"),
            ("-cpu max,x=/etc/passwd", "not a plain word"),
            ("-append", "needs a value"),
            ("-kernel '{kernel}", "unbalanced quotes"),
            ("", "no QEMU option"),
        ] {
            let e = refused(arg);
            assert!(e.reason.contains(why), "{arg}: {e}");
            assert_eq!(e.value, arg);
        }
        let e = check_boot_option("-kernel {kernel}").unwrap_err();
        assert_eq!(e.key, "options");
        assert!(e.reason.contains("may not name files"), "{e}");
    }

    #[test]
    fn doubled_commas_stay_in_values() {
        assert_eq!(
            pairs("file={rootfs},id=a,,b,readonly"),
            [
                ("file", Some("{rootfs}")),
                ("id", Some("a,,b")),
                ("readonly", None)
            ]
        );
    }
}
