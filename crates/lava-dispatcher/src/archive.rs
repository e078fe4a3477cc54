//! Archives a job sends to its device: the test overlay as a gzip'd tarball (in-process,
//! with the `tar` crate) and as a gzip'd newc cpio archive (Debian's `cpio`, the format the
//! kernel unpacks from a ramdisk; a second archive after the ramdisk adds its files), and
//! tarballs from a job (`modules`) unpacked safely.
//!
//! Nothing is followed out of the directory being archived: symbolic links are stored as
//! links. Unpacking keeps every entry inside the destination (no absolute paths, no `..`)
//! and makes only directories, regular files and symbolic links.

use std::io::{BufReader, Read, Write as _};
use std::path::Path;
use std::process::Stdio;

use flate2::Compression;
use flate2::write::GzEncoder;
use walkdir::WalkDir;

use crate::command::Argv;

/// gzip's fastest level: overlays are small next to the time a slow one would cost.
fn gz(out: std::fs::File) -> GzEncoder<std::io::BufWriter<std::fs::File>> {
    GzEncoder::new(std::io::BufWriter::new(out), Compression::fast())
}

/// Writes `dir/top` and everything below it into the gzip'd tarball `out`, owned by root,
/// without times.
pub fn tar_gz(dir: &Path, top: &str, out: &Path) -> std::io::Result<()> {
    let mut builder = tar::Builder::new(gz(std::fs::File::create(out)?));
    builder.follow_symlinks(false);
    builder.mode(tar::HeaderMode::Deterministic);
    builder.append_dir_all(top, dir.join(top))?;
    let encoder = builder.into_inner()?;
    encoder.finish()?.flush()
}

/// Writes everything below `dir` (its entries relative to it, parents first) into the
/// gzip'd newc cpio archive `out`, owned by root.
pub fn cpio_gz(dir: &Path, out: &Path) -> Result<(), String> {
    let mut list = Vec::new();
    for entry in WalkDir::new(dir).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        list.extend_from_slice(rel.as_os_str().as_encoded_bytes());
        list.push(0);
    }
    let argv = Argv::new(
        "cpio",
        [
            "--create",
            "--format=newc",
            "--null",
            "--owner=0:0",
            "--quiet",
        ],
    );
    let mut child = argv
        .std_command()
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cpio (Debian's cpio package): {e}"))?;
    let mut stdin = child.stdin.take().unwrap_or_else(|| unreachable!("piped"));
    let feeder = std::thread::spawn(move || stdin.write_all(&list));
    let mut stdout = child.stdout.take().unwrap_or_else(|| unreachable!("piped"));
    let mut stderr = child.stderr.take().unwrap_or_else(|| unreachable!("piped"));
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let file =
        std::fs::File::create(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut encoder = gz(file);
    let copied = std::io::copy(&mut stdout, &mut encoder)
        .and_then(|_| encoder.finish())
        .and_then(|mut w| w.flush());
    let fed = feeder.join().unwrap_or(Ok(()));
    let status = child.wait().map_err(|e| format!("cpio: {e}"))?;
    let errors = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("cpio failed ({status}): {}", errors.trim()));
    }
    copied.map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    fed.map_err(|e| format!("cannot give cpio its file list: {e}"))
}

/// Appends everything below `dir` (its entries relative to it, parents first, owned by root)
/// to the uncompressed tarball `tar_path`, after its last entry: extracting it then gives
/// the original tree with `dir`'s files over it, as LAVA's re-packed archive does, without
/// unpacking the original (its device nodes, owners and long names stay as they were).
/// Returns how many entries were added.
pub fn append_tree(tar_path: &Path, dir: &Path) -> Result<u64, String> {
    let name = tar_path.display();
    let end = {
        let file = std::fs::File::open(tar_path).map_err(|e| format!("cannot read {name}: {e}"))?;
        let mut archive = tar::Archive::new(BufReader::new(file));
        let mut end = 0u64;
        for entry in archive
            .entries()
            .map_err(|e| format!("{name} is not a tarball: {e}"))?
        {
            let entry = entry.map_err(|e| format!("{name} is not a whole tarball: {e}"))?;
            end = entry.raw_file_position() + entry.size().div_ceil(512) * 512;
        }
        end
    };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(tar_path)
        .map_err(|e| format!("cannot write {name}: {e}"))?;
    // The two zero blocks that end the archive (and any padding after them) go; the new
    // entries and a new end follow the last entry.
    file.set_len(end)
        .map_err(|e| format!("cannot write {name}: {e}"))?;
    let mut out = std::io::BufWriter::new(file);
    std::io::Seek::seek(&mut out, std::io::SeekFrom::Start(end))
        .map_err(|e| format!("cannot write {name}: {e}"))?;
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    builder.mode(tar::HeaderMode::Deterministic);
    let mut added = 0u64;
    for entry in WalkDir::new(dir).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        builder
            .append_path_with_name(entry.path(), rel)
            .map_err(|e| format!("cannot add {} to {name}: {e}", rel.display()))?;
        added += 1;
    }
    let out = builder
        .into_inner()
        .map_err(|e| format!("cannot write {name}: {e}"))?;
    out.into_inner()
        .map_err(|e| format!("cannot write {name}: {e}"))?
        .sync_all()
        .map_err(|e| format!("cannot write {name}: {e}"))?;
    Ok(added)
}

/// Unpacks the tarball `archive` (plain, gzip or xz, told by its first bytes) into `dest`,
/// at most `limit` bytes of file content. Entries that would land outside `dest` are
/// refused; devices, pipes and hard links are skipped.
pub fn unpack_tar(archive: &Path, dest: &Path, limit: u64) -> Result<u64, String> {
    let name = archive.display();
    let mut file = std::fs::File::open(archive).map_err(|e| format!("cannot read {name}: {e}"))?;
    let mut magic = [0u8; 6];
    let n = file
        .read(&mut magic)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    let file = std::fs::File::open(archive).map_err(|e| format!("cannot read {name}: {e}"))?;
    let reader: Box<dyn Read> = if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else if n == 6 && magic == [0xfd, b'7', b'z', b'X', b'Z', 0] {
        Box::new(xz2::read::XzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut tar = tar::Archive::new(reader);
    let mut total = 0u64;
    for entry in tar
        .entries()
        .map_err(|e| format!("{name} is not a tarball: {e}"))?
    {
        let mut entry = entry.map_err(|e| format!("{name}: {e}"))?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir() || kind.is_symlink()) {
            continue;
        }
        total += entry.size();
        if total > limit {
            return Err(format!("{name} unpacks to more than {limit} bytes"));
        }
        let path = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let inside = entry
            .unpack_in(dest)
            .map_err(|e| format!("{name}: cannot unpack {path}: {e}"))?;
        if !inside {
            return Err(format!(
                "{name}: {path} would land outside the archive's directory"
            ));
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlay_goes_into_a_tarball_and_a_cpio_archive_whole() {
        let dir = tempfile::tempdir().unwrap();
        let stage = dir.path().join("stage");
        std::fs::create_dir_all(stage.join("lava-7/bin")).unwrap();
        std::fs::write(stage.join("lava-7/bin/run"), "#!/bin/sh\n").unwrap();
        std::fs::write(stage.join("lava-7/blob"), [0u8, 255, 10, 13]).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", stage.join("lava-7/link")).unwrap();
        let tgz = dir.path().join("o.tar.gz");
        tar_gz(&stage, "lava-7", &tgz).unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        unpack_tar(&tgz, &out, 1 << 20).unwrap();
        assert_eq!(
            std::fs::read(out.join("lava-7/blob")).unwrap(),
            [0u8, 255, 10, 13]
        );
        assert_eq!(
            std::fs::read_link(out.join("lava-7/link")).unwrap(),
            Path::new("/etc/passwd")
        );
        let cpio = dir.path().join("o.cpio.gz");
        cpio_gz(&stage, &cpio).unwrap();
        let listing = std::process::Command::new("sh")
            .arg("-c")
            .arg("zcat \"$0\" | cpio -t --quiet")
            .arg(&cpio)
            .output()
            .unwrap();
        let names = String::from_utf8_lossy(&listing.stdout);
        assert_eq!(
            names.lines().collect::<Vec<_>>(),
            [
                "lava-7",
                "lava-7/bin",
                "lava-7/bin/run",
                "lava-7/blob",
                "lava-7/link"
            ]
        );
    }

    #[test]
    fn a_tree_appended_to_a_tarball_lands_over_it_and_keeps_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let long = format!("{}/file", "d".repeat(120));
        std::fs::create_dir_all(root.join(long.rsplit_once('/').unwrap().0)).unwrap();
        std::fs::write(root.join(&long), "long\n").unwrap();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/conf"), "old\n").unwrap();
        std::os::unix::fs::symlink("conf", root.join("etc/link")).unwrap();
        let image = dir.path().join("rootfs.tar");
        // GNU tar's own archive, with its long-name entry and its end padding.
        lava_testkit::tar(&image, &root, ".").unwrap();
        let stage = dir.path().join("stage");
        std::fs::create_dir_all(stage.join("etc")).unwrap();
        std::fs::write(stage.join("etc/conf"), "new\n").unwrap();
        std::fs::create_dir_all(stage.join("lava-9/bin")).unwrap();
        std::fs::write(stage.join("lava-9/bin/run"), "#!/bin/sh\n").unwrap();
        assert_eq!(append_tree(&image, &stage).unwrap(), 5);
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let st = std::process::Command::new("tar")
            .arg("-xf")
            .arg(&image)
            .arg("-C")
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(
            std::fs::read_to_string(out.join("etc/conf")).unwrap(),
            "new\n"
        );
        assert_eq!(std::fs::read_to_string(out.join(&long)).unwrap(), "long\n");
        assert_eq!(
            std::fs::read_link(out.join("etc/link")).unwrap(),
            Path::new("conf")
        );
        assert!(out.join("lava-9/bin/run").is_file());
        // Not a tarball: refused, the file left as it was.
        let junk = dir.path().join("junk");
        std::fs::write(&junk, vec![7u8; 1000]).unwrap();
        assert!(append_tree(&junk, &stage).is_err());
        assert_eq!(std::fs::read(&junk).unwrap(), vec![7u8; 1000]);
    }

    #[test]
    fn unpacking_stays_inside_and_within_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let evil = dir.path().join("evil.tar");
        {
            let mut b = tar::Builder::new(std::fs::File::create(&evil).unwrap());
            let mut h = tar::Header::new_gnu();
            h.set_size(3);
            h.set_mode(0o644);
            // set_path refuses "..", so write the name into the header by hand.
            h.as_old_mut().name[..9].copy_from_slice(b"../escape");
            h.set_cksum();
            b.append(&h, &b"bad"[..]).unwrap();
            b.finish().unwrap();
        }
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let e = unpack_tar(&evil, &out, 1 << 20).unwrap_err();
        assert!(e.contains("outside"), "{e}");
        assert!(!dir.path().join("escape").exists());
        let big = dir.path().join("big.tar");
        {
            let mut b = tar::Builder::new(std::fs::File::create(&big).unwrap());
            let mut h = tar::Header::new_gnu();
            h.set_size(10);
            h.set_mode(0o644);
            b.append_data(&mut h, "f", &[0u8; 10][..]).unwrap();
            b.finish().unwrap();
        }
        assert!(
            unpack_tar(&big, &out, 5)
                .unwrap_err()
                .contains("more than 5 bytes")
        );
    }
}
