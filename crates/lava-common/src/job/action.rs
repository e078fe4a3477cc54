//! The actions of a job plan: deploy, boot, test and (seed-era) submit results.
//!
//! Both formats map onto these types. Image names follow LAVA: a seed-era
//! `deploy_linaro_image` becomes one image named `image` (QEMU's `{DISK_IMAGE}`),
//! `deploy_linaro_kernel` becomes `kernel`, `ramdisk` and `dtb`. YAML's `initrd` plays the
//! same role as JSON's `ramdisk`; [`Deploy::ramdisk`] finds either.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::plan::opt_secs;

/// One step of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// What the step does.
    pub kind: ActionKind,
    /// This step's own timeout, overriding the job's action default.
    #[serde(with = "opt_secs")]
    pub timeout: Option<Duration>,
    /// How many times the step is tried before the job fails (`failure_retry`); each try
    /// has the step's whole timeout.
    #[serde(default)]
    pub failure_retry: Option<u32>,
    /// How long to wait between two tries (`failure_retry_interval`, in seconds).
    #[serde(default, with = "opt_secs")]
    pub failure_retry_interval: Option<Duration>,
    /// The action's `namespace`: what its results are filed under (LAVA's `common` when
    /// none). A job uses at most one (see [`super::yaml`]).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The action's own `timeouts`: LAVA's named steps inside it (`bootloader-commands`,
    /// `auto-login-action`, …), each with its own limit within the action's.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        with = "super::plan::map_secs"
    )]
    pub timeouts: BTreeMap<String, Duration>,
}

/// The most tries `failure_retry` may ask for.
pub const MAX_FAILURE_RETRY: u32 = 10;

/// The longest `failure_retry_interval`.
pub const MAX_FAILURE_RETRY_INTERVAL: Duration = Duration::from_secs(3600);

/// What an action does.
// A plan holds a handful of actions, built once per job: their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Fetch images and make them available to the device.
    Deploy(Deploy),
    /// Power on and boot to a shell.
    Boot(Boot),
    /// Run test definitions in the booted shell.
    Test(Test),
    /// File the results into a bundle stream (seed-era JSON only).
    SubmitResults(SubmitResults),
}

/// A deploy action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deploy {
    /// Where the images go.
    pub to: DeployTo,
    /// The images by name (`kernel`, `initrd`, `image`, …), in document order.
    pub images: Vec<(String, Image)>,
}

impl Deploy {
    /// The image with this name, if deployed.
    pub fn image(&self, name: &str) -> Option<&Image> {
        self.images.iter().find(|(n, _)| n == name).map(|(_, i)| i)
    }

    /// The initial ramdisk: YAML's `initrd` or seed-era JSON's `ramdisk`.
    pub fn ramdisk(&self) -> Option<&Image> {
        self.image("initrd").or_else(|| self.image("ramdisk"))
    }
}

/// Where a deploy puts its images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeployTo {
    /// Files on the worker (QEMU reads them directly); seed-era kernel deploys use this too.
    Tmpfs,
    /// Files served over TFTP to a bootloader.
    Tftp,
    /// A whole disk image (seed-era `deploy_linaro_image`).
    Image,
    /// A root file system exported over NFS, the kernel and ramdisk over TFTP.
    Nfs,
}

/// One image to deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// Where to fetch it (`http://`, `https://`, `file://`).
    pub url: String,
    /// How it is compressed; `None` when not compressed.
    pub compression: Option<Compression>,
    /// HTTP request headers sent with an http(s) download (`headers`), in document order;
    /// dropped when a redirect leaves the URL's origin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// A checksum to verify after download.
    pub checksum: Option<Checksum>,
    /// QEMU arguments with LAVA's `{kernel}`/`{initrd}`/`{rootfs}` placeholders.
    pub image_arg: Option<String>,
    /// A kernel's type (`type`), which picks U-Boot's boot command.
    #[serde(default)]
    pub kernel_type: Option<KernelType>,
    /// A ramdisk that already carries a U-Boot header (`header: u-boot`).
    #[serde(default)]
    pub uboot_header: bool,
    /// Whether the test overlay goes into this ramdisk or root file system
    /// (`install_overlay`, default true).
    #[serde(default = "yes")]
    pub install_overlay: bool,
    /// Whether the deploy's `modules` go into this ramdisk or root file system
    /// (`install_modules`, default true).
    #[serde(default = "yes")]
    pub install_modules: bool,
    /// `format: qcow2` without overlays (a tmpfs deploy's image, as LAVA 2023 takes it):
    /// converted to a raw image with `qemu-img` after download, and `{ROLE}` names the raw
    /// file.
    #[serde(default)]
    pub qcow2: bool,
    /// What goes into this image after download (`format: cpio.newc` with `overlays`): the
    /// files appended to it as more cpio archives, which the kernel unpacks over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlays: Option<ImageOverlays>,
}

/// An image's `overlays` (LAVA's append-overlays) and the `format` of the image they go
/// into.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageOverlays {
    /// What the image is, so how the overlays are written into it.
    #[serde(default)]
    pub into: OverlayTarget,
    /// For an ext4 file system inside a disk image: its partition, counted from 0 in the
    /// order of the partition table (`partition`, as LAVA counts it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    /// `sparse: true`: the ext4 image is an Android sparse image, expanded before the
    /// overlays are written and packed again after.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sparse: bool,
    /// `lava: true`: the job's test overlay goes into this image.
    pub lava: bool,
    /// The other overlays by name, in document order.
    pub files: Vec<(String, OverlayFile)>,
}

/// One named overlay of an image: a file or a tarball put at `path` inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverlayFile {
    /// Where to fetch it, how it is compressed, its checksum.
    pub source: Image,
    /// Whether it is one file or a tarball unpacked there.
    pub kind: OverlayKind,
    /// Where it goes inside the image: absolute, without `..`.
    pub path: String,
}

/// The `format` of an image that takes overlays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverlayTarget {
    /// `cpio.newc`: a ramdisk; each overlay follows it as one more cpio archive.
    #[default]
    Cpio,
    /// `ext4`: a raw ext4 file system image; the overlays are written into it with
    /// e2fsprogs' `debugfs`, without mounting it.
    Ext4,
    /// `tar`: a tarball (an NFS root file system); the overlays are appended to it as more
    /// entries, which extraction puts over the earlier ones.
    Tar,
}

/// An overlay's `format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverlayKind {
    /// One file, copied to `path`.
    File,
    /// A tarball, unpacked below `path`.
    Tar,
}

fn yes() -> bool {
    true
}

impl Image {
    /// An image at `url` with nothing else said about it.
    pub fn at(url: impl Into<String>) -> Image {
        Image {
            url: url.into(),
            compression: None,
            headers: Vec::new(),
            checksum: None,
            image_arg: None,
            kernel_type: None,
            uboot_header: false,
            install_overlay: true,
            install_modules: true,
            qcow2: false,
            overlays: None,
        }
    }
}

/// The type of a kernel image (`type:` of a deploy's kernel), as LAVA names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelType {
    /// A 32-bit ARM zImage: `bootz`.
    Zimage,
    /// An arm64 (or RISC-V) Image: `booti`.
    Image,
    /// A uImage, with a U-Boot header: `bootm`.
    Uimage,
}

impl KernelType {
    /// The job's names for the types.
    pub const NAMES: [(&'static str, KernelType); 3] = [
        ("zimage", KernelType::Zimage),
        ("image", KernelType::Image),
        ("uimage", KernelType::Uimage),
    ];

    /// LAVA's name.
    pub fn as_str(self) -> &'static str {
        match self {
            KernelType::Zimage => "zimage",
            KernelType::Image => "image",
            KernelType::Uimage => "uimage",
        }
    }
}

/// How an image is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// gzip (`compression: gz`).
    Gz,
    /// xz (`compression: xz`).
    Xz,
    /// bzip2 (`compression: bz2`).
    Bz2,
    /// zstd (`compression: zstd`).
    Zstd,
    /// A zip archive of one member (`compression: zip`), deflated or stored.
    Zip,
}

/// An expected checksum of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    /// The hash function.
    pub algorithm: ChecksumAlgorithm,
    /// The expected digest, lowercase hex.
    pub hex: String,
}

/// A hash function for image checksums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChecksumAlgorithm {
    /// MD5 (`md5sum`).
    Md5,
    /// SHA-256 (`sha256sum`).
    Sha256,
    /// SHA-512 (`sha512sum`).
    Sha512,
}

impl ChecksumAlgorithm {
    /// The job key naming this algorithm and the length of its hex digest.
    pub const KEYS: [(&'static str, ChecksumAlgorithm, usize); 3] = [
        ("md5sum", ChecksumAlgorithm::Md5, 32),
        ("sha256sum", ChecksumAlgorithm::Sha256, 64),
        ("sha512sum", ChecksumAlgorithm::Sha512, 128),
    ];
}

/// A boot action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boot {
    /// How to boot.
    pub method: BootMethod,
    /// Bootloader commands given by the job (a YAML list, seed-era `boot_cmds`).
    pub commands: Vec<String>,
    /// A command set of the device type, by name (YAML `commands: ramdisk`).
    #[serde(default)]
    pub command_set: Option<String>,
    /// Extra options (seed-era `boot_linaro_image.options`, appended to the QEMU command).
    pub options: Vec<String>,
    /// Regular expressions for the shell prompt after boot.
    pub prompts: Vec<String>,
    /// How to log in, when the target asks.
    pub auto_login: Option<AutoLogin>,
    /// How the target fetches the test overlay itself after login (`transfer_overlay`).
    #[serde(default)]
    pub transfer_overlay: Option<TransferOverlay>,
    /// The container image QEMU runs in (`docker`, QEMU boots only).
    #[serde(default)]
    pub docker: Option<super::docker::BootDocker>,
}

/// The target downloads and unpacks the test overlay itself (`transfer_overlay`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferOverlay {
    /// The command that fetches it: `{SERVER_IP}` and `{OVERLAY}` (its path on the TFTP
    /// server) are filled in; without either, `tftp://SERVER_IP/OVERLAY` is appended.
    pub download_command: String,
    /// The command that unpacks it; the file's name is appended.
    pub unpack_command: String,
}

/// How a boot action boots the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BootMethod {
    /// Start QEMU on the worker.
    Qemu,
    /// Interrupt U-Boot and send boot commands.
    UBoot,
    /// Power on and wait for the prompt.
    Minimal,
    /// Seed-era `boot_linaro_image`: the device's `client_type` decides.
    Device,
}

impl BootMethod {
    /// The YAML `method` names we support, in the order error messages list them.
    pub const SUPPORTED: [(&'static str, BootMethod); 3] = [
        ("qemu", BootMethod::Qemu),
        ("u-boot", BootMethod::UBoot),
        ("minimal", BootMethod::Minimal),
    ];
}

/// Automatic login after boot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoLogin {
    /// Regular expression for the login prompt.
    pub login_prompt: String,
    /// The user to log in as.
    pub username: String,
    /// Regular expression for the password prompt, if one is asked.
    pub password_prompt: Option<String>,
    /// The password, if one is asked.
    pub password: Option<String>,
    /// Commands to run right after logging in.
    pub login_commands: Vec<String>,
}

/// A test action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Test {
    /// The test definitions, run in order.
    pub definitions: Vec<TestDefinition>,
}

/// One test definition to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestDefinition {
    /// The name results are filed under.
    pub name: String,
    /// Where the definition comes from.
    pub source: TestSource,
    /// Parameters exported to the test as environment variables.
    pub parameters: BTreeMap<String, String>,
    /// `lava-signal: kmsg`: the test's markers go to the kernel log (`/dev/kmsg`), which the
    /// console shows, rather than to the shell's output.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kmsg: bool,
}

/// Where a test definition comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestSource {
    /// A file in a git repository.
    Git {
        /// The repository URL.
        repository: String,
        /// The definition's path inside the repository.
        path: String,
        /// A branch, tag or commit; the default branch when `None`.
        revision: Option<String>,
    },
    /// A definition file fetched from a URL (seed-era `testdef_urls`).
    Url {
        /// The file's URL.
        url: String,
    },
    /// A tarball of test definitions fetched from a URL (LAVA's YAML `from: url`), unpacked
    /// like a git checkout; the definition is the file at `path` inside it.
    Archive {
        /// The tarball's URL.
        url: String,
        /// How the tarball is compressed (`compression`); `None` for a plain tarball.
        compression: Option<Compression>,
        /// The definition's path inside the tarball.
        path: String,
    },
    /// A definition written in the job itself (`metadata`, `run`, `parse`).
    Inline {
        /// The definition mapping, as JSON.
        definition: Value,
    },
}

/// Where to file results (seed-era `submit_results`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitResults {
    /// The server's XML-RPC URL.
    pub server: String,
    /// The bundle stream pathname, like `/anonymous/lab-health/`.
    pub stream: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(url: &str) -> Image {
        Image::at(url)
    }

    #[test]
    fn ramdisk_finds_initrd_or_ramdisk() {
        let yaml = Deploy {
            to: DeployTo::Tmpfs,
            images: vec![("initrd".into(), image("file:///i"))],
        };
        let json = Deploy {
            to: DeployTo::Tmpfs,
            images: vec![("ramdisk".into(), image("file:///r"))],
        };
        assert_eq!(yaml.ramdisk().unwrap().url, "file:///i");
        assert_eq!(json.ramdisk().unwrap().url, "file:///r");
        assert!(json.image("kernel").is_none());
    }

    #[test]
    fn boot_method_serializes_with_lava_names() {
        let v = serde_json::to_value(BootMethod::UBoot).unwrap();
        assert_eq!(v, serde_json::json!("u-boot"));
    }
}
