//! The small `kvm` test image: a Debian cloud kernel, a busybox initramfs and the same tree
//! as an ext4 root file system.
//!
//! `share/create-kvm-image` builds it into `<workspace>/target/lava-images` (as `make
//! test-image` does); [`test_image`] runs that script when the files are missing or older than
//! the script. Tests run in parallel threads and several test binaries run at once, so the
//! build is serialised by a mutex within the process and by a lock directory (`mkdir` is
//! atomic) between processes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::Error;
use crate::command;

/// How long to wait for another process that builds the image.
const LOCK_WAIT: Duration = Duration::from_secs(600);

/// A lock directory older than this is left over from a build that died.
const LOCK_STALE: Duration = Duration::from_secs(900);

/// The files of the small `kvm` test image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestImage {
    /// The kernel (`vmlinuz` of `linux-image-cloud-amd64`).
    pub kernel: PathBuf,
    /// The busybox initramfs (newc, gzip): `lava-kvm login: ` on the serial console, user
    /// `root` without password, prompt `root@lava-kvm:~# `.
    pub initramfs: PathBuf,
    /// The same tree as a raw ext4 root file system, which the initramfs mounts from a
    /// virtio disk and switches to when the kernel command line says `root=/dev/vda`.
    pub rootfs_ext4: PathBuf,
}

impl TestImage {
    /// `qemu-system-x86_64` set up to boot the image with TCG (KVM guests hang on hosts
    /// without vmx/svm) and the serial console on stdio; the caller sets up stdio.
    pub fn qemu_command(&self) -> Command {
        let mut cmd = Command::new("qemu-system-x86_64");
        cmd.args([
            "-accel",
            "tcg",
            "-m",
            "512",
            "-smp",
            "1",
            "-nographic",
            "-no-reboot",
        ])
        .arg("-kernel")
        .arg(&self.kernel)
        .arg("-initrd")
        .arg(&self.initramfs)
        .args(["-append", "console=ttyS0 panic=-1"]);
        cmd
    }

    /// `text` (a job from `examples/`) with its image and test definition locations set to
    /// this image and the workspace's `share/`, as the seed tells admins to "set a usable
    /// location". Covers the kvm health check's and LAVA 2023's qemu job's locations.
    pub fn point_at(&self, text: &str) -> String {
        let kernel = format!("file://{}", self.kernel.display());
        let initramfs = format!("file://{}", self.initramfs.display());
        text.replace("file:///var/lib/lava-server/images/vmlinuz", &kernel)
            .replace(
                "file:///var/lib/lava-server/images/initramfs.cpio.gz",
                &initramfs,
            )
            .replace("file:///srv/lava-images/vmlinuz-generic", &kernel)
            .replace("file:///srv/lava-images/initrd-generic.img", &initramfs)
            .replace(
                "file:///usr/share/lava-dispatcher/test-definitions/",
                &format!(
                    "file://{}/share/test-definitions/",
                    workspace_root().display()
                ),
            )
    }

    /// An example job from `examples/` (path relative to it), pointed at this image.
    pub fn example_job(&self, rel: &str) -> std::io::Result<String> {
        let text = std::fs::read_to_string(workspace_root().join("examples").join(rel))?;
        Ok(self.point_at(&text))
    }
}

/// The workspace root: this crate lives in `<root>/crates/lava-testkit`.
pub(crate) fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// The small `kvm` test image in `<workspace>/target/lava-images`, built by
/// `share/create-kvm-image` if it is missing or older than the script.
pub fn test_image() -> Result<TestImage, Error> {
    static BUILT: Mutex<Option<TestImage>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(image) = built.as_ref() {
        return Ok(image.clone());
    }
    let root = workspace_root();
    let script = root.join("share/create-kvm-image");
    let dir = root.join("target/lava-images");
    let image = TestImage {
        kernel: dir.join("vmlinuz"),
        initramfs: dir.join("initramfs.cpio.gz"),
        rootfs_ext4: dir.join("rootfs.ext4"),
    };
    let files = [&image.kernel, &image.initramfs, &image.rootfs_ext4];
    if !newer_than(&files, &script) {
        build_locked(&script, &dir, || Ok(()))?;
    }
    *built = Some(image.clone());
    Ok(image)
}

/// Whether all `files` exist and are newer than `script`, which builds them.
pub(crate) fn newer_than(files: &[&PathBuf], script: &Path) -> bool {
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let Some(script_time) = mtime(script) else {
        return false;
    };
    files
        .iter()
        .all(|f| mtime(f).is_some_and(|t| t > script_time))
}

/// Runs `sh script --output dir`, then `more`, holding the lock `dir/.lock` between
/// processes. Another process may have built the files while we waited; the script checks
/// again, and so must `more`.
pub(crate) fn build_locked(
    script: &Path,
    dir: &Path,
    more: impl FnOnce() -> Result<(), Error>,
) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(Error::io("create directory", dir))?;
    let _lock = DirLock::acquire(&dir.join(".lock"))?;
    command::run(
        Command::new("sh").arg(script).arg("--output").arg(dir),
        None,
    )?;
    more()
}

/// A lock between processes: a directory that holds the owner's pid, removed on drop.
pub(crate) struct DirLock {
    path: PathBuf,
}

impl DirLock {
    pub(crate) fn acquire(path: &Path) -> Result<Self, Error> {
        let start = Instant::now();
        loop {
            match std::fs::create_dir(path) {
                Ok(()) => {
                    let pid_file = path.join("pid");
                    std::fs::write(&pid_file, std::process::id().to_string())
                        .map_err(Error::io("write", &pid_file))?;
                    return Ok(Self {
                        path: path.to_owned(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if is_stale(path) {
                        let _ = std::fs::remove_dir_all(path);
                        continue;
                    }
                    if start.elapsed() > LOCK_WAIT {
                        return Err(Error::ImageLock {
                            path: path.to_owned(),
                            waited: start.elapsed(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(Error::io("create lock directory", path)(e)),
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Whether the lock's owner is gone (its pid no longer runs) or the lock is very old.
fn is_stale(lock: &Path) -> bool {
    let age = std::fs::metadata(lock)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    if age.is_some_and(|a| a > LOCK_STALE) {
        return true;
    }
    match std::fs::read_to_string(lock.join("pid")) {
        Ok(pid) => match pid.trim().parse::<u32>() {
            Ok(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
            Err(_) => false, // being written
        },
        // Just created, the pid not written yet: wait (a dead one is caught by its age).
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let first = DirLock::acquire(&path).unwrap();
        assert!(!is_stale(&path));
        let p = path.clone();
        let waiter = std::thread::spawn(move || {
            let start = Instant::now();
            let _second = DirLock::acquire(&p).unwrap();
            start.elapsed()
        });
        std::thread::sleep(Duration::from_millis(500));
        drop(first);
        assert!(waiter.join().unwrap() >= Duration::from_millis(400));
        assert!(!path.exists());
    }

    #[test]
    fn a_lock_of_a_dead_process_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("pid"), "4194304999").unwrap();
        assert!(is_stale(&path));
        drop(DirLock::acquire(&path).unwrap());
    }
}
