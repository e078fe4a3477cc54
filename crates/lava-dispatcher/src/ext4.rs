//! Writes a staged tree of files into a raw ext4 file system image without mounting it, with
//! e2fsprogs' `debugfs` (LAVA's own ext4 overlay back end drives it too): no root, no loop
//! device, no FUSE.
//!
//! `debugfs` reports a failed command on stderr and still exits 0, and it does not follow a
//! symlink in the last part of a path. So the image is read first (`ls -p` of each directory
//! the tree enters, `stat` of each symlink it passes through), the commands are planned so
//! that none should fail (a directory that exists is entered, through its symlink when it is
//! one, as `/lib` is in a merged-`/usr` root; a file that exists is removed before it is
//! written), and then anything `debugfs` prints on stderr while writing is a failure.
//!
//! `debugfs` reads one command per line and takes a path in double quotes: a name with a
//! double quote, a backslash or a control character could end a path or start another
//! command, so such names are refused, never escaped.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncReadExt as _;
use walkdir::WalkDir;

use crate::command::Argv;

/// The most output one `debugfs` query may give (a directory listing of about a million
/// names).
const MAX_OUTPUT: u64 = 64 << 20;

/// How many symlinks one path may pass through (Linux's own limit).
const MAX_SYMLINK_HOPS: usize = 40;

/// The most entries one tree may write: each is a few `debugfs` commands, and a tarball of
/// empty files is small next to the commands it would make.
const MAX_ENTRIES: u64 = 1_000_000;

/// What a name in the image is, as far as writing the tree cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    Symlink,
    Other,
}

/// What [`write_tree`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    /// Directories made, files written and symlinks made.
    pub entries: u64,
    /// The bytes of the files written.
    pub bytes: u64,
}

/// The `debugfs` to run: the one in `PATH` may be missing for a user whose `PATH` has no
/// `sbin`.
fn debugfs() -> PathBuf {
    ["/usr/sbin/debugfs", "/sbin/debugfs"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("debugfs"))
}

/// Refuses a path `debugfs` could read as something else (see the module's documentation).
fn quotable(what: &str, path: &Path) -> Result<String, String> {
    let text = path
        .to_str()
        .ok_or_else(|| format!("{what} {} is not UTF-8", path.display()))?;
    if let Some(c) = text
        .chars()
        .find(|c| *c == '"' || *c == '\\' || c.is_control())
    {
        return Err(format!(
            "{what} {text:?} holds {c:?}, which cannot be written into an ext4 image"
        ));
    }
    Ok(text.to_string())
}

/// `dir/name` in the image.
fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// `path` without `.`, `..` and empty parts (`..` of `/` is `/`, as in the kernel).
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// One ext4 image being written.
struct Image<'a> {
    path: &'a Path,
    debugfs: PathBuf,
    /// Each directory's names as read from the image (or as planned, for a new one).
    listings: HashMap<String, HashMap<String, Kind>>,
}

impl Image<'_> {
    /// Runs one read-only `debugfs` request; returns its stdout and stderr.
    async fn query(&self, request: &str) -> Result<(Vec<u8>, String), String> {
        let argv = Argv::new(
            self.debugfs.display().to_string(),
            [
                "-R".to_string(),
                request.to_string(),
                self.path.display().to_string(),
            ],
        );
        let mut child = argv
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run debugfs (install e2fsprogs): {e}"))?;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let stdout = child.stdout.take().map(|s| s.take(MAX_OUTPUT + 1));
        let stderr = child.stderr.take().map(|s| s.take(MAX_OUTPUT));
        let (o, e) = tokio::join!(
            async {
                match stdout {
                    Some(mut s) => s.read_to_end(&mut out).await.map(|_| ()),
                    None => Ok(()),
                }
            },
            async {
                match stderr {
                    Some(mut s) => s.read_to_end(&mut err).await.map(|_| ()),
                    None => Ok(()),
                }
            }
        );
        let status = child.wait().await;
        o.and(e)
            .map_err(|e| format!("cannot read what debugfs said: {e}"))?;
        if out.len() as u64 > MAX_OUTPUT {
            return Err(format!(
                "debugfs {request}: more than {MAX_OUTPUT} bytes of output"
            ));
        }
        let status = status.map_err(|e| format!("debugfs {request}: {e}"))?;
        if !status.success() {
            return Err(format!(
                "debugfs {request} failed ({status}): {}",
                errors(&String::from_utf8_lossy(&err))
            ));
        }
        Ok((out, String::from_utf8_lossy(&err).into_owned()))
    }

    /// The names in the directory `dir` (a real directory, symlinks resolved).
    async fn listing(&mut self, dir: &str) -> Result<&mut HashMap<String, Kind>, String> {
        if !self.listings.contains_key(dir) {
            let (out, err) = self.query(&format!("ls -p \"{dir}\"")).await?;
            let mut names = HashMap::new();
            let mut is_dir = false;
            // `/inode/mode/uid/gid/name/size/`: a name never holds a `/`.
            for line in String::from_utf8_lossy(&out).lines() {
                let f: Vec<&str> = line.split('/').collect();
                if f.len() != 8 || !f[0].is_empty() {
                    continue;
                }
                let kind = match f[2].get(..2) {
                    Some("04") => Kind::Dir,
                    Some("12") => Kind::Symlink,
                    _ => Kind::Other,
                };
                match f[5] {
                    "." => is_dir = true,
                    ".." => {}
                    name => {
                        names.insert(name.to_string(), kind);
                    }
                }
            }
            if !is_dir {
                return Err(format!(
                    "{dir} is not a directory in the image: {}",
                    errors(&err)
                ));
            }
            self.listings.insert(dir.to_string(), names);
        }
        Ok(self
            .listings
            .get_mut(dir)
            .unwrap_or_else(|| unreachable!("inserted above")))
    }

    /// What the symlink `path` points at.
    async fn link_target(&self, path: &str) -> Result<String, String> {
        let (out, _) = self.query(&format!("stat \"{path}\"")).await?;
        let text = String::from_utf8_lossy(&out);
        if let Some(rest) = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Fast link dest: \""))
        {
            return Ok(rest.strip_suffix('"').unwrap_or(rest).to_string());
        }
        // A target too long to sit in the inode is the content of its block.
        let (out, _) = self.query(&format!("cat \"{path}\"")).await?;
        String::from_utf8(out).map_err(|_| format!("the symlink {path} in the image is not UTF-8"))
    }

    /// The real directory `path` names in the image, through any symlinks on the way.
    async fn resolve_dir(&mut self, path: &str) -> Result<String, String> {
        let mut hops = 0;
        let mut rest: Vec<String> = normalize(path)
            .split('/')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .rev()
            .collect();
        let mut at = "/".to_string();
        while let Some(name) = rest.pop() {
            let kind = self.listing(&at).await?.get(&name).copied();
            let next = join(&at, &name);
            match kind {
                Some(Kind::Dir) => at = next,
                Some(Kind::Symlink) => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(format!("{path} in the image: too many levels of symlinks"));
                    }
                    let target = self.link_target(&next).await?;
                    let whole = if target.starts_with('/') {
                        target
                    } else {
                        format!("{at}/{target}")
                    };
                    let mut parts: Vec<String> = rest.drain(..).rev().collect();
                    let joined = normalize(&format!("{whole}/{}", parts.join("/")));
                    parts = joined
                        .split('/')
                        .filter(|p| !p.is_empty())
                        .map(str::to_string)
                        .collect();
                    rest = parts.into_iter().rev().collect();
                    at = "/".to_string();
                }
                Some(Kind::Other) => {
                    return Err(format!("{path} in the image: {next} is not a directory"));
                }
                None => return Err(format!("{path} in the image: {next} does not exist")),
            }
        }
        Ok(at)
    }
}

/// The lines of `debugfs`'s stderr that report a failure (all but its version banner).
fn errors(stderr: &str) -> String {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("debugfs 1.") && !l.starts_with("debugfs 2."))
        .take(5)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Writes the tree below `stage` into the ext4 image `image` at its root, over what is there
/// (files replaced, directories entered), every new entry owned by root with the mode it has
/// in `stage`. `scratch` is a directory for the command file. A directory of the tree that
/// meets a file in the image, or a file that meets a directory, is an error.
pub async fn write_tree(image: &Path, stage: &Path, scratch: &Path) -> Result<Written, String> {
    let mut img = Image {
        path: image,
        debugfs: debugfs(),
        listings: HashMap::new(),
    };
    let mut real: HashMap<PathBuf, String> = HashMap::from([(PathBuf::new(), "/".to_string())]);
    let mut commands = String::new();
    let mut written = Written::default();
    let owned = |commands: &mut String, path: &str| {
        commands.push_str(&format!("sif \"{path}\" uid 0\nsif \"{path}\" gid 0\n"));
    };
    for entry in WalkDir::new(stage)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| format!("cannot read the staged tree: {e}"))?;
        if written.entries >= MAX_ENTRIES {
            return Err(format!(
                "the overlays hold more than {MAX_ENTRIES} files and directories"
            ));
        }
        let rel = entry.path().strip_prefix(stage).unwrap_or(entry.path());
        let name = quotable("the name", Path::new(entry.file_name()))?;
        let parent = rel.parent().unwrap_or(Path::new(""));
        let Some(dir) = real.get(parent).cloned() else {
            // The parent was refused above or is not a directory: nothing below it is new.
            continue;
        };
        let target = join(&dir, &name);
        let meta = entry
            .path()
            .symlink_metadata()
            .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
        let mode = meta.permissions().mode() & 0o7777;
        let existing = img.listing(&dir).await?.get(&name).copied();
        let ft = entry.file_type();
        if ft.is_dir() {
            let inside = match existing {
                None => {
                    commands.push_str(&format!(
                        "mkdir \"{target}\"\nsif \"{target}\" mode 0{:o}\n",
                        0o040000 | mode
                    ));
                    owned(&mut commands, &target);
                    img.listing(&dir).await?.insert(name, Kind::Dir);
                    img.listings.insert(target.clone(), HashMap::new());
                    written.entries += 1;
                    target
                }
                Some(Kind::Dir) => target,
                Some(Kind::Symlink) => img.resolve_dir(&target).await?,
                Some(Kind::Other) => {
                    return Err(format!(
                        "the directory {target} would replace a file of the image"
                    ));
                }
            };
            real.insert(rel.to_path_buf(), inside);
            continue;
        }
        if existing == Some(Kind::Dir) {
            return Err(format!("{target} is a directory in the image, not a file"));
        }
        if existing.is_some() {
            commands.push_str(&format!("rm \"{target}\"\n"));
        }
        if ft.is_symlink() {
            let link = std::fs::read_link(entry.path())
                .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
            let link = quotable("the symlink target", &link)?;
            commands.push_str(&format!("symlink \"{target}\" \"{link}\"\n"));
            owned(&mut commands, &target);
            img.listing(&dir).await?.insert(name, Kind::Symlink);
        } else if ft.is_file() {
            let host = quotable("the staged file", entry.path())?;
            commands.push_str(&format!(
                "write \"{host}\" \"{target}\"\nsif \"{target}\" mode 0{:o}\n",
                0o100000 | mode
            ));
            owned(&mut commands, &target);
            img.listing(&dir).await?.insert(name, Kind::Other);
            written.bytes += meta.len();
        } else {
            return Err(format!(
                "{} is neither a file, a directory nor a symlink",
                rel.display()
            ));
        }
        written.entries += 1;
    }
    if commands.is_empty() {
        return Ok(written);
    }
    let file = scratch.join("debugfs.commands");
    std::fs::write(&file, &commands)
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let argv = Argv::new(
        img.debugfs.display().to_string(),
        [Path::new("-w"), Path::new("-f"), &file, image].map(|w| w.display().to_string()),
    );
    let out = argv
        .output()
        .await
        .map_err(|e| format!("cannot run debugfs (install e2fsprogs): {e}"));
    let _ = std::fs::remove_file(&file);
    let out = out?;
    let failed = errors(&String::from_utf8_lossy(&out.stderr));
    if !out.status.success() || !failed.is_empty() {
        return Err(format!(
            "debugfs could not write into {} ({}): {failed}",
            image.display(),
            out.status
        ));
    }
    Ok(written)
}

/// The most `sfdisk -J` may say about one disk image.
const MAX_TABLE_JSON: u64 = 1 << 20;

/// Where partition `index` (counted from 0 in the partition table's order, as LAVA counts)
/// of the disk image `image` lies: its offset and length in bytes, read with `sfdisk -J`.
pub async fn partition(image: &Path, index: u32) -> Result<(u64, u64), String> {
    let sfdisk = ["/usr/sbin/sfdisk", "/sbin/sfdisk"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("sfdisk"));
    let argv = Argv::new(
        sfdisk.display().to_string(),
        ["-J".to_string(), image.display().to_string()],
    );
    let out = argv
        .output_capped(MAX_TABLE_JSON)
        .await
        .map_err(|e| format!("sfdisk on {} (install fdisk): {e}", image.display()))?;
    if !out.status.success() {
        return Err(format!(
            "no partition table in {}: {}",
            image.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let table: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("sfdisk's answer for {}: {e}", image.display()))?;
    let table = &table["partitiontable"];
    let sector = table["sectorsize"].as_u64().unwrap_or(512);
    let parts = table["partitions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let part = parts.get(index as usize).ok_or_else(|| {
        format!(
            "partition {index} (counted from 0) is not in {}, which has {} partition(s)",
            image.display(),
            parts.len()
        )
    })?;
    let (Some(start), Some(size)) = (part["start"].as_u64(), part["size"].as_u64()) else {
        return Err(format!(
            "partition {index} of {} has no start or size",
            image.display()
        ));
    };
    let (offset, len) = (start.saturating_mul(sector), size.saturating_mul(sector));
    let image_len = std::fs::metadata(image)
        .map_err(|e| format!("cannot read {}: {e}", image.display()))?
        .len();
    if offset.checked_add(len).is_none_or(|end| end > image_len) {
        return Err(format!(
            "partition {index} of {} ends past the image's {image_len} bytes",
            image.display()
        ));
    }
    Ok((offset, len))
}

/// [`write_tree`] into the ext4 file system in partition `index` of the disk image `image`:
/// the partition is copied out into `scratch`, written, checked to have kept its size (a
/// file system that claims more than its partition is refused, so nothing lands in the next
/// one) and copied back in place.
pub async fn write_tree_in_partition(
    image: &Path,
    index: u32,
    stage: &Path,
    scratch: &Path,
) -> Result<Written, String> {
    let (offset, len) = partition(image, index).await?;
    let part = scratch.join(format!("partition-{index}.ext4"));
    let (from, to) = (image.to_path_buf(), part.clone());
    blocking(move || copy_range(&from, offset, &to, 0, len)).await?;
    let written = write_tree(&part, stage, scratch).await;
    let result = match written {
        Ok(w) => {
            let (from, to) = (part.clone(), image.to_path_buf());
            blocking(move || {
                let now = std::fs::metadata(&from)
                    .map_err(|e| format!("cannot read {}: {e}", from.display()))?
                    .len();
                if now != len {
                    return Err(format!(
                        "the file system of partition {index} grew past its {len} bytes"
                    ));
                }
                copy_range(&from, 0, &to, offset, len)
            })
            .await
            .map(|()| w)
        }
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_file(&part);
    result
}

/// Runs file work on a blocking thread.
async fn blocking(
    work: impl FnOnce() -> Result<(), String> + Send + 'static,
) -> Result<(), String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("file work failed: {e}"))?
}

/// Copies `len` bytes of `from` at `from_at` into `to` at `to_at` (`to` is created when
/// missing, and never truncated).
fn copy_range(from: &Path, from_at: u64, to: &Path, to_at: u64, len: u64) -> Result<(), String> {
    use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
    fn io(p: &Path) -> impl Fn(std::io::Error) -> String + '_ {
        move |e| format!("cannot copy {}: {e}", p.display())
    }
    let mut input = std::fs::File::open(from).map_err(io(from))?;
    input.seek(SeekFrom::Start(from_at)).map_err(io(from))?;
    let mut output = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(to)
        .map_err(io(to))?;
    output.seek(SeekFrom::Start(to_at)).map_err(io(to))?;
    let copied = std::io::copy(&mut input.take(len), &mut output).map_err(io(to))?;
    if copied != len {
        return Err(format!("{} ended before {len} bytes", from.display()));
    }
    output.flush().map_err(io(to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalized_like_the_kernel_does() {
        assert_eq!(normalize("/usr/lib/../lib/./x"), "/usr/lib/x");
        assert_eq!(normalize("/../../etc"), "/etc");
        assert_eq!(normalize("/"), "/");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }

    #[test]
    fn names_debugfs_could_misread_are_refused() {
        for bad in ["a\"b", "a\\b", "a\nmkdir /x", "tab\there"] {
            let e = quotable("the name", Path::new(bad)).unwrap_err();
            assert!(e.contains("cannot be written into an ext4 image"), "{e}");
        }
        assert_eq!(
            quotable("the name", Path::new("with space")).unwrap(),
            "with space"
        );
    }
}
