//! Fetching images: `file://` (inside `jobs.file_url_dirs` only) and `http(s)://` (never a
//! local address, see [`crate::outbound`]), with progress in the log, checksum checks, a
//! cache keyed by URL and checksum, and gz, xz, bz2, zstd or (one-member) zip decompression
//! into the job's directory.

use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lava_common::job::{Checksum, ChecksumAlgorithm, Compression, Image};
use sha2::Digest as _;
use tokio::io::AsyncWriteExt as _;

use crate::job::{Ctx, Failure};
use crate::outbound::{self, OutboundError};

/// The failure for a URL that was not fetched: the job's fault when refused, the lab's when
/// the network failed.
pub fn outbound_failure(action: &str, url: &str, e: OutboundError) -> Failure {
    match e {
        OutboundError::Refused(m) => Failure::job(action, format!("cannot download {url}: {m}")),
        OutboundError::Failed(m) => Failure::infra(action, format!("cannot download {url}: {m}")),
    }
}

/// The cache file name for a URL, its checksum and its request headers: a copy fetched
/// with one job's token is never another job's without that token.
fn cache_key(image: &Image) -> String {
    let mut h = sha2::Sha256::new();
    h.update(image.url.as_bytes());
    if let Some(c) = &image.checksum {
        h.update(b"\0");
        h.update(c.hex.to_ascii_lowercase().as_bytes());
    }
    for (name, value) in &image.headers {
        h.update(b"\0h\0");
        h.update(name.to_ascii_lowercase().as_bytes());
        h.update(b"\0");
        h.update(value.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex digest of a file.
fn digest(path: &Path, algorithm: ChecksumAlgorithm) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    macro_rules! hash_with {
        ($h:expr) => {{
            let mut h = $h;
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            h.finalize().iter().map(|b| format!("{b:02x}")).collect()
        }};
    }
    Ok(match algorithm {
        ChecksumAlgorithm::Md5 => hash_with!(md5::Md5::new()),
        ChecksumAlgorithm::Sha256 => hash_with!(sha2::Sha256::new()),
        ChecksumAlgorithm::Sha512 => hash_with!(sha2::Sha512::new()),
    })
}

/// Checks a file's checksum on a blocking thread: a multi-GB image takes seconds to hash,
/// and the console reader and the log must go on meanwhile.
async fn verify(action: &str, path: &Path, url: &str, c: &Checksum) -> Result<(), Failure> {
    let (file, algorithm) = (path.to_path_buf(), c.algorithm);
    let got = blocking(action, move || digest(&file, algorithm))
        .await?
        .map_err(|e| Failure::infra(action, format!("cannot read {}: {e}", path.display())))?;
    if got.eq_ignore_ascii_case(&c.hex) {
        Ok(())
    } else {
        Err(Failure::job(
            action,
            format!(
                "checksum mismatch for {url}: expected {:?} {}, got {got}",
                c.algorithm, c.hex
            ),
        ))
    }
}

/// The local name of a download: the URL's last segment with anything but letters, digits
/// and `._+-` replaced, so that it is a plain file name in the job's directory and can be
/// given to QEMU inside a `key=value` list; the role when nothing usable is left.
fn file_name(url: &str, role: &str) -> String {
    let last = url.rsplit('/').next().unwrap_or_default();
    let last = last.split(['?', '#']).next().unwrap_or_default();
    let name: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.chars().all(|c| c == '.') {
        role.to_string()
    } else {
        name
    }
}

/// Downloads `url` to `dest` over HTTP, logging progress.
async fn http_get(
    ctx: &Ctx,
    action: &str,
    url: &str,
    headers: &[(String, String)],
    dest: &Path,
) -> Result<(), Failure> {
    let mut resp = outbound::get(&ctx.settings, url, headers, Duration::from_secs(30))
        .await
        .map_err(|e| outbound_failure(action, url, e))?;
    if !resp.status().is_success() {
        return Err(Failure::job(
            action,
            format!("cannot download {url}: HTTP {}", resp.status()),
        ));
    }
    let total = resp.content_length();
    let limit = ctx.settings.max_image_bytes;
    if total.is_some_and(|t| t > limit) {
        return Err(too_big(action, url, "is", limit));
    }
    let mut file = tokio::fs::File::create(dest)
        .await
        .map_err(|e| Failure::infra(action, format!("cannot create {}: {e}", dest.display())))?;
    let (mut done, mut last) = (0u64, Instant::now());
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| Failure::infra(action, format!("download of {url} broke off: {e}")))?
    {
        file.write_all(&chunk)
            .await
            .map_err(|e| Failure::infra(action, format!("cannot write {}: {e}", dest.display())))?;
        done += chunk.len() as u64;
        if done > limit {
            drop(file);
            let _ = tokio::fs::remove_file(dest).await;
            return Err(too_big(action, url, "is", limit));
        }
        if last.elapsed() > Duration::from_secs(5) {
            last = Instant::now();
            match total {
                Some(t) if t > 0 => ctx.log.debug(format!(
                    "progress {}% ({done} of {t} bytes)",
                    done * 100 / t
                )),
                _ => ctx.log.debug(format!("progress {done} bytes")),
            }
        }
    }
    file.flush()
        .await
        .map_err(|e| Failure::infra(action, format!("cannot write {}: {e}", dest.display())))?;
    ctx.log.debug(format!("downloaded {done} bytes from {url}"));
    Ok(())
}

/// The refusal of an image past `jobs.max_image_mib`: the job's fault, the file is gone.
fn too_big(action: &str, url: &str, what: &str, limit: u64) -> Failure {
    Failure::job(
        action,
        format!(
            "{url} {what} more than {} MiB, the most the worker's jobs.max_image_mib allows",
            limit >> 20
        ),
    )
}

/// Runs file work (hashing, copying, decompressing) on a blocking thread.
pub(crate) async fn blocking<T: Send + 'static>(
    action: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Failure::infra(action, format!("file work failed: {e}")))
}

/// Makes the image available in the job directory as `role` and returns its path.
pub async fn fetch(ctx: &Ctx, action: &str, role: &str, image: &Image) -> Result<PathBuf, Failure> {
    let url = image.url.as_str();
    ctx.log.info(format!("downloading {url} ({role})"));
    let source: PathBuf = if url.starts_with("file://") {
        let p =
            outbound::file_url(&ctx.settings, url).map_err(|e| outbound_failure(action, url, e))?;
        if !p.is_file() {
            return Err(Failure::job(
                action,
                format!("cannot download {url}: {} is not a file", p.display()),
            ));
        }
        p
    } else if url.starts_with("http://") || url.starts_with("https://") {
        std::fs::create_dir_all(&ctx.cache_dir).map_err(|e| {
            Failure::infra(
                action,
                format!("cannot create {}: {e}", ctx.cache_dir.display()),
            )
        })?;
        let cached = ctx.cache_dir.join(cache_key(image));
        let usable = cached.is_file()
            && match &image.checksum {
                None => true,
                Some(c) => verify(action, &cached, url, c).await.is_ok(),
            };
        if usable {
            ctx.log.info(format!("using the cached copy of {url}"));
        } else {
            let partial = cached.with_extension("part");
            http_get(ctx, action, url, &image.headers, &partial).await?;
            std::fs::rename(&partial, &cached).map_err(|e| {
                Failure::infra(
                    action,
                    format!("cannot move {} into the cache: {e}", partial.display()),
                )
            })?;
        }
        cached
    } else {
        return Err(Failure::job(
            action,
            format!("unsupported URL '{url}': use file://, http:// or https://"),
        ));
    };
    if let Some(c) = &image.checksum {
        verify(action, &source, url, c).await?;
        ctx.log
            .debug(format!("{:?} checksum of {url} matches", c.algorithm));
    }
    let name = file_name(url, role);
    let name = name.as_str();
    let dest_dir = ctx.workdir.join(role);
    std::fs::create_dir_all(&dest_dir).map_err(|e| {
        Failure::infra(action, format!("cannot create {}: {e}", dest_dir.display()))
    })?;
    let unpack = |suffix: &str| name.strip_suffix(suffix).unwrap_or(name).to_string();
    let dest = match image.compression {
        Some(Compression::Gz) => dest_dir.join(unpack(".gz")),
        Some(Compression::Xz) => dest_dir.join(unpack(".xz")),
        Some(Compression::Bz2) => dest_dir.join(unpack(".bz2")),
        Some(Compression::Zstd) => dest_dir.join(unpack(".zst")),
        Some(Compression::Zip) => dest_dir.join(unpack(".zip")),
        None => dest_dir.join(name),
    };
    let compression = image.compression;
    let limit = ctx.settings.max_image_bytes;
    let (from, to, link, act) = (
        source.clone(),
        dest.clone(),
        url.to_string(),
        action.to_string(),
    );
    blocking(action, move || {
        place(&act, &link, &from, &to, compression, limit)
    })
    .await??;
    if let Some(c) = compression {
        ctx.log
            .debug(format!("unpacked {url} ({c:?}) to {}", dest.display()));
    }
    Ok(dest)
}

/// Writes what `reader` decompresses to `dest`, at most `limit` bytes; on failure nothing is
/// left at `dest`.
fn write_capped(
    action: &str,
    url: &str,
    reader: impl std::io::Read,
    c: Compression,
    dest: &Path,
    limit: u64,
) -> Result<(), Failure> {
    let mut out = std::fs::File::create(dest).map_err(|e| {
        Failure::infra(
            action,
            format!("cannot unpack {url} to {}: {e}", dest.display()),
        )
    })?;
    // One byte past the limit tells an image of exactly `limit` bytes from a bigger one.
    let written = std::io::copy(&mut reader.take(limit.saturating_add(1)), &mut out)
        .map_err(|e| Failure::job(action, format!("{url} is not valid {c:?} data: {e}")));
    if !matches!(written, Ok(n) if n <= limit) {
        drop(out);
        let _ = std::fs::remove_file(dest);
    }
    if written? > limit {
        return Err(too_big(action, url, "unpacks to", limit));
    }
    Ok(())
}

/// Puts the downloaded `source` at `dest`, decompressing it (at most `limit` bytes), and
/// refuses an image that names the host's files. Blocking: run it through [`blocking`].
fn place(
    action: &str,
    url: &str,
    source: &Path,
    dest: &Path,
    compression: Option<Compression>,
    limit: u64,
) -> Result<(), Failure> {
    let io = |e: std::io::Error| {
        Failure::infra(
            action,
            format!("cannot unpack {url} to {}: {e}", dest.display()),
        )
    };
    match compression {
        None => {
            std::fs::copy(source, dest).map_err(io)?;
            // copy() gives the copy the source's mode; the job's files are 0640.
            std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o640)).map_err(io)?;
        }
        Some(c) => {
            let input = std::io::BufReader::new(std::fs::File::open(source).map_err(io)?);
            // The zip archive a member is read from; it outlives the reader.
            let mut archive;
            let reader: Box<dyn std::io::Read + '_> = match c {
                // Every member or stream of a file, not the first only: ramdisks are often
                // several compressed cpio archives one after another.
                Compression::Gz => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
                Compression::Xz => Box::new(xz2::bufread::XzDecoder::new_multi_decoder(input)),
                Compression::Bz2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
                Compression::Zstd => Box::new(
                    zstd::stream::read::Decoder::with_buffer(input)
                        .map_err(|e| Failure::job(action, format!("{url}: {e}")))?,
                ),
                Compression::Zip => {
                    archive = super::unzip::open(source)
                        .map_err(|e| Failure::job(action, format!("{url} {e}")))?;
                    let member = archive.by_index(0).map_err(|e| {
                        Failure::job(action, format!("{url}: cannot unzip it: {e}"))
                    })?;
                    if member.size() > limit {
                        return Err(too_big(action, url, "unpacks to", limit));
                    }
                    Box::new(member)
                }
            };
            write_capped(action, url, reader, c, dest, limit)?;
        }
    }
    if let Some(why) = super::image_check::names_host_files(dest).map_err(io)? {
        let _ = std::fs::remove_file(dest);
        return Err(Failure::job(action, format!("{url} is refused: {why}")));
    }
    Ok(())
}
