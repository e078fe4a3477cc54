//! A QEMU boot's `docker` block: the worker runs the boot's QEMU inside a container image.
//!
//! The job names the image; the worker decides whether it may run it (`docker.images` in
//! `dispatcher.toml`, empty by default), so the checks here only make sure what the job wrote
//! is an image reference and a program name, never an option of the container engine.

use serde::{Deserialize, Serialize};

use super::error::JobError;
use super::reader::At;

/// The longest image reference accepted (registry, path, tag and digest together).
pub const MAX_IMAGE_REFERENCE: usize = 255;

/// The longest `docker.binary` accepted.
const MAX_BINARY: usize = 255;

/// A QEMU boot run inside a container image (`boot.docker`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootDocker {
    /// The image, as `[REGISTRY[:PORT]/]PATH[:TAG][@sha256:DIGEST]`.
    pub image: String,
    /// The QEMU program inside the image; `None` for the device's own `qemu_binary`.
    pub binary: Option<String>,
    /// Whether the image is already on the worker (never pulled); otherwise it is pulled
    /// before each run, as LAVA does.
    pub local: bool,
}

/// Reads `boot.docker`. LAVA's `container_name` and `network_from` (which tie the container
/// to another one of the job) are refused by name: this dispatcher starts no other containers.
pub(crate) fn boot_docker(at: &At<'_>) -> Result<BootDocker, JobError> {
    let map = at.map()?;
    for key in ["container_name", "network_from"] {
        if let Some(k) = map.get(key) {
            return Err(k.error(format!(
                "{key} is not supported: the boot's container is named by the dispatcher and \
                 joins no other container"
            )));
        }
    }
    map.deny_unknown(&["image", "binary", "local"])?;
    let image_at = map.required("image")?;
    let image = image_at.str()?.to_string();
    check_image_reference(&image).map_err(|why| image_at.error(why))?;
    let binary = match map.get_some("binary") {
        None => None,
        Some(b) => {
            let text = b.str()?.to_string();
            check_binary(&text).map_err(|why| b.error(why))?;
            Some(text)
        }
    };
    let local = map
        .get_some("local")
        .map(|l| l.bool())
        .transpose()?
        .unwrap_or(false);
    Ok(BootDocker {
        image,
        binary,
        local,
    })
}

/// Checks that `image` is a container image reference: lowercase path components of letters,
/// digits and single separators (`.`, `_`, `__`, `-`), joined by `/`, the first of which may be
/// a registry host with a port; then an optional `:TAG` and `@sha256:` digest. Nothing that
/// starts with `-` or holds a space, `=` or a control character gets through, so the engine
/// can only read it as the image.
pub fn check_image_reference(image: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("'{image}' is not a valid image reference: {why}"));
    if image.is_empty() {
        return bad("it is empty");
    }
    if image.len() > MAX_IMAGE_REFERENCE {
        return bad(&format!("longer than {MAX_IMAGE_REFERENCE} characters"));
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let hex = d.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return bad("a digest is @sha256: and 64 lowercase hexadecimal digits");
        }
    }
    // A tag is after the last ':' that follows the last '/' (a ':' before it is a port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].find(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !ok {
            return bad(
                "a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'",
            );
        }
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    // The first part is a registry host when it has a '.' or a ':' or is localhost.
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        let host = parts.remove(0);
        if !host_ok(host) {
            return bad(&format!("'{host}' is not a registry host[:port]"));
        }
    }
    for p in parts {
        if !component_ok(p) {
            return bad(&format!(
                "'{p}' is not a path component (lowercase letters and digits, separated by \
                 single '.', '_', '__' or '-')"
            ));
        }
    }
    Ok(())
}

/// `host[:port]`: letters, digits, '.' and '-', starting and ending with a letter or digit.
fn host_ok(part: &str) -> bool {
    let (host, port) = match part.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (part, None),
    };
    let alnum = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    alnum(host.bytes().next())
        && alnum(host.bytes().last())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A path component: `[a-z0-9]+` runs joined by one `.`, one or two `_`, or any `-`s.
fn component_ok(part: &str) -> bool {
    let lower = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = part.as_bytes();
    if bytes.is_empty() || !lower(bytes[0]) || !lower(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if lower(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !lower(bytes[i]) {
            i += 1;
        }
        let sep = &part[start..i];
        let dashes = sep.bytes().all(|b| b == b'-');
        if !(sep == "." || sep == "_" || sep == "__" || dashes) {
            return false;
        }
    }
    true
}

/// `docker.binary`: a program name or absolute path inside the image, one word.
fn check_binary(binary: &str) -> Result<(), String> {
    let ok = !binary.is_empty()
        && binary.len() <= MAX_BINARY
        && !binary.starts_with('-')
        && binary
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{binary}' is not a program: up to {MAX_BINARY} letters, digits, '/', '.', '_', '-' \
             and '+', not starting with '-'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_as_registries_write_them() {
        for good in [
            "kernelci/qemu",
            "qemu",
            "docker.io/qemu/qemu:latest",
            "localhost/lava-test-qemu:1",
            "registry.example:5000/a/b__c.d-e:v1.2_3",
            "ghcr.io/x/y@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "kernelci/qemu:6.2-bullseye",
        ] {
            assert_eq!(check_image_reference(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "-v/:/host",
            "--privileged",
            "Qemu",
            "qemu latest",
            "qemu:",
            "qemu:-x",
            "a//b",
            "a/b/",
            "qemu@sha256:12",
            "x.io:port/a",
            "a\nb",
            "a=b",
        ] {
            let e = check_image_reference(bad).unwrap_err();
            assert!(e.contains("is not a valid image reference"), "{bad}: {e}");
        }
        let long = format!("a/{}", "b".repeat(300));
        assert!(
            check_image_reference(&long)
                .unwrap_err()
                .contains("longer than 255")
        );
    }

    #[test]
    fn a_binary_is_one_program_word() {
        assert_eq!(check_binary("qemu-system-x86_64"), Ok(()));
        assert_eq!(check_binary("/usr/bin/qemu-system-aarch64"), Ok(()));
        for bad in ["", "-v", "qemu system", "sh;reboot", "$(x)"] {
            assert!(check_binary(bad).is_err(), "{bad}");
        }
    }
}
