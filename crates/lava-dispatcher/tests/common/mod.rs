//! A lab for end-to-end tests: the workspace's real binaries as daemons, with helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A daemon stopped with SIGTERM (then SIGKILL) when dropped.
pub struct Daemon(pub Child);
impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The workspace's binaries (`cargo test --workspace` builds them all).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join(name)
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A lab directory and its database.
pub struct Lab {
    /// Everything the lab writes.
    pub dir: tempfile::TempDir,
    /// The database URL.
    pub db_url: String,
}

impl Lab {
    pub fn server(&self) -> Command {
        let mut c = Command::new(bin("lava-server"));
        c.env("LAVA_ROOT", self.dir.path().join("server"))
            .env("LAVA_DATABASE_URL", &self.db_url);
        c
    }

    pub fn manage(&self, args: &[&str]) -> String {
        let out = self.server().arg("manage").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "manage {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Daemon {
    /// Kills it at once, as a crash would.
    pub fn crash(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `f` returns Some, or panics naming `what` after `secs`.
pub fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Writes a worker's token where the worker looks by default, below `host_root` (its
/// `LAVA_ROOT`), readable by its owner only; returns the file.
pub fn token_file(host_root: &Path, token: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let file = host_root.join("etc/lava-dispatcher/worker.token");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, format!("{token}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    file
}

/// The directories the example jobs name in file URLs once pointed at the test image: the
/// image's directory and the workspace's `share/` (test definitions).
pub fn file_url_dirs() -> String {
    let img = lava_testkit::test_image().unwrap();
    format!(
        "{}:{}",
        img.kernel.parent().unwrap().display(),
        workspace().join("share").display()
    )
}

/// A worker host's `/etc/lava-dispatcher` under `root`: the example kvm device type and
/// its device `kvm01`. Returns the directory, for the test's own devices.
pub fn dispatcher_etc(root: &Path) -> PathBuf {
    let etc = root.join("etc/lava-dispatcher");
    std::fs::create_dir_all(etc.join("devices")).unwrap();
    std::fs::create_dir_all(etc.join("device-types")).unwrap();
    std::fs::copy(
        workspace().join("examples/device-types/kvm.conf"),
        etc.join("device-types/kvm.conf"),
    )
    .unwrap();
    std::fs::write(
        etc.join("devices/kvm01.conf"),
        "device_type = kvm\nhostname = kvm01\n",
    )
    .unwrap();
    etc
}
