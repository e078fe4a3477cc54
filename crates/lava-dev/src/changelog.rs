//! The changelog entry of a build, and the gzip files Debian wants (reproducible: no name and
//! no time in the gzip header).

use std::io::Write as _;
use std::path::Path;

use chrono::DateTime;
use flate2::{Compression, GzBuilder};

use crate::version::Version;
use crate::{Error, Result};

/// `debian/changelog` with a first entry for this build, naming its commit.
pub fn with_build_entry(
    committed: &str,
    source: &str,
    version: &Version,
    commit: &str,
    maintainer: &str,
) -> String {
    let date = DateTime::from_timestamp(version.time, 0)
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S +0000").to_string())
        .unwrap_or_default();
    let dirty = if version.dirty {
        " with uncommitted changes"
    } else {
        ""
    };
    format!(
        "{source} ({version}) unstable; urgency=medium\n\n  \
         * Developer build of commit\n    {commit}{dirty}.\n\n \
         -- {maintainer}  {date}\n\n{committed}"
    )
}

/// Gzips `data` into `path` at maximum compression, with an empty name and a zero time.
pub fn gzip_to(data: &[u8], path: &Path) -> Result<()> {
    let file = std::fs::File::create(path).map_err(Error::io(path))?;
    let mut gz = GzBuilder::new().mtime(0).write(file, Compression::best());
    gz.write_all(data).map_err(Error::io(path))?;
    gz.finish().map_err(Error::io(path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_version_commit_and_date() {
        let v = Version::new(None, "0.1.0", 0, "abcdef0", false).unwrap();
        let text = with_build_entry("old\n", "lava", &v, "abcdef0123", "M <m@x.org>");
        assert!(text.starts_with("lava (0.1.0+git19700101.000000.gabcdef0) unstable;"));
        assert!(text.contains("commit\n    abcdef0123.\n"));
        assert!(text.contains(" -- M <m@x.org>  Thu, 01 Jan 1970 00:00:00 +0000\n\nold\n"));
    }
}
