//! A job's directory on the worker's TFTP server: `<tftp root>/<job id>/`, readable by
//! tftpd-hpa (which serves as user `tftp`), alive for the job only.
//!
//! The directory holds an owner file (`.lava-dispatch`, private to root) with the pid of the
//! `lava-dispatch` that made it. The job removes the directory in finalize, whatever the
//! outcome; a directory whose owner is dead (a dispatcher that crashed or was killed) is
//! stale, and [`sweep`] removes it: `lava-dispatch` before it makes its own, and the worker
//! when it starts and after every job. Two jobs never share a directory: one whose owner is
//! alive is refused.

use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use nix::sys::signal::kill;
use nix::unistd::Pid;

use crate::job::Failure;

/// The owner file in a job's directory.
pub const OWNER_FILE: &str = ".lava-dispatch";

/// A job's directory on the TFTP server.
#[derive(Debug)]
pub struct TftpDir {
    root: PathBuf,
    job: String,
}

fn chmod(path: &Path, mode: u32) -> std::io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Whether process `pid` is alive (a process of another user counts too).
fn alive(pid: i32) -> bool {
    pid > 0
        && !matches!(
            kill(Pid::from_raw(pid), None),
            Err(nix::errno::Errno::ESRCH)
        )
}

/// The pid in a job directory's owner file; `None` when there is none (not ours).
fn owner(dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(dir.join(OWNER_FILE)).ok()?;
    text.trim().parse().ok()
}

/// Removes every job directory under `root` whose owner is dead; returns them. Directories
/// without an owner file are not the dispatcher's and are left alone.
pub fn sweep(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if let Some(pid) = owner(&dir).filter(|_| is_dir)
            && !alive(pid)
            && std::fs::remove_dir_all(&dir).is_ok()
        {
            removed.push(dir);
        }
    }
    removed
}

impl TftpDir {
    /// Makes `<root>/<job>/` for this process, after removing stale directories of dead
    /// dispatchers. A missing root, a job directory held by a live dispatcher, or one that
    /// cannot be written is an infrastructure error naming the path.
    pub fn create(action: &str, root: &Path, job: &str) -> Result<TftpDir, Failure> {
        let plain = !job.is_empty()
            && !job.starts_with('.')
            && job
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !plain {
            return Err(Failure::infra(
                action,
                format!("job id '{job}' cannot name a directory on the TFTP server"),
            ));
        }
        if !root.is_dir() {
            return Err(Failure::infra(
                action,
                format!(
                    "the TFTP root {} does not exist or is not a directory (tftp.root in the dispatcher's settings, or the device's tftp_root)",
                    root.display()
                ),
            ));
        }
        sweep(root);
        let dir = root.join(job);
        let fail = |e: std::io::Error| {
            Failure::infra(action, format!("cannot create {}: {e}", dir.display()))
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let held = owner(&dir).map_or("no dispatcher's".to_string(), |p| {
                    format!("those of lava-dispatch {p}")
                });
                return Err(Failure::infra(
                    action,
                    format!(
                        "{} already exists and holds {held} files: two jobs with one id cannot share the TFTP server",
                        dir.display()
                    ),
                ));
            }
            Err(e) => return Err(fail(e)),
        }
        let made = TftpDir {
            root: root.to_path_buf(),
            job: job.to_string(),
        };
        // The owner file first: from here on a crash leaves a directory `sweep` can remove.
        let owner_file = dir.join(OWNER_FILE);
        std::fs::write(&owner_file, format!("{}\n", std::process::id()))
            .and_then(|()| chmod(&owner_file, 0o600))
            .and_then(|()| chmod(&dir, 0o755))
            .map_err(fail)?;
        Ok(made)
    }

    /// `ROOT/JOB_ID`: the one directory of the job's files on the TFTP server.
    pub fn path(&self) -> PathBuf {
        self.root.join(&self.job)
    }

    /// Puts `source` on the server as `<job>/<role>/<name>` (a hard link when it can, else a
    /// copy written under a temporary name and renamed), readable by everyone; returns the
    /// path relative to the TFTP root, as boot commands name it.
    pub fn place(
        &self,
        action: &str,
        role: &str,
        source: &Path,
        name: &str,
    ) -> Result<String, Failure> {
        let dir = self.path().join(role);
        let dest = dir.join(name);
        let fail = |e: std::io::Error| {
            Failure::infra(
                action,
                format!("cannot place the {role} in {}: {e}", dest.display()),
            )
        };
        if !dir.is_dir() {
            std::fs::create_dir(&dir).map_err(fail)?;
            chmod(&dir, 0o755).map_err(fail)?;
        }
        let _ = std::fs::remove_file(&dest);
        if std::fs::hard_link(source, &dest).is_err() {
            let partial = dir.join(format!(".{name}.part"));
            let copied =
                std::fs::copy(source, &partial).and_then(|_| std::fs::rename(&partial, &dest));
            if let Err(e) = copied {
                let _ = std::fs::remove_file(&partial);
                return Err(fail(e));
            }
        }
        chmod(&dest, 0o644).map_err(fail)?;
        Ok(format!("{}/{role}/{name}", self.job))
    }

    /// A file placed by [`TftpDir::place`], by its relative path.
    pub fn file(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Removes the directory and everything in it.
    pub fn remove(self) -> std::io::Result<()> {
        match std::fs::remove_dir_all(self.path()) {
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_directory_is_made_served_and_removed() {
        let root = tempfile::tempdir().unwrap();
        let src = root.path().join("Image");
        std::fs::write(&src, "kernel").unwrap();
        chmod(&src, 0o600).unwrap();
        let dir = TftpDir::create("tftp-deploy", root.path(), "12").unwrap();
        let rel = dir.place("tftp-deploy", "kernel", &src, "Image").unwrap();
        assert_eq!(rel, "12/kernel/Image");
        let placed = dir.file(&rel);
        assert_eq!(std::fs::read_to_string(&placed).unwrap(), "kernel");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&placed), 0o644);
        assert_eq!(mode(&root.path().join("12")), 0o755);
        assert_eq!(mode(&root.path().join("12/kernel")), 0o755);
        assert_eq!(mode(&root.path().join("12").join(OWNER_FILE)), 0o600);
        let e = TftpDir::create("tftp-deploy", root.path(), "12").unwrap_err();
        assert!(e.message.contains("already exists"), "{e}");
        dir.remove().unwrap();
        assert!(!root.path().join("12").exists());
        assert!(src.exists(), "the job's own copy stays");
    }

    #[test]
    fn a_missing_root_and_a_strange_id_are_named() {
        let root = tempfile::tempdir().unwrap();
        let gone = root.path().join("srv/tftp");
        let e = TftpDir::create("tftp-deploy", &gone, "12").unwrap_err();
        assert_eq!(e.kind, crate::job::ErrorType::Infrastructure);
        assert!(e.message.contains(&gone.display().to_string()), "{e}");
        for bad in ["../x", ".hidden", "", "a/b"] {
            assert!(TftpDir::create("d", root.path(), bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stale_directories_of_dead_dispatchers_are_swept() {
        let root = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        for (name, pid) in [
            ("1", Some(dead)),
            ("2", Some(std::process::id())),
            ("3", None),
        ] {
            let d = root.path().join(name);
            std::fs::create_dir(&d).unwrap();
            if let Some(pid) = pid {
                std::fs::write(d.join(OWNER_FILE), pid.to_string()).unwrap();
            }
        }
        assert_eq!(sweep(root.path()), [root.path().join("1")]);
        assert!(root.path().join("2").exists() && root.path().join("3").exists());
        // A stale directory with the job's own id is taken over.
        std::fs::write(root.path().join("2").join(OWNER_FILE), dead.to_string()).unwrap();
        TftpDir::create("d", root.path(), "2").unwrap();
    }
}
