//! One image of a YAML deploy (`images.NAME`, or a tftp/nfs deploy's `kernel`, `ramdisk`, …)
//! with LAVA 2023's keys: where it comes from, its checksum and compression, how QEMU takes
//! it, and what goes into it before it boots (`format: cpio.newc` with `overlays`).
//!
//! LAVA writes overlays into three kinds of image; we write them into a newc cpio ramdisk, by
//! appending more cpio archives (the kernel unpacks them over the first, the same tree
//! LAVA's re-packed archive gives), and into a raw ext4 image (with `debugfs`, as LAVA's
//! ext4 back end does, also into one `partition` of a disk image), and appended to a `tar`
//! image as more entries; in every deploy method, as LAVA's download applies them.
//! `format: qcow2` without overlays is an image converted to raw after download, in a tmpfs
//! deploy. An ext4 image's `sparse: true` (an Android sparse image) is expanded, written and
//! packed again, as LAVA does. `root_partition` (fastboot's) and `archive` (a directory as the
//! image, for LAVA's downloads and LXC deploys) are refused by name, never ignored.

use super::action::{
    Checksum, ChecksumAlgorithm, Compression, DeployTo, Image, ImageOverlays, KernelType,
    OverlayFile, OverlayKind, OverlayTarget,
};
use super::error::JobError;
use super::reader::{At, MapAt};

/// The keys of the download of an image or of one of its overlays (LAVA's `deploy.url()`).
const DOWNLOAD: [&str; 6] = [
    "url",
    "compression",
    "md5sum",
    "sha256sum",
    "sha512sum",
    "headers",
];

/// Parse one image of a deploy to `to`, named `role`.
pub(crate) fn image(at: &At<'_>, role: &str, to: DeployTo) -> Result<Image, JobError> {
    let map = at.map()?;
    let mut keys = DOWNLOAD.to_vec();
    keys.extend([
        "archive",
        "image_arg",
        "format",
        "overlays",
        "partition",
        "sparse",
        "type",
        "header",
        "install_overlay",
        "install_modules",
        "root_partition",
    ]);
    map.deny_unknown(&keys)?;
    refuse_unsupported(&map)?;
    if let Some(at) = map.get("root_partition") {
        return Err(at.error(
            "root_partition (the partition of a disk image that holds the root file system) is not supported",
        ));
    }
    let only = |key: &str, roles: &[&str]| -> Result<Option<At<'_>>, JobError> {
        match map.get_some(key) {
            Some(v) if !roles.contains(&role) => Err(v.error(format!(
                "{key} applies to {} images only",
                roles.join(" and ")
            ))),
            v => Ok(v),
        }
    };
    let kernel_type = match only("type", &["kernel"])? {
        None => None,
        Some(t) => {
            let name = t.str()?.to_ascii_lowercase();
            match KernelType::NAMES.iter().find(|(n, _)| *n == name) {
                Some((_, k)) => Some(*k),
                None => {
                    return Err(t.error(format!(
                        "unknown kernel type '{name}' (supported: zimage, image, uimage)"
                    )));
                }
            }
        }
    };
    let uboot_header = match only("header", &["ramdisk", "initrd"])? {
        None => false,
        Some(h) => match h.str()? {
            "u-boot" => true,
            other => {
                return Err(h.error(format!("unknown header '{other}' (supported: u-boot)")));
            }
        },
    };
    let flag = |key: &str| -> Result<bool, JobError> {
        only(key, &["ramdisk", "initrd", "nfsrootfs"])?
            .map(|b| b.bool())
            .transpose()
            .map(|b| b.unwrap_or(true))
    };
    Ok(Image {
        image_arg: map.opt_str("image_arg")?,
        kernel_type,
        uboot_header,
        install_overlay: flag("install_overlay")?,
        install_modules: flag("install_modules")?,
        qcow2: qcow2(&map, to)?,
        overlays: overlays(&map)?,
        ..download(&map)?
    })
}

/// `archive`, which LAVA 2023 accepts on any download: it makes the image a directory, which
/// none of the deploys we run can take.
fn refuse_unsupported(map: &MapAt<'_>) -> Result<(), JobError> {
    if let Some(at) = map.get("archive") {
        return Err(at.error(
            "archive: tar is not supported: LAVA unpacks such a download into a directory and hands the directory over, which only its downloads and LXC deploys take (a QEMU image_arg here names files only)",
        ));
    }
    Ok(())
}

/// The download of an image or overlay: `url`, `compression` and one checksum.
fn download(map: &MapAt<'_>) -> Result<Image, JobError> {
    let compression = map
        .get_some("compression")
        .map(|c| compression(&c))
        .transpose()?
        .flatten();
    let mut checksum = None;
    for (key, algorithm, len) in ChecksumAlgorithm::KEYS {
        let Some(at) = map.get_some(key) else {
            continue;
        };
        let hex = at.str()?.to_ascii_lowercase();
        if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(at.error(format!("expected {len} hex digits")));
        }
        if checksum.is_some() {
            return Err(at.error("only one of md5sum, sha256sum, sha512sum may be given"));
        }
        checksum = Some(Checksum { algorithm, hex });
    }
    let url = map.req_str("url")?;
    let headers = match map.get("headers") {
        None => Vec::new(),
        Some(at) if !(url.starts_with("http://") || url.starts_with("https://")) => {
            return Err(at.error("headers apply to http:// and https:// downloads only"));
        }
        Some(at) => http_headers(&at)?,
    };
    Ok(Image {
        compression,
        checksum,
        headers,
        ..Image::at(url)
    })
}

/// The most `headers` one download may send.
const MAX_HEADERS: usize = 32;

/// The longest header value, in bytes.
const MAX_HEADER_VALUE: usize = 4096;

/// Headers a job may not set: the client's own framing and connection handling, where a
/// job's value would break or smuggle requests.
const RESERVED_HEADERS: [&str; 10] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "expect",
    "proxy-authorization",
];

/// A download's `headers`: a map of header names (HTTP tokens) to one-line values.
fn http_headers(at: &At<'_>) -> Result<Vec<(String, String)>, JobError> {
    let map = at.map()?;
    let mut out = Vec::new();
    for (name, value_at) in map.entries() {
        if out.len() == MAX_HEADERS {
            return Err(at.error(format!("more than {MAX_HEADERS} headers")));
        }
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || name.len() > 128 || !name.chars().all(token) {
            return Err(value_at.error(format!("'{name}' is not an HTTP header name")));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(value_at.error(format!(
                "the header {name} is set by the dispatcher, not by a job"
            )));
        }
        let value = value_at.scalar_string()?;
        if value.len() > MAX_HEADER_VALUE || value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(value_at.error(format!(
                "the value of {name} must be one line of at most {MAX_HEADER_VALUE} bytes"
            )));
        }
        out.push((name.to_string(), value));
    }
    Ok(out)
}

/// A `compression` value; `none` is no compression.
pub(crate) fn compression(c: &At<'_>) -> Result<Option<Compression>, JobError> {
    Ok(match c.str()? {
        "gz" => Some(Compression::Gz),
        "xz" => Some(Compression::Xz),
        "bz2" => Some(Compression::Bz2),
        "zstd" => Some(Compression::Zstd),
        "none" => None,
        "zip" => Some(Compression::Zip),
        other => {
            return Err(c.error(format!(
                "unknown compression '{other}' (supported: gz, xz, bz2, zstd, zip, none)"
            )));
        }
    })
}

/// Whether the image is `format: qcow2` (no overlays), which LAVA 2023 converts to raw in a
/// tmpfs deploy.
fn qcow2(map: &MapAt<'_>, to: DeployTo) -> Result<bool, JobError> {
    let Some(f) = map.get("format") else {
        return Ok(false);
    };
    if f.str()? != "qcow2" || map.get("overlays").is_some() {
        return Ok(false);
    }
    if to != DeployTo::Tmpfs {
        return Err(f.error("format: qcow2 applies to images of a tmpfs deploy"));
    }
    for key in ["partition", "sparse"] {
        if let Some(at) = map.get(key) {
            return Err(at.error(format!("{key} is given without overlays")));
        }
    }
    Ok(true)
}

/// `format` and `overlays` (with `partition` and `sparse`, which only an ext4 image takes).
fn overlays(map: &MapAt<'_>) -> Result<Option<ImageOverlays>, JobError> {
    let Some(overlays_at) = map.get("overlays") else {
        if let Some(f) = map.get("format") {
            let format = f.str()?;
            if format == "qcow2" {
                // Read by qcow2().
                return Ok(None);
            }
            return Err(f.error(format!(
                "format '{format}' is given without overlays (it says what they go into)"
            )));
        }
        for key in ["partition", "sparse"] {
            if let Some(at) = map.get(key) {
                return Err(at.error(format!("{key} is given without overlays")));
            }
        }
        return Ok(None);
    };
    let format_at = map.required("format")?;
    let into = match format_at.str()? {
        "cpio.newc" => OverlayTarget::Cpio,
        "ext4" => OverlayTarget::Ext4,
        "tar" => OverlayTarget::Tar,
        other => {
            return Err(format_at.error(format!(
                "unknown image format '{other}' (expected cpio.newc, ext4 or tar)"
            )));
        }
    };
    if into != OverlayTarget::Ext4 {
        for key in ["partition", "sparse"] {
            if let Some(at) = map.get(key) {
                return Err(at.error(format!("{key} applies to ext4 images only")));
            }
        }
    }
    let partition = match map.get("partition") {
        None => None,
        Some(at) => match u32::try_from(at.u64()?) {
            Ok(p) if p < 128 => Some(p),
            _ => return Err(at.error("a partition is counted from 0 and is below 128")),
        },
    };
    let sparse = match map.get("sparse") {
        None => false,
        Some(at) => at.bool()?,
    };
    let mut out = ImageOverlays {
        into,
        partition,
        sparse,
        ..ImageOverlays::default()
    };
    for (name, at) in overlays_at.map()?.entries() {
        if name == "lava" {
            out.lava = at.bool()?;
            continue;
        }
        out.files.push((name.to_string(), overlay_file(&at)?));
    }
    Ok(Some(out))
}

/// One named overlay: a download with a `format` (file or tar) and a `path` in the image.
fn overlay_file(at: &At<'_>) -> Result<OverlayFile, JobError> {
    let map = at.map()?;
    let mut keys = DOWNLOAD.to_vec();
    keys.extend(["archive", "format", "path"]);
    map.deny_unknown(&keys)?;
    refuse_unsupported(&map)?;
    let format_at = map.required("format")?;
    let kind = match format_at.str()? {
        "file" => OverlayKind::File,
        "tar" => OverlayKind::Tar,
        other => {
            return Err(format_at.error(format!(
                "unknown overlay format '{other}' (supported: file, tar)"
            )));
        }
    };
    let path_at = map.required("path")?;
    let path = path_at.str()?;
    if !path.starts_with('/') || path.split('/').any(|p| p == "..") || path.contains('\0') {
        return Err(path_at.error(format!(
            "path '{path}' must be absolute and must not contain '..'"
        )));
    }
    Ok(OverlayFile {
        source: download(&map)?,
        kind,
        path: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::node::Node;
    use super::*;

    fn parse(text: &str, to: DeployTo) -> Result<Image, JobError> {
        let node = Node::from_yaml_text(text).unwrap();
        image(&At::root(&node), "rootfs", to)
    }

    #[test]
    fn a_cpio_image_takes_the_lava_overlay_and_named_ones() {
        let img = parse(
            "url: file:///r.cpio.gz\ncompression: gz\nformat: cpio.newc\noverlays:\n  lava: true\n  modules: {url: 'file:///m.tar.xz', compression: xz, format: tar, path: /}\n  conf: {url: 'file:///c', format: file, path: /etc/c.conf}\n",
            DeployTo::Tmpfs,
        )
        .unwrap();
        assert_eq!(img.compression, Some(Compression::Gz));
        let o = img.overlays.unwrap();
        assert!(o.lava);
        assert_eq!(o.files[0].0, "modules");
        assert_eq!(o.files[0].1.kind, OverlayKind::Tar);
        assert_eq!(o.files[0].1.source.compression, Some(Compression::Xz));
        assert_eq!(o.files[1].1.path, "/etc/c.conf");
        assert_eq!(o.files[1].1.kind, OverlayKind::File);
    }

    #[test]
    fn an_ext4_image_takes_overlays_and_says_so() {
        let img = parse(
            "url: file:///r.ext4.zst\ncompression: zstd\nformat: ext4\nsparse: false\noverlays:\n  lava: true\n  conf: {url: 'file:///c', format: file, path: /etc/c.conf}\n",
            DeployTo::Tmpfs,
        )
        .unwrap();
        let o = img.overlays.unwrap();
        assert_eq!(o.into, OverlayTarget::Ext4);
        assert_eq!(o.partition, None);
        assert!(o.lava);
        assert_eq!(o.files[0].1.path, "/etc/c.conf");
        let cpio = parse(
            "url: x\nformat: cpio.newc\noverlays: {lava: true}\n",
            DeployTo::Tmpfs,
        )
        .unwrap();
        assert_eq!(cpio.overlays.unwrap().into, OverlayTarget::Cpio);
        let disk = parse(
            "url: x\nformat: ext4\npartition: 1\noverlays: {lava: true}\n",
            DeployTo::Tmpfs,
        )
        .unwrap();
        assert_eq!(disk.overlays.unwrap().partition, Some(1));
    }

    #[test]
    fn headers_go_with_an_http_download_in_their_order() {
        let img = parse(
            "url: https://a/k\nheaders: {Authorization: 'Bearer t', X-Count: 3}\n",
            DeployTo::Tmpfs,
        )
        .unwrap();
        assert_eq!(
            img.headers,
            [
                ("Authorization".to_string(), "Bearer t".to_string()),
                ("X-Count".to_string(), "3".to_string())
            ]
        );
        let many: String = (0..33).map(|i| format!("X-{i}: v\n  ")).collect();
        let e = parse(
            &format!("url: http://a\nheaders:\n  {many}\n"),
            DeployTo::Tmpfs,
        )
        .unwrap_err();
        assert!(e.to_string().contains("more than 32 headers"), "{e}");
    }

    #[test]
    fn a_qcow2_image_of_a_tmpfs_deploy_is_converted() {
        let img = parse("url: x.qcow2\nformat: qcow2\n", DeployTo::Tmpfs).unwrap();
        assert!(img.qcow2);
        assert!(img.overlays.is_none());
        assert!(!parse("url: x\n", DeployTo::Tmpfs).unwrap().qcow2);
        let e = parse("url: x.qcow2\nformat: qcow2\n", DeployTo::Tftp).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: format: format: qcow2 applies to images of a tmpfs deploy"
        );
    }

    #[test]
    fn sparse_true_marks_an_ext4_image_with_overlays() {
        let img = parse(
            "url: x\nformat: ext4\nsparse: true\noverlays: {lava: true}\n",
            DeployTo::Tmpfs,
        )
        .unwrap();
        assert!(img.overlays.unwrap().sparse);
        let img = parse("url: x.zip\ncompression: zip\n", DeployTo::Tftp).unwrap();
        assert_eq!(img.compression, Some(Compression::Zip));
    }

    #[test]
    fn what_is_not_done_is_refused_by_name() {
        let cases = [
            (
                "url: x\nformat: ext4\npartition: 128\noverlays: {lava: true}\n",
                "line 3: partition: a partition is counted from 0 and is below 128",
            ),
            (
                "url: x\ncompression: lz4\n",
                "line 2: compression: unknown compression 'lz4' (supported: gz, xz, bz2, zstd, zip, none)",
            ),
            (
                "url: x\nroot_partition: 1\n",
                "line 2: root_partition: root_partition (the partition of a disk image that holds the root file system) is not supported",
            ),
            (
                "url: x\nformat: tar\nsparse: true\noverlays: {lava: true}\n",
                "line 3: sparse: sparse applies to ext4 images only",
            ),
            (
                "url: x\noverlays: {lava: true}\n",
                "line 1: format: required key not provided",
            ),
            (
                "url: x\nformat: qcow2\noverlays: {lava: true}\n",
                "line 2: format: unknown image format 'qcow2' (expected cpio.newc, ext4 or tar)",
            ),
            (
                "url: x\nformat: cpio.newc\n",
                "line 2: format: format 'cpio.newc' is given without overlays (it says what they go into)",
            ),
            (
                "url: file:///x\nheaders: {Authorization: x}\n",
                "line 2: headers: headers apply to http:// and https:// downloads only",
            ),
            (
                "url: http://a/x\nheaders: {Host: other}\n",
                "line 2: headers.Host: the header Host is set by the dispatcher, not by a job",
            ),
            (
                "url: http://a/x\nheaders: {'a b': c}\n",
                "line 2: headers.a b: 'a b' is not an HTTP header name",
            ),
            (
                "url: http://a/x\nheaders: {X-A: \"1\\r\\nX-B: 2\"}\n",
                "line 2: headers.X-A: the value of X-A must be one line of at most 4096 bytes",
            ),
            (
                "url: x\narchive: tar\n",
                "line 2: archive: archive: tar is not supported: LAVA unpacks such a download into a directory and hands the directory over, which only its downloads and LXC deploys take (a QEMU image_arg here names files only)",
            ),
            (
                "url: x\nformat: cpio.newc\npartition: 1\noverlays: {lava: true}\n",
                "line 3: partition: partition applies to ext4 images only",
            ),
            (
                "url: x\nformat: cpio.newc\noverlays: {m: {url: y, format: tar, path: ../x}}\n",
                "line 3: overlays.m.path: path '../x' must be absolute and must not contain '..'",
            ),
            (
                "url: x\nformat: cpio.newc\noverlays: {m: {url: y, format: zip, path: /}}\n",
                "line 3: overlays.m.format: unknown overlay format 'zip' (supported: file, tar)",
            ),
            (
                "url: x\nformat: cpio.newc\noverlays: {m: {url: y, format: tar, path: /, colour: red}}\n",
                "line 3: overlays.m.colour: extra keys not allowed",
            ),
            (
                "url: x\nuse_cache: false\n",
                "line 2: use_cache: extra keys not allowed",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse(text, DeployTo::Tmpfs).unwrap_err().to_string(),
                want,
                "{text}"
            );
        }
        // Every deploy method takes them, as LAVA's download does.
        let nfs = parse(
            "url: x\nformat: tar\noverlays: {lava: true}\n",
            DeployTo::Nfs,
        )
        .unwrap();
        assert_eq!(nfs.overlays.unwrap().into, OverlayTarget::Tar);
        let tftp = parse(
            "url: x\nformat: cpio.newc\noverlays: {lava: true}\n",
            DeployTo::Tftp,
        )
        .unwrap();
        assert_eq!(tftp.overlays.unwrap().into, OverlayTarget::Cpio);
    }
}
