//! The git state a build starts from: the commit, the tag, whether the tree is dirty, and the
//! export of a tree into the build directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Result};

/// A git working tree.
#[derive(Debug, Clone)]
pub struct Repo {
    /// The top of the working tree.
    pub root: PathBuf,
}

/// What a build is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The full hash of `HEAD`.
    pub commit: String,
    /// The abbreviated hash of `HEAD` (7 hex digits at least).
    pub short: String,
    /// The most recent tag reachable from `HEAD`, if any.
    pub tag: Option<String>,
    /// The commit time of `HEAD` (seconds since the epoch).
    pub commit_time: i64,
    /// Tracked files differ from `HEAD`.
    pub dirty: bool,
    /// The tree to export: `HEAD`'s, or one holding the uncommitted changes.
    pub tree: String,
}

impl Repo {
    /// The repository holding `dir`.
    pub fn discover(dir: &Path) -> Result<Repo> {
        let top = git(dir, &["rev-parse", "--show-toplevel"], &[])?;
        Ok(Repo {
            root: PathBuf::from(top.trim()),
        })
    }

    /// Runs git in the working tree and returns its standard output.
    pub fn git(&self, args: &[&str]) -> Result<String> {
        git(&self.root, args, &[])
    }

    /// The state of `HEAD` and the working tree. With `include_changes`, uncommitted changes
    /// (modified files, and new files git does not ignore) are part of the snapshot and
    /// `dirty` is set; without, the snapshot is `HEAD` alone. `scratch_index` is a file the
    /// snapshot may use as a private git index, so the repository's own index is untouched.
    pub fn snapshot(&self, include_changes: bool, scratch_index: &Path) -> Result<Snapshot> {
        let commit = self
            .git(&["rev-parse", "--verify", "HEAD^{commit}"])?
            .trim()
            .to_string();
        let short = self
            .git(&["rev-parse", "--short=7", "HEAD"])?
            .trim()
            .to_string();
        let tag = self
            .git(&["describe", "--tags", "--abbrev=0", "HEAD"])
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let time = self.git(&["log", "-1", "--format=%ct", "HEAD"])?;
        let commit_time = time
            .trim()
            .parse()
            .map_err(|_| Error::Version(format!("git gave a bad commit time '{}'", time.trim())))?;
        let head_tree = self.git(&["rev-parse", "HEAD^{tree}"])?.trim().to_string();
        let mut tree = head_tree.clone();
        if include_changes && !self.git(&["status", "--porcelain"])?.trim().is_empty() {
            tree = self.working_tree(scratch_index)?;
        }
        Ok(Snapshot {
            dirty: tree != head_tree,
            commit,
            short,
            tag,
            commit_time,
            tree,
        })
    }

    /// Whether the working tree differs from `HEAD` (new files included).
    pub fn is_dirty(&self) -> Result<bool> {
        Ok(!self.git(&["status", "--porcelain"])?.trim().is_empty())
    }

    /// A tree object of the working tree as `git add -A` would stage it, written through a
    /// private index.
    fn working_tree(&self, index: &Path) -> Result<String> {
        if let Some(dir) = index.parent() {
            std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        }
        let real = self.git(&["rev-parse", "--git-path", "index"])?;
        let real = self.root.join(real.trim());
        if real.exists() {
            std::fs::copy(&real, index).map_err(Error::io(&real))?;
        }
        let env = [("GIT_INDEX_FILE", index.as_os_str())];
        git(&self.root, &["add", "-A", "."], &env)?;
        Ok(git(&self.root, &["write-tree"], &env)?.trim().to_string())
    }

    /// Makes `dir` hold exactly the files of `tree`, rewriting only the files that changed
    /// since the last export (tracked in the index file `index`), so that Cargo sees
    /// unchanged sources as unchanged and a warm build stays warm.
    pub fn export(&self, tree: &str, dir: &Path, index: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let work_tree = format!("--work-tree={}", dir.display());
        git(
            &self.root,
            &[&work_tree, "read-tree", "--reset", "-u", tree],
            &[("GIT_INDEX_FILE", index.as_os_str())],
        )?;
        Ok(())
    }
}

/// Runs `git ARGS` in `dir`, returning standard output, or an error with git's message.
fn git(dir: &Path, args: &[&str], envs: &[(&str, &std::ffi::OsStr)]) -> Result<String> {
    let command = format!("git {}", args.join(" "));
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    crate::command::stdout(&mut cmd, &format!("{command} (in {})", dir.display()))
}
