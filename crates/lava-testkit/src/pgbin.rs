//! Finding the PostgreSQL server binaries.

use std::path::{Path, PathBuf};

use crate::Error;

/// Where Debian installs one directory of binaries per major version.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
///
/// `LAVA_PG_BINDIR` wins; otherwise the highest version under `/usr/lib/postgresql/*/bin`.
pub fn pg_bindir() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("LAVA_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        if has_server(&dir) {
            return Ok(dir);
        }
        return Err(Error::NoPostgres {
            searched: format!("{} (LAVA_PG_BINDIR)", dir.display()),
        });
    }
    let versions = std::fs::read_dir(DEBIAN_ROOT)
        .into_iter()
        .flatten()
        .flatten();
    versions
        .filter_map(|entry| {
            let version = version_key(&entry.file_name().to_string_lossy())?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
        .ok_or_else(|| Error::NoPostgres {
            searched: format!("{DEBIAN_ROOT}/*/bin"),
        })
}

fn has_server(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|b| dir.join(b).is_file())
}

/// "15" → [15], "9.6" → [9, 6]: compared numerically, so 10 beats 9.6.
fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(version_key("10") > version_key("9.6"));
        assert!(version_key("17") > version_key("15"));
        assert_eq!(version_key("bin"), None);
    }
}
