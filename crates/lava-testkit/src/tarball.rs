//! Tarballs for tests, written by GNU tar itself (the format the dispatcher must read).

use std::path::Path;
use std::process::Command;

use crate::Error;
use crate::command::run;

/// Writes `archive` holding `member` (a file or directory, `.` for all) of `dir`, with the
/// paths relative to `dir`. `tar -a` compresses as the archive's name says: none for
/// `.tar`, gzip for `.tar.gz`, and so on.
pub fn tar(archive: &Path, dir: &Path, member: &str) -> Result<(), Error> {
    let mut cmd = Command::new("tar");
    cmd.arg("-caf").arg(archive).arg("-C").arg(dir).arg(member);
    run(&mut cmd, None).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_holds_the_member_relative_to_its_directory_compressed_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("lib/m")).unwrap();
        std::fs::write(root.join("lib/m/f"), "f\n").unwrap();
        std::fs::write(root.join("other"), "o\n").unwrap();
        let gz = dir.path().join("lib.tar.gz");
        tar(&gz, &root, "lib").unwrap();
        assert_eq!(
            &std::fs::read(&gz).unwrap()[..2],
            [0x1f, 0x8b],
            "gzip magic"
        );
        let list = Command::new("tar").arg("-tzf").arg(&gz).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&list.stdout),
            "lib/\nlib/m/\nlib/m/f\n"
        );
        let plain = dir.path().join("all.tar");
        tar(&plain, &root, ".").unwrap();
        assert_eq!(
            &std::fs::read(&plain).unwrap()[257..262],
            b"ustar",
            "plain tar"
        );
        assert!(tar(&plain, &root, "missing").is_err());
    }
}
