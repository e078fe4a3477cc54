//! The files of the log store, as blocking calls for `spawn_blocking`: directories made 0750
//! and files 0640 whatever the process's umask (job logs are for the server and its group,
//! Apache included, not for every local user), and an append that writes at the recorded end
//! and syncs.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{
    DirBuilderExt as _, FileExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::Path;

/// The mode of every directory the server makes under `/var/lib/lava-server`.
pub const DIR_MODE: u32 = 0o750;

/// The mode of every file the server writes there.
pub const FILE_MODE: u32 = 0o640;

/// Makes `dir` and its missing parents, each 0750 (set after creation, so the umask does not
/// matter). Directories that exist are left as they are.
pub fn private_dir_all(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        private_dir_all(parent)?;
    }
    match DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE)),
        // Another append made it first.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Opens `path` for writing, creating it (and its directory) private: 0640.
pub fn open_private(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        private_dir_all(dir)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(FILE_MODE)
        .open(path)?;
    if file.metadata()?.permissions().mode() & 0o7777 != FILE_MODE {
        file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    }
    Ok(file)
}

/// Writes `data` at byte `at` of `path` (dropping whatever lies past `at`: bytes of an append
/// whose commit failed) and syncs it to disk.
pub fn write_at(path: &Path, at: u64, data: &[u8]) -> io::Result<()> {
    let file = open_private(path)?;
    file.set_len(at)?;
    file.write_all_at(data, at)?;
    file.sync_data()
}

/// The bytes of the regular files below `dir` (links are counted as themselves, never
/// followed); 0 when `dir` does not exist.
pub fn size_of_dir(dir: &Path) -> io::Result<u64> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        total += size_of_dir(&entry?.path())?;
    }
    Ok(total)
}

/// Removes `dir` and everything below it (links themselves, never what they point to);
/// returns the bytes its files held. A missing `dir` is already removed: 0.
pub fn remove_dir(dir: &Path) -> io::Result<u64> {
    let bytes = size_of_dir(dir)?;
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn modes_are_set_not_left_to_the_umask() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("a/b/output.yaml");
        std::fs::create_dir(root.path().join("a")).unwrap();
        std::fs::set_permissions(root.path().join("a"), Permissions::from_mode(0o777)).unwrap();
        write_at(&file, 0, b"one\n").unwrap();
        write_at(&file, 4, b"two\n").unwrap();
        write_at(&file, 4, b"2\n").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"one\n2\n");
        assert_eq!(mode(&file), FILE_MODE);
        assert_eq!(mode(&root.path().join("a/b")), DIR_MODE);
        assert_eq!(
            mode(&root.path().join("a")),
            0o777,
            "existing directories are left"
        );
        std::fs::set_permissions(&file, Permissions::from_mode(0o666)).unwrap();
        write_at(&file, 6, b"3\n").unwrap();
        assert_eq!(mode(&file), FILE_MODE);
    }
}
