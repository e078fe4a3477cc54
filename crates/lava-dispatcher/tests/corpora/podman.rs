//! Podman (Debian's package) for jobs whose QEMU runs in a container image, with every file
//! of its own (storage, run state, temporary files, configuration) under the test's
//! directory, and a local image made at test time from the host's QEMU.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The program inside the test image: a path the host does not have, so a job that names it
/// can only have run in the container.
pub const IMAGE_QEMU: &str = "/opt/lava-test/bin/qemu-system-x86_64";

/// The test image's name.
pub const IMAGE: &str = "localhost/lava-test-qemu:1";

/// One test's podman; its containers are removed when it is dropped.
pub struct Podman {
    dir: PathBuf,
}

impl Podman {
    /// Podman with its files in `dir`, which must be private to the test.
    pub fn new(dir: &Path) -> Podman {
        for (program, package) in [
            ("podman", "podman"),
            ("runc", "runc"),
            ("/usr/libexec/podman/catatonit", "catatonit"),
        ] {
            let found = Command::new(program).arg("--version").output();
            assert!(
                found.is_ok_and(|o| o.status.success()),
                "{program} is missing: install Debian's {package} package"
            );
        }
        for sub in ["storage", "run", "tmp", "engine", "var-lib"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // This sandbox may not raise RLIMIT_NOFILE (podman's default ulimits) and has a
        // hybrid cgroup hierarchy, which crun refuses and runc takes. The engine's state
        // (`/run/libpod` by default) is the test's too, and no events are logged.
        std::fs::write(
            dir.join("containers.conf"),
            format!(
                "[containers]\ndefault_ulimits = []\n[engine]\ntmp_dir = \"{}\"\nevents_logger = \"none\"\n",
                dir.join("engine").display()
            ),
        )
        .unwrap();
        Podman {
            dir: dir.to_path_buf(),
        }
    }

    /// The worker's `docker.engine_options`: podman's global options for this storage.
    pub fn engine_options(&self) -> Vec<String> {
        let d = |sub: &str| self.dir.join(sub).display().to_string();
        [
            "--root".to_string(),
            d("storage"),
            "--runroot".into(),
            d("run"),
            "--storage-driver".into(),
            "vfs".into(),
            "--runtime".into(),
            "runc".into(),
        ]
        .to_vec()
    }

    /// The environment podman reads its configuration and temporary directory from.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("TMPDIR", self.dir.join("tmp").into_os_string()),
            (
                "CONTAINERS_CONF",
                self.dir.join("containers.conf").into_os_string(),
            ),
        ]
    }

    /// Runs `podman OPTIONS ARGS`.
    pub fn run(&self, args: &[&OsStr]) -> Output {
        Command::new("podman")
            .args(self.engine_options())
            .args(args)
            .envs(self.env())
            .output()
            .unwrap()
    }

    /// Runs it and checks it succeeded; returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let out = self.run(&args);
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Imports [`IMAGE`]: the host's `qemu-system-x86_64` at [`IMAGE_QEMU`], with its modules
    /// and data (firmware included) beside it in `/opt/lava-test`, and the libraries
    /// QEMU and its TCG module load.
    pub fn import_qemu_image(&self) {
        let qemu = "usr/bin/qemu-system-x86_64";
        let module = "usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so";
        let ldd = Command::new("ldd")
            .arg(format!("/{qemu}"))
            .arg(format!("/{module}"))
            .output()
            .unwrap();
        assert!(ldd.status.success(), "ldd: {ldd:?}");
        let mut paths: Vec<String> = String::from_utf8_lossy(&ldd.stdout)
            .split_whitespace()
            .filter_map(|w| w.strip_prefix('/'))
            .filter(|w| !w.ends_with(':'))
            .map(str::to_string)
            .collect();
        paths.sort();
        paths.dedup();
        paths.extend(
            [
                qemu,
                "usr/share/qemu",
                "usr/share/seabios",
                "usr/lib/ipxe/qemu",
                "usr/lib/x86_64-linux-gnu/qemu",
            ]
            .map(String::from),
        );
        let tarball = self.dir.join("qemu-image.tar");
        let status = Command::new("tar")
            .arg("-chf")
            .arg(&tarball)
            .args(["-C", "/"])
            // QEMU finds its modules and firmware relative to its own directory.
            .arg(r"--transform=s,^usr/\(bin/qemu-system-x86_64\|share/\|lib/ipxe/\|lib/x86_64-linux-gnu/qemu\),opt/lava-test/\1,")
            .args(&paths)
            .status()
            .unwrap();
        assert!(status.success(), "tar of the host's QEMU failed");
        // Debian's podman keeps a cache of what it imports in /var/lib/containers/cache
        // whatever its storage: the import sees the test's own directory there, in a mount
        // namespace of its own (the jobs' `run` and `rm` do not use that cache).
        let out = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg("mount --bind \"$1\" /var/lib && shift && exec \"$@\"")
            .arg("sh")
            .arg(self.dir.join("var-lib"))
            .arg("podman")
            .args(self.engine_options())
            .arg("import")
            .arg(&tarball)
            .arg(IMAGE)
            .envs(self.env())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "podman import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::remove_file(&tarball).unwrap();
    }

    /// The containers of this storage, running or not.
    pub fn containers(&self) -> String {
        self.ok(&["ps", "-a", "--format", "{{.Names}}"])
    }
}

impl Drop for Podman {
    /// Whatever the test did, no container of its storage outlives it.
    fn drop(&mut self) {
        let _ = self.run(&[OsStr::new("rm"), OsStr::new("-a"), OsStr::new("-f")]);
    }
}
