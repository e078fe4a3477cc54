//! `compression: zip`: an image delivered as a zip archive of one member.
//!
//! LAVA 2023 downloads such an image as it is and runs `unzip` on it where it appends
//! overlays to it; elsewhere it hands over the zip itself, which no board or QEMU can boot,
//! and a tftp ramdisk it must rewrite fails (it unzips it but cannot zip it again). We take
//! the one member out at download, in every deploy, so each case gets the image LAVA's
//! working case gets. A zip of
//! several members (which `unzip` would scatter beside the image) is refused, as is a member
//! that is a directory, encrypted, or packed with a method other than deflate or store.

use std::fs::File;
use std::path::Path;

use zip::ZipArchive;

/// Opens `source` as a zip archive of exactly one file. The error says what is wrong.
pub(crate) fn open(source: &Path) -> Result<ZipArchive<File>, String> {
    let file = File::open(source).map_err(|e| format!("cannot read it: {e}"))?;
    let mut archive = ZipArchive::new(file).map_err(|e| format!("is not a zip archive: {e}"))?;
    match archive.len() {
        1 => {}
        0 => return Err("is an empty zip archive".into()),
        n => {
            return Err(format!(
                "is a zip archive of {n} members; compression: zip takes one (the image)"
            ));
        }
    }
    let member = archive
        .by_index_raw(0)
        .map_err(|e| format!("has an unreadable zip member: {e}"))?;
    if !member.is_file() {
        let name = match member.name() {
            Ok(name) => name.escape_debug().to_string(),
            Err(e) => format!("a member with an unreadable name ({e})"),
        };
        return Err(format!("holds '{name}', which is not a file"));
    }
    drop(member);
    Ok(archive)
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use zip::write::SimpleFileOptions;

    use super::*;

    fn zip_of(dir: &Path, members: &[(&str, &[u8])]) -> std::path::PathBuf {
        let path = dir.join("image.zip");
        let mut w = zip::ZipWriter::new(File::create(&path).unwrap());
        for (name, data) in members {
            if name.ends_with('/') {
                w.add_directory(*name, SimpleFileOptions::default())
                    .unwrap();
            } else {
                w.start_file(*name, SimpleFileOptions::default()).unwrap();
                w.write_all(data).unwrap();
            }
        }
        w.finish().unwrap();
        path
    }

    #[test]
    fn one_deflated_member_is_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut archive = open(&zip_of(dir.path(), &[("rootfs.img", &data)])).unwrap();
        let mut out = Vec::new();
        archive.by_index(0).unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn anything_but_one_file_is_refused_saying_why() {
        let dir = tempfile::tempdir().unwrap();
        let err = |members: &[(&str, &[u8])]| open(&zip_of(dir.path(), members)).unwrap_err();
        assert_eq!(err(&[]), "is an empty zip archive");
        assert_eq!(
            err(&[("a", b"1"), ("b", b"2")]),
            "is a zip archive of 2 members; compression: zip takes one (the image)"
        );
        assert_eq!(err(&[("d/", b"")]), "holds 'd/', which is not a file");
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"not a zip at all").unwrap();
        assert!(
            open(&plain)
                .unwrap_err()
                .starts_with("is not a zip archive: ")
        );
    }
}
