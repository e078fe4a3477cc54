//! Overlays written into a real ext4 image (`mke2fs -d`) with `debugfs`, read back with
//! `debugfs` and checked with `e2fsck -fn`: through a merged-`/usr` `/lib` symlink, over an
//! existing file and symlink, with modes, owners and odd but legal names; and the refusals.

use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::Path;
use std::process::Command;

use lava_dispatcher::ext4::write_tree;
use lava_dispatcher::sparse;

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} (install e2fsprogs): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn debugfs(image: &Path, request: &str) -> String {
    run(Command::new("/sbin/debugfs")
        .arg("-R")
        .arg(request)
        .arg(image))
}

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A 16 MiB ext4 image of a merged-`/usr` root: `/lib -> usr/lib`, `/etc/old`, and
/// `/etc/link -> old`.
fn image(dir: &Path) -> std::path::PathBuf {
    let base = dir.join("base");
    write(&base.join("usr/lib/libc.so"), "libc\n", 0o644);
    write(&base.join("etc/old"), "old\n", 0o600);
    symlink("usr/lib", base.join("lib")).unwrap();
    symlink("old", base.join("etc/link")).unwrap();
    let img = dir.join("rootfs.ext4");
    run(Command::new("/sbin/mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-d"])
        .arg(&base)
        .arg(&img)
        .arg("16M"));
    img
}

#[tokio::test]
async fn a_tree_is_written_into_an_ext4_image_through_its_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    let stage = dir.path().join("stage");
    write(
        &stage.join("lib/modules/6.1/kernel/x.ko"),
        "module\n",
        0o644,
    );
    write(&stage.join("etc/old"), "new\n", 0o640);
    write(&stage.join("etc/link"), "was a link\n", 0o644);
    write(
        &stage.join("lava-7/bin/lava-test-runner"),
        "#!/bin/sh\n",
        0o755,
    );
    write(&stage.join("lava-7/dir with space/f"), "spaced\n", 0o644);
    symlink("/etc/old", stage.join("lava-7/to-old")).unwrap();
    let written = write_tree(&img, &stage, dir.path()).await.unwrap();
    // lib/modules, 6.1, kernel, x.ko, etc/old, etc/link, lava-7, bin, runner, dir, f, to-old
    assert_eq!(written.entries, 12, "{written:?}");
    assert_eq!(written.bytes, 7 + 4 + 11 + 10 + 7);

    run(Command::new("/sbin/e2fsck").arg("-fn").arg(&img));
    assert_eq!(
        debugfs(&img, "cat /usr/lib/modules/6.1/kernel/x.ko"),
        "module\n"
    );
    assert_eq!(debugfs(&img, "cat /usr/lib/libc.so"), "libc\n");
    assert_eq!(debugfs(&img, "cat /etc/old"), "new\n");
    assert_eq!(debugfs(&img, "cat /etc/link"), "was a link\n");
    assert_eq!(
        debugfs(&img, "cat \"/lava-7/dir with space/f\""),
        "spaced\n"
    );
    let root = debugfs(&img, "ls -p /");
    assert!(
        root.contains("/120777/0/0/lib/"),
        "/lib stays a symlink: {root}"
    );
    let bin = debugfs(&img, "ls -p /lava-7/bin");
    assert!(
        bin.contains("/100755/0/0/lava-test-runner/10/"),
        "mode and owner: {bin}"
    );
    let etc = debugfs(&img, "ls -p /etc");
    assert!(etc.contains("/100640/0/0/old/4/"), "{etc}");
    assert!(etc.contains("/100644/0/0/link/11/"), "{etc}");
    let link = debugfs(&img, "stat /lava-7/to-old");
    assert!(link.contains("Fast link dest: \"/etc/old\""), "{link}");
    assert!(
        !dir.path().join("debugfs.commands").exists(),
        "the command file is removed"
    );

    // A second write of the same tree replaces the files again and leaves a clean image.
    write_tree(&img, &stage, dir.path()).await.unwrap();
    run(Command::new("/sbin/e2fsck").arg("-fn").arg(&img));
    assert_eq!(debugfs(&img, "cat /etc/old"), "new\n");
}

#[tokio::test]
async fn what_cannot_be_written_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(dir.path());
    // (stage directory, the one file it holds, the refusal's words)
    let cases = [
        (
            "file-over-dir",
            "usr/lib",
            "/usr/lib is a directory in the image, not a file",
        ),
        (
            "dir-over-file",
            "etc/old/inner",
            "the directory /etc/old would replace a file of the image",
        ),
        ("quote", "etc/a\"b", "cannot be written into an ext4 image"),
        (
            "newline",
            "etc/a\nmkdir \"/evil",
            "cannot be written into an ext4 image",
        ),
    ];
    for (name, file, want) in cases {
        let stage = dir.path().join(name);
        write(&stage.join(file), "x", 0o644);
        let e = write_tree(&img, &stage, dir.path()).await.unwrap_err();
        assert!(e.contains(want), "{name}: {e}");
    }
    let root = debugfs(&img, "ls -p /");
    assert!(!root.contains("evil"), "{root}");
    run(Command::new("/sbin/e2fsck").arg("-fn").arg(&img));
    // Not an ext4 image at all.
    let junk = dir.path().join("junk.img");
    std::fs::write(&junk, vec![0u8; 1 << 20]).unwrap();
    let stage = dir.path().join("some");
    write(&stage.join("f"), "x", 0o644);
    let e = write_tree(&junk, &stage, dir.path()).await.unwrap_err();
    assert!(e.contains("not a directory in the image"), "{e}");
}

/// A 40 MiB disk with a DOS partition table: partition 0 (10 MiB) full of a marker byte,
/// partition 1 (the rest) holding the ext4 image of [`image`]; returns the disk and the
/// byte range of partition 0.
fn disk(dir: &Path) -> (std::path::PathBuf, std::ops::Range<u64>) {
    use std::io::{Seek as _, SeekFrom, Write as _};
    let disk = dir.join("disk.img");
    std::fs::File::create(&disk)
        .unwrap()
        .set_len(40 << 20)
        .unwrap();
    let mut sfdisk = Command::new("/sbin/sfdisk")
        .args(["-q"])
        .arg(&disk)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sfdisk (package fdisk)");
    sfdisk
        .stdin
        .take()
        .unwrap()
        .write_all(b"label: dos\nstart=2048, size=20480, type=83\nstart=22528, type=83\n")
        .unwrap();
    assert!(sfdisk.wait().unwrap().success());
    let mut f = std::fs::OpenOptions::new().write(true).open(&disk).unwrap();
    f.seek(SeekFrom::Start(2048 * 512)).unwrap();
    f.write_all(&vec![0xa5u8; 20480 * 512]).unwrap();
    let fs = image(dir);
    let bytes = std::fs::read(&fs).unwrap();
    assert!(bytes.len() <= (40 << 20) - 22528 * 512);
    f.seek(SeekFrom::Start(22528 * 512)).unwrap();
    f.write_all(&bytes).unwrap();
    (disk, 2048 * 512..22528 * 512)
}

#[tokio::test]
async fn a_tree_is_written_into_one_partition_of_a_disk_image_and_nowhere_else() {
    use lava_dispatcher::ext4::{partition, write_tree_in_partition};
    let dir = tempfile::tempdir().unwrap();
    let (disk, first) = disk(dir.path());
    let before = std::fs::read(&disk).unwrap();
    assert_eq!(
        partition(&disk, 1).await.unwrap(),
        (22528 * 512, 59392 * 512)
    );
    let stage = dir.path().join("stage");
    write(
        &stage.join("lava-3/bin/lava-test-runner"),
        "#!/bin/sh\n",
        0o755,
    );
    write(&stage.join("etc/old"), "in the partition\n", 0o644);
    let written = write_tree_in_partition(&disk, 1, &stage, dir.path())
        .await
        .unwrap();
    assert_eq!(written.entries, 4, "{written:?}");
    let after = std::fs::read(&disk).unwrap();
    assert_eq!(after.len(), before.len());
    let first = first.start as usize..first.end as usize;
    assert_eq!(
        after[first.clone()],
        before[first.clone()],
        "partition 0 untouched"
    );
    assert_eq!(
        after[..first.start],
        before[..first.start],
        "the table untouched"
    );
    assert!(!dir.path().join("partition-1.ext4").exists());
    // Read the partition back out and look.
    let part = dir.path().join("check.ext4");
    std::fs::write(&part, &after[22528 * 512..]).unwrap();
    run(Command::new("/sbin/e2fsck").arg("-fn").arg(&part));
    assert_eq!(debugfs(&part, "cat /etc/old"), "in the partition\n");
    assert!(debugfs(&part, "ls -p /lava-3/bin").contains("/100755/0/0/lava-test-runner/"));

    let e = write_tree_in_partition(&disk, 5, &stage, dir.path())
        .await
        .unwrap_err();
    assert!(
        e.contains("partition 5 (counted from 0) is not in") && e.contains("has 2 partition(s)"),
        "{e}"
    );
    let e = write_tree_in_partition(&dir.path().join("rootfs.ext4"), 0, &stage, dir.path())
        .await
        .unwrap_err();
    assert!(e.contains("no partition table in"), "{e}");
}

/// `sparse: true`: an Android sparse image made by `img2simg` from a real ext4 image gets the
/// tree, stays sparse, and expands (`simg2img`) to a clean file system holding it.
#[tokio::test]
async fn a_tree_is_written_into_an_android_sparse_ext4_image() {
    let dir = tempfile::tempdir().unwrap();
    let raw = image(dir.path());
    let img = dir.path().join("rootfs.simg");
    run(Command::new("img2simg").arg(&raw).arg(&img));
    let stage = dir.path().join("stage");
    write(
        &stage.join("lava-3/bin/lava-test-runner"),
        "#!/bin/sh\n",
        0o755,
    );
    write(&stage.join("etc/old"), "new\n", 0o640);
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();

    // Bounded by the raw size its header gives, before anything is expanded.
    let before = std::fs::read(&img).unwrap();
    let err = sparse::write_tree(&img, None, &stage, &scratch, 15 << 20)
        .await
        .unwrap_err();
    assert!(err.contains("expands to 16 MiB, more than 15 MiB"), "{err}");
    assert_eq!(std::fs::read(&img).unwrap(), before, "untouched");
    assert_eq!(sparse::raw_size(&img).unwrap(), 16 << 20);

    let written = sparse::write_tree(&img, None, &stage, &scratch, 16 << 20)
        .await
        .unwrap();
    assert_eq!(written.entries, 4, "{written:?}");
    assert_eq!(sparse::raw_size(&img).unwrap(), 16 << 20, "still sparse");
    assert_eq!(
        std::fs::read_dir(&scratch).unwrap().count(),
        0,
        "scratch emptied"
    );
    let back = dir.path().join("back.ext4");
    run(Command::new("simg2img").arg(&img).arg(&back));
    run(Command::new("/sbin/e2fsck").arg("-fn").arg(&back));
    assert_eq!(debugfs(&back, "cat /etc/old"), "new\n");
    assert_eq!(
        debugfs(&back, "cat /lava-3/bin/lava-test-runner"),
        "#!/bin/sh\n"
    );
    assert_eq!(debugfs(&back, "cat /usr/lib/libc.so"), "libc\n");

    // A plain ext4 image said to be sparse is refused, naming it, and left as it was.
    let err = sparse::write_tree(&raw, None, &stage, &scratch, 1 << 30)
        .await
        .unwrap_err();
    assert!(
        err.ends_with("rootfs.ext4 is not an Android sparse image (sparse: true says it is)"),
        "{err}"
    );
}
