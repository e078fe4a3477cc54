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

/// How many members the zip archive in `file` says it has, from its end-of-central-directory
/// record (or the zip64 one it points to), read before the directory itself so that a zip of
/// millions of entries costs nothing to refuse. `None` when there is no such record.
fn declared_members(file: &mut File) -> std::io::Result<Option<u64>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let len = file.seek(SeekFrom::End(0))?;
    // The record is 22 bytes followed by a comment of at most 65,535.
    let tail_len = len.min(22 + 65_535);
    let mut tail = vec![0u8; tail_len as usize];
    file.seek(SeekFrom::Start(len - tail_len))?;
    file.read_exact(&mut tail)?;
    let Some(at) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == *b"PK\x05\x06")
    else {
        return Ok(None);
    };
    let count = u64::from(u16::from_le_bytes([tail[at + 10], tail[at + 11]]));
    if count != 0xffff || at < 20 || tail[at - 20..at - 16] != *b"PK\x06\x07" {
        return Ok(Some(count));
    }
    // Zip64: the locator before the record gives where the zip64 record is.
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&tail[at - 12..at - 4]);
    let mut record = [0u8; 40];
    file.seek(SeekFrom::Start(u64::from_le_bytes(offset)))?;
    file.read_exact(&mut record)?;
    if record[..4] != *b"PK\x06\x06" {
        return Ok(Some(count));
    }
    let mut total = [0u8; 8];
    total.copy_from_slice(&record[32..40]);
    Ok(Some(u64::from_le_bytes(total)))
}

/// The refusal of a zip of `n` members, or `None` for one.
fn not_one(n: u64) -> Option<String> {
    match n {
        1 => None,
        0 => Some("is an empty zip archive".into()),
        n => Some(format!(
            "is a zip archive of {n} members; compression: zip takes one (the image)"
        )),
    }
}

/// Opens `source` as a zip archive of exactly one file. The error says what is wrong.
pub(crate) fn open(source: &Path) -> Result<ZipArchive<File>, String> {
    let mut file = File::open(source).map_err(|e| format!("cannot read it: {e}"))?;
    let declared = declared_members(&mut file).map_err(|e| format!("cannot read it: {e}"))?;
    if let Some(why) = declared.and_then(not_one) {
        return Err(why);
    }
    let mut archive = ZipArchive::new(file).map_err(|e| format!("is not a zip archive: {e}"))?;
    if let Some(why) = not_one(archive.len() as u64) {
        return Err(why);
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
        // A directory of 60,000 entries, said by its end record alone, is refused unread.
        let mut record = b"PK\x05\x06\0\0\0\0".to_vec();
        record.extend_from_slice(&60_000u16.to_le_bytes());
        record.extend_from_slice(&60_000u16.to_le_bytes());
        record.extend_from_slice(&[0; 10]);
        let many = dir.path().join("many.zip");
        std::fs::write(&many, &record).unwrap();
        assert_eq!(
            open(&many).unwrap_err(),
            "is a zip archive of 60000 members; compression: zip takes one (the image)"
        );
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"not a zip at all").unwrap();
        assert!(
            open(&plain)
                .unwrap_err()
                .starts_with("is not a zip archive: ")
        );
    }
}
