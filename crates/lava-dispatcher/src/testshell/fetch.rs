//! Getting test definitions: inline in the job, a file from a URL (seed-era), a tarball from a
//! URL (LAVA's `from: url`, unpacked like a checkout), or from a git repository cloned
//! on the dispatcher (see [`super::git`]), each within the host boundaries of
//! [`crate::outbound`]. A repository's files (binary ones too) go into the job's test
//! overlay with its definition (see [`super::overlay`]).

use std::path::PathBuf;

use lava_common::job::{
    Compression, Image, TestDefinition, TestDefinitionFile, TestSource, parse_testdef_value,
    parse_testdef_yaml,
};

use super::git::{clone, git_target, read_in_checkout};
use crate::actions::download::{self, outbound_failure};
use crate::archive;
use crate::job::{Ctx, Failure};
use crate::outbound;

/// A definition ready for the overlay: its parsed file and its repository's checkout.
pub struct Fetched {
    /// The parsed definition.
    pub file: TestDefinitionFile,
    /// The checkout of its git repository, whose files go next to its `run.sh`.
    pub checkout: Option<PathBuf>,
}

/// The largest test definition file read.
pub const MAX_DEFINITION_BYTES: usize = 1024 * 1024;

/// Reads a test definition file from a URL, at most [`MAX_DEFINITION_BYTES`].
async fn read_url(ctx: &Ctx, action: &str, url: &str) -> Result<String, Failure> {
    let too_big = || {
        Failure::job(
            action,
            format!("test definition {url} is larger than {MAX_DEFINITION_BYTES} bytes"),
        )
    };
    if url.starts_with("file://") {
        let path =
            outbound::file_url(&ctx.settings, url).map_err(|e| outbound_failure(action, url, e))?;
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if len > MAX_DEFINITION_BYTES as u64 {
            return Err(too_big());
        }
        return std::fs::read_to_string(&path)
            .map_err(|e| Failure::job(action, format!("cannot read test definition {url}: {e}")));
    }
    let mut resp = outbound::get(&ctx.settings, url, &[], std::time::Duration::from_secs(30))
        .await
        .map_err(|e| outbound_failure(action, url, e))?;
    if !resp.status().is_success() {
        return Err(Failure::job(
            action,
            format!("cannot fetch test definition {url}: HTTP {}", resp.status()),
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| Failure::infra(action, format!("cannot fetch test definition {url}: {e}")))?
    {
        if body.len() + chunk.len() > MAX_DEFINITION_BYTES {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body)
        .map_err(|_| Failure::job(action, format!("test definition {url} is not UTF-8 text")))
}

/// The most a tarball of test definitions may unpack to.
const MAX_ARCHIVE_BYTES: u64 = 256 << 20;

/// Downloads a tarball of test definitions (LAVA's `from: url`) like an image, checked by
/// [`crate::outbound`] and decompressed, and unpacks it safely into the job's directory for
/// definition `index`, which it returns.
async fn archive(
    ctx: &Ctx,
    action: &str,
    url: &str,
    compression: Option<Compression>,
    index: usize,
) -> Result<PathBuf, Failure> {
    let image = Image {
        compression,
        ..Image::at(url)
    };
    let tarball = download::fetch(ctx, action, &format!("tests-{index}.archive"), &image).await?;
    let dir: PathBuf = ctx.workdir.join(format!("tests/{index}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::infra(action, format!("cannot create {}: {e}", dir.display())))?;
    let (from, to) = (tarball.clone(), dir.clone());
    let bytes =
        tokio::task::spawn_blocking(move || archive::unpack_tar(&from, &to, MAX_ARCHIVE_BYTES))
            .await
            .map_err(|e| Failure::infra(action, format!("unpacking {url} failed: {e}")))?
            .map_err(|e| Failure::job(action, format!("test definitions {url}: {e}")))?;
    let _ = std::fs::remove_file(&tarball);
    ctx.log
        .info(format!("test definitions {url}: {bytes} bytes unpacked"));
    Ok(dir)
}

/// Fetches and parses one definition; `workdir` holds clones.
pub async fn definition(
    ctx: &Ctx,
    action: &str,
    def: &TestDefinition,
    index: usize,
) -> Result<Fetched, Failure> {
    let mut fetched = fetch(ctx, action, def, index).await?;
    fetched.file.kmsg = def.kmsg;
    Ok(fetched)
}

/// Fetches and parses one definition as its source says.
async fn fetch(
    ctx: &Ctx,
    action: &str,
    def: &TestDefinition,
    index: usize,
) -> Result<Fetched, Failure> {
    let bad = |e: lava_common::job::JobError| {
        Failure::job(action, format!("test definition '{}': {e}", def.name))
    };
    match &def.source {
        TestSource::Inline { definition } => Ok(Fetched {
            file: parse_testdef_value(definition).map_err(bad)?,
            checkout: None,
        }),
        TestSource::Url { url } => {
            let text = read_url(ctx, action, url).await?;
            Ok(Fetched {
                file: parse_testdef_yaml(&text).map_err(bad)?,
                checkout: None,
            })
        }
        TestSource::Archive {
            url,
            compression,
            path,
        } => {
            let dir = archive(ctx, action, url, *compression, index).await?;
            let text = read_in_checkout(action, &dir, path, url)?;
            Ok(Fetched {
                file: parse_testdef_yaml(&text).map_err(bad)?,
                checkout: Some(dir),
            })
        }
        TestSource::Git {
            repository,
            path,
            revision,
        } => {
            let target = git_target(&ctx.settings, repository)
                .await
                .map_err(|e| outbound_failure(action, repository, e))?;
            let dir: PathBuf = ctx.workdir.join(format!("tests/{index}"));
            let _ = std::fs::remove_dir_all(&dir);
            ctx.log.info(format!("cloning {repository}"));
            clone(ctx, action, &target, &dir, revision.as_deref()).await?;
            let text = read_in_checkout(action, &dir, path, repository)?;
            let file = parse_testdef_yaml(&text).map_err(bad)?;
            Ok(Fetched {
                file,
                checkout: Some(dir),
            })
        }
    }
}
