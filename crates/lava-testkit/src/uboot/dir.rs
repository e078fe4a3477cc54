//! A board directory given by the user (`lava-lab board start|stop DIR`): taken only when it
//! is new, empty or an earlier board's, and stopped from any process.

use std::path::{Path, PathBuf};

use crate::Error;

use super::layout::Layout;
use super::teardown::{self, Removal};

/// What a board directory may already hold (an earlier board's files).
const BOARD_ENTRIES: [&str; 4] = ["board.env", "etc", "run", "tftp"];

/// Makes `dir` ready for a new board: creates it if missing, refuses it when a board runs
/// there or when it holds anything a board did not make (stopping removes `DIR/etc`, so
/// `/` or a home directory must never be taken), and clears what a dead board left.
pub(crate) fn prepare_given(dir: &Path) -> Result<Layout, Error> {
    let absolute = std::path::absolute(dir).map_err(Error::io("resolve", dir))?;
    let created = !absolute.exists();
    std::fs::create_dir_all(&absolute).map_err(Error::io("create directory", &absolute))?;
    let path = absolute
        .canonicalize()
        .map_err(Error::io("resolve", &absolute))?;
    let layout = Layout::new(&path)?;
    let running = teardown::board_pids(&layout);
    if !running.is_empty() {
        return Err(Error::BoardRunning {
            dir: path,
            pids: running,
        });
    }
    let foreign: Vec<PathBuf> = std::fs::read_dir(&path)
        .map_err(Error::io("read directory", &path))?
        .filter_map(|e| e.ok())
        .filter(|e| !BOARD_ENTRIES.contains(&e.file_name().to_str().unwrap_or("")))
        .map(|e| e.path())
        .collect();
    if !foreign.is_empty() || (path.join("etc").exists() && !layout.run.exists()) {
        return Err(Error::NotABoardDir {
            dir: path,
            found: foreign,
        });
    }
    let owned = created || layout.owned_dir_flag().exists();
    if layout.run.exists() {
        tracing::info!(dir = %path.display(), "removing what a dead board left");
        teardown::tear_down(&layout, &Removal::Board)?;
    }
    std::fs::create_dir_all(&layout.run).map_err(Error::io("create directory", &layout.run))?;
    if owned {
        let flag = layout.owned_dir_flag();
        std::fs::write(&flag, "").map_err(Error::io("write", &flag))?;
    }
    Ok(layout)
}

/// Stops the board in `dir`; `Ok(false)` when there is none (never started, or stopped).
pub(crate) fn stop(dir: &Path) -> Result<bool, Error> {
    let absolute = std::path::absolute(dir).map_err(Error::io("resolve", dir))?;
    let Ok(path) = absolute.canonicalize() else {
        return Ok(false);
    };
    let layout = Layout::new(&path)?;
    let running = !teardown::board_pids(&layout).is_empty();
    if !layout.run.exists() && !running {
        return Ok(false);
    }
    teardown::tear_down(&layout, &Removal::Board)?;
    Ok(true)
}

/// Checks the device name, which becomes `DIR/etc/devices/HOSTNAME.conf`.
pub(crate) fn check_hostname(name: &str) -> Result<(), Error> {
    lava_common::ids::check_name("device hostname", name).map_err(|e| Error::BadName(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_directory_with_other_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let err = prepare_given(dir.path()).unwrap_err();
        assert!(matches!(err, Error::NotABoardDir { .. }), "{err}");
        assert!(err.to_string().contains("notes.txt"), "{err}");
        // An etc/ that no board made (no run/ next to it) is refused too.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        let err = prepare_given(dir.path()).unwrap_err();
        assert!(matches!(err, Error::NotABoardDir { .. }), "{err}");
        assert!(dir.path().join("etc").exists());
    }

    #[test]
    fn takes_a_new_directory_and_marks_it_as_ours() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("b");
        let layout = prepare_given(&dir).unwrap();
        assert!(layout.owned_dir_flag().exists());
        // Nothing runs there: stopping removes it all, the second time finds nothing.
        assert!(stop(&dir).unwrap());
        assert!(!dir.exists());
        assert!(!stop(&dir).unwrap());
    }

    #[test]
    fn hostnames_follow_the_device_name_rules() {
        check_hostname("uboot-qemu01").unwrap();
        assert!(check_hostname("../x").is_err());
    }
}
