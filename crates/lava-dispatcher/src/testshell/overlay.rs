//! The job's test overlay: one tree, `/lava-ID/`, with the `lava-test-*` helpers, one
//! directory per test definition (its `run.sh` and, for git, its repository's files, binary
//! ones too) and one runner per test action; built once, at the first deploy, and made into
//! a gzip'd tarball and a gzip'd cpio archive.
//!
//! The target gets it in what it boots (the cpio after the ramdisk, as LAVA does; the
//! tarball unpacked into an NFS root), or fetches the tarball itself after login
//! (`transfer_overlay`, from the TFTP server), or, for a board with neither network nor
//! ramdisk, receives it over its console in base64, in acknowledged and checked chunks
//! ([`deliver`], [`console`]).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use lava_common::job::{TestDefinitionFile, TransferOverlay};
use walkdir::WalkDir;

use super::{console, fetch, scripts};
use crate::archive;
use crate::job::{Ctx, Failure};
use crate::network::server_ip;

/// The most file content an overlay may hold.
pub const MAX_OVERLAY_BYTES: u64 = 512 << 20;

/// The largest overlay tarball sent over a console.
pub const MAX_CONSOLE_BYTES: u64 = 8 << 20;

/// A built overlay.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// Where it is on the target: `/lava-ID`.
    pub root: String,
    /// The gzip'd tarball of it.
    pub tarball: PathBuf,
    /// The gzip'd newc cpio archive of it.
    pub cpio: PathBuf,
    /// The bytes of its files.
    pub bytes: u64,
    /// Each test action's definitions (by the action's index): their ids and files.
    pub runs: BTreeMap<usize, Vec<(String, TestDefinitionFile)>>,
}

fn write(action: &str, path: &Path, text: &str, mode: u32) -> Result<(), Failure> {
    std::fs::write(path, text)
        .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)))
        .map_err(|e| Failure::infra(action, format!("cannot write {}: {e}", path.display())))
}

/// A definition's name made safe as a directory name.
fn safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.trim_start_matches('.').to_string()
}

/// Copies a checkout (without `.git`) into `dest`: files, directories and symbolic links as
/// links; returns the bytes copied, failing past `budget`.
fn copy_tree(action: &str, from: &Path, dest: &Path, budget: u64) -> Result<u64, Failure> {
    let mut bytes = 0u64;
    let walk = WalkDir::new(from)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git");
    for entry in walk {
        let entry = entry
            .map_err(|e| Failure::infra(action, format!("cannot read the repository: {e}")))?;
        let rel = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let to = dest.join(rel);
        let io = |e: std::io::Error| {
            Failure::infra(
                action,
                format!("cannot copy {} into the overlay: {e}", rel.display()),
            )
        };
        let kind = entry.file_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&to).map_err(io)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(entry.path()).map_err(io)?;
            std::os::unix::fs::symlink(target, &to).map_err(io)?;
        } else if kind.is_file() {
            bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            if bytes > budget {
                return Err(Failure::job(
                    action,
                    format!("the test overlay would be larger than {MAX_OVERLAY_BYTES} bytes"),
                ));
            }
            std::fs::copy(entry.path(), &to).map_err(io)?;
        }
    }
    Ok(bytes)
}

/// Fetches every test definition of the job and builds its overlay (`ctx.overlay`).
pub async fn build(ctx: &mut Ctx, action: &str) -> Result<(), Failure> {
    let top = format!("lava-{}", ctx.job_id);
    let root = format!("/{top}");
    let stage = ctx.workdir.join("overlay-stage");
    let _ = std::fs::remove_dir_all(&stage);
    let base = stage.join(&top);
    for d in ["bin", "tests"] {
        std::fs::create_dir_all(base.join(d)).map_err(|e| {
            Failure::infra(action, format!("cannot create {}: {e}", base.display()))
        })?;
    }
    for (name, body) in [
        ("lava-test-case", scripts::LAVA_TEST_CASE),
        ("lava-test-set", scripts::LAVA_TEST_SET),
        ("lava-test-raise", scripts::LAVA_TEST_RAISE),
    ] {
        write(action, &base.join("bin").join(name), body, 0o755)?;
    }
    if !ctx.secrets.is_empty() {
        // Only the job's own shell (root on the target) reads it.
        write(
            action,
            &base.join("secrets"),
            &scripts::secrets(&ctx.secrets),
            0o600,
        )?;
    }
    let mut runs = BTreeMap::new();
    let mut bytes = 0u64;
    for (index, test) in ctx.tests.clone() {
        let mut ids = Vec::new();
        for def in &test.definitions {
            let n = ctx.definitions_run;
            ctx.definitions_run += 1;
            let fetched = fetch::definition(ctx, action, def, n).await?;
            let id = format!("{n}_{}", safe(&def.name));
            let dir = base.join("tests").join(&id);
            std::fs::create_dir_all(&dir).map_err(|e| {
                Failure::infra(action, format!("cannot create {}: {e}", dir.display()))
            })?;
            if let Some(checkout) = &fetched.checkout {
                bytes += copy_tree(action, checkout, &dir, MAX_OVERLAY_BYTES - bytes)?;
            }
            let uuid = format!("{}_{id}", ctx.job_id);
            let run = scripts::run_sh(&root, &id, &uuid, &fetched.file, &def.parameters);
            write(action, &dir.join("run.sh"), &run, 0o755)?;
            ids.push((id, fetched.file));
        }
        let names: Vec<String> = ids.iter().map(|(id, _)| id.clone()).collect();
        let runner = base.join("bin").join(format!("lava-test-runner-{index}"));
        write(action, &runner, &scripts::runner(&root, &names), 0o755)?;
        runs.insert(index, ids);
    }
    let tarball = ctx.workdir.join("overlay.tar.gz");
    let cpio = ctx.workdir.join("overlay.cpio.gz");
    let stage2 = stage.clone();
    let (t2, c2, top2) = (tarball.clone(), cpio.clone(), top.clone());
    tokio::task::spawn_blocking(move || {
        archive::tar_gz(&stage2, &top2, &t2)
            .map_err(|e| format!("cannot write {}: {e}", t2.display()))?;
        archive::cpio_gz(&stage2, &c2)
    })
    .await
    .map_err(|e| Failure::infra(action, format!("building the overlay failed: {e}")))?
    .map_err(|e| Failure::infra(action, e))?;
    // The tree holds executable scripts (0755 in the archives); the job's own files stay
    // private (0640), so only the archives are kept.
    let _ = std::fs::remove_dir_all(&stage);
    let size = std::fs::metadata(&tarball).map(|m| m.len()).unwrap_or(0);
    ctx.log.info(format!(
        "test overlay {root}: {} definition(s), {bytes} bytes of repository files, {size} bytes compressed",
        ctx.definitions_run
    ));
    ctx.overlay = Some(Overlay {
        root,
        tarball,
        cpio,
        bytes,
        runs,
    });
    Ok(())
}

/// Runs `command` in the target's shell and returns its exit status.
pub async fn status(ctx: &mut Ctx, action: &str, command: &str) -> Result<i32, Failure> {
    // The quotes keep the echo of the typed line from matching.
    ctx.sendline(action, &format!("{command}; echo \"LAVA_RC=\"\"$?\""))
        .await?;
    let re = regex::bytes::Regex::new(r"LAVA_RC=(\d+)\r*\n")
        .unwrap_or_else(|_| unreachable!("a fixed regex"));
    let m = ctx.expect(action, &[re]).await?;
    ctx.expect(action, &[crate::job::prompt_regex()]).await?;
    let digits: String = m.matched.chars().filter(char::is_ascii_digit).collect();
    Ok(digits.parse().unwrap_or(-1))
}

/// Puts the overlay on the booted target: fetched by the target from the TFTP server when
/// the boot asked for `transfer_overlay`, else over the console.
pub async fn deliver(ctx: &mut Ctx, action: &str) -> Result<(), Failure> {
    let transfer = ctx.transfer_overlay.clone();
    match (transfer, ctx.deployed.tftp.get("overlay").cloned()) {
        (Some(t), Some(rel)) => fetch_by_target(ctx, action, &t, &rel).await,
        (Some(_), None) => Err(Failure::job(
            action,
            "transfer_overlay fetches the overlay from the TFTP server: it needs a tftp or nfs deploy first",
        )),
        (None, _) => over_console(ctx, action).await,
    }
}

async fn fetch_by_target(
    ctx: &mut Ctx,
    action: &str,
    t: &TransferOverlay,
    rel: &str,
) -> Result<(), Failure> {
    let server = server_ip(&ctx.device, &ctx.settings).map_err(|e| Failure::config(action, e))?;
    let file = rel.rsplit('/').next().unwrap_or(rel).to_string();
    let download =
        if t.download_command.contains("{SERVER_IP}") || t.download_command.contains("{OVERLAY}") {
            t.download_command
                .replace("{SERVER_IP}", &server)
                .replace("{OVERLAY}", rel)
        } else {
            format!("{} tftp://{server}/{rel}", t.download_command)
        };
    ctx.log
        .info(format!("the target fetches the test overlay: {download}"));
    status(ctx, action, &format!("rm -f {file}")).await?;
    let started = std::time::Instant::now();
    let rc = status(ctx, action, &download).await?;
    if rc != 0 {
        return Err(Failure::infra(
            action,
            format!("transfer_overlay: '{download}' failed on the target (exit status {rc})"),
        ));
    }
    let took = started.elapsed();
    let unpack = format!("{} {file}", t.unpack_command);
    let rc = status(ctx, action, &unpack).await?;
    if rc != 0 {
        return Err(Failure::infra(
            action,
            format!("transfer_overlay: '{unpack}' failed on the target (exit status {rc})"),
        ));
    }
    let size = ctx
        .tftp
        .as_ref()
        .map(|d| d.file(rel))
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .unwrap_or(0);
    ctx.log.info(format!(
        "overlay transfer: {size} bytes in {:.2} s",
        took.as_secs_f64()
    ));
    Ok(())
}

/// The fallback for boards without network or ramdisk, and QEMU disk images without a
/// ramdisk: the tarball over the console ([`console::send`]), unpacked at `/`.
async fn over_console(ctx: &mut Ctx, action: &str) -> Result<(), Failure> {
    let o = ctx
        .overlay
        .clone()
        .unwrap_or_else(|| unreachable!("built first"));
    let data = std::fs::read(&o.tarball)
        .map_err(|e| Failure::infra(action, format!("cannot read {}: {e}", o.tarball.display())))?;
    if data.len() as u64 > MAX_CONSOLE_BYTES {
        return Err(Failure::job(
            action,
            format!(
                "the test overlay is {} bytes; at most {MAX_CONSOLE_BYTES} go over a console (for boards without network or ramdisk): deploy a ramdisk or use transfer_overlay",
                data.len()
            ),
        ));
    }
    let file = format!("/tmp/lava-overlay-{}.tar.gz", ctx.job_id);
    let started = std::time::Instant::now();
    ctx.log.info(format!(
        "sending the test overlay over the console ({} bytes)",
        data.len()
    ));
    console::send(ctx, action, &data, &file).await?;
    let rc = status(
        ctx,
        action,
        &format!("tar -C / -xzf {file} && rm -f {file}"),
    )
    .await?;
    if rc != 0 {
        return Err(Failure::infra(
            action,
            format!(
                "unpacking the test overlay on the target failed (exit status {rc}): it needs tar and gzip"
            ),
        ));
    }
    ctx.log.info(format!(
        "overlay over the console: {} bytes in {:.2} s",
        data.len(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}
