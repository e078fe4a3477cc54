//! A lab for end-to-end tests: the workspace's real binaries as daemons, with helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A daemon stopped with SIGTERM (then, after 20 s, SIGKILL) when dropped.
pub struct Daemon(pub Child);
impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
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

/// Makes `repo` (a directory with files) a git repository with one commit of them all.
pub fn commit(repo: &Path) {
    for args in [
        &["init", "-q"][..],
        &["add", "."],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "tests",
        ],
    ] {
        let st = Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(args)
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
    }
}

/// A git repository `name` in `dir` holding `files`.
pub fn git_repo(dir: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let repo = dir.join(name);
    std::fs::create_dir_all(&repo).unwrap();
    for (path, text) in files {
        let p = repo.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    commit(&repo);
    repo
}

/// `len` pseudo-random bytes (xorshift): every byte value, newlines and NULs among them, and
/// nothing a compressor could shrink.
pub fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A git repository of `mib` MiB: a binary file of pseudo-random bytes (every byte value,
/// newlines and NULs among them) and `big.yaml`, whose two cases check it arrived whole.
pub fn big_repo(dir: &Path, mib: usize) -> (PathBuf, [&'static str; 2]) {
    use sha2::Digest as _;
    let repo = dir.join("big.git");
    std::fs::create_dir_all(repo.join("bin")).unwrap();
    let blob = noise(mib << 20);
    let sum: String = sha2::Sha256::digest(&blob)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(repo.join("bin/blob.bin"), &blob).unwrap();
    std::fs::write(
        repo.join("big.yaml"),
        format!(
            "metadata:\n  format: Lava-Test Test Definition 1.0\n  name: big\n\
             run:\n  steps:\n\
             \x20\x20- lava-test-case blob-size --shell test \"$(wc -c < bin/blob.bin)\" -eq {}\n\
             \x20\x20- lava-test-case blob-sum --shell test \"$(sha256sum bin/blob.bin | cut -d' ' -f1)\" = {sum}\n",
            blob.len()
        ),
    )
    .unwrap();
    commit(&repo);
    (repo, ["blob-size", "blob-sum"])
}

/// A job log's lines (`output.yaml` as `text`), each parsed.
pub fn parse_log(text: &str) -> Vec<lava_common::log::LogLine> {
    text.lines()
        .map(|l| lava_common::log::parse_line(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// The text messages of `log` at level `lvl`, in order.
pub fn texts(log: Vec<lava_common::log::LogLine>, lvl: lava_common::log::Level) -> Vec<String> {
    log.into_iter()
        .filter(|l| l.lvl == lvl)
        .filter_map(|l| match l.msg {
            lava_common::log::Message::Text(t) => Some(t),
            lava_common::log::Message::Map(_) => None,
        })
        .collect()
}

/// A lab on a PostgreSQL cluster of its own (in `pgdir`), migrated, with device type `kvm`
/// and its device `kvm01` (health unknown) loaded from a fixture, and a worker host's
/// `/etc/lava-dispatcher` for them below `host/` (see [`dispatcher_etc`]). The cluster must
/// live as long as the lab.
pub fn kvm01_lab(rt: &tokio::runtime::Runtime, pgdir: &Path) -> (lava_testkit::PgCluster, Lab) {
    let pg = lava_testkit::PgCluster::start(pgdir).unwrap();
    rt.block_on(pg.ensure_database("lava")).unwrap();
    let lab = Lab {
        dir: tempfile::tempdir().unwrap(),
        db_url: pg.url("lava"),
    };
    lab.manage(&["migrate"]);
    let fixture = lab.write(
        "fixture.json",
        r#"[{"model": "lava_scheduler_app.devicetype", "pk": "kvm", "fields": {}},
            {"model": "lava_scheduler_app.device", "pk": "kvm01", "fields": {"device_type": "kvm", "health": 0}}]"#,
    );
    lab.manage(&["loaddata", fixture.to_str().unwrap()]);
    dispatcher_etc(&lab.dir.path().join("host"));
    (pg, lab)
}

/// The `results` mappings of `log`, in order.
pub fn results(
    log: Vec<lava_common::log::LogLine>,
) -> Vec<std::collections::BTreeMap<String, lava_common::log::Value>> {
    log.into_iter()
        .filter(|l| l.lvl == lava_common::log::Level::Results)
        .filter_map(|l| match l.msg {
            lava_common::log::Message::Map(m) => Some(m),
            lava_common::log::Message::Text(_) => None,
        })
        .collect()
}

/// `base` (a ramdisk) with a second, gzip'd cpio archive after it holding only `/init` (mode
/// 0755, owned by root) with `script`: the kernel unpacks it over the first, as KernelCI's
/// buildroot ramdisks give their shell. `stage` is a scratch directory of the test's.
pub fn ramdisk_with_init_script(base: &[u8], script: &str, stage: &Path) -> Vec<u8> {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;
    use std::process::Stdio;
    std::fs::create_dir_all(stage).unwrap();
    let init = stage.join("init");
    std::fs::write(&init, script).unwrap();
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cpio = Command::new("cpio")
        .args(["-o", "-H", "newc", "--quiet", "-R", "0:0"])
        .current_dir(stage)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    cpio.stdin.take().unwrap().write_all(b"init\n").unwrap();
    let out = cpio.wait_with_output().unwrap();
    assert!(out.status.success(), "cpio: {out:?}");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&out.stdout).unwrap();
    let mut ramdisk = base.to_vec();
    ramdisk.extend(gz.finish().unwrap());
    ramdisk
}

/// The job timeouts KernelCI's LAVA template (`config/runtime/base/lava.jinja2` of
/// kernelci-core) gives every job, queue time included.
pub const KERNELCI_TIMEOUTS: &str = "timeouts:
  action:
    minutes: 10
  actions:
    power-off:
      seconds: 30
  job:
    minutes: 30
  queue:
    days: 2
";

/// The end of the boot action KernelCI's boot templates render: three tries, the prompts of
/// its ramdisks' shell, and limits on the boot and its steps, `auto-login-action`'s being
/// `login_limit` (`minutes: 6` as KernelCI renders it).
pub fn kernelci_boot_limits(login_limit: &str) -> String {
    format!(
        "    failure_retry: 3
    prompts:
      - '/ #'
      - '~ #'
    timeout:
      minutes: 20
    timeouts:
      bootloader-commands:
        minutes: 3
      auto-login-action:
        {login_limit}
      login-action:
        minutes: 2
"
    )
}

/// The test action of KernelCI's baseline job (`tests/baseline.jinja2` of kernelci-core), as
/// an item of a job's `actions`: an inline definition signalling through the kernel log whose
/// first case is `first` (`NAME --shell COMMAND`) and whose second checks `/dev/kmsg` is
/// writable.
pub fn kernelci_baseline_test(first: &str) -> String {
    format!(
        r#"- test:
    definitions:
    - from: inline
      lava-signal: kmsg
      name: dmesg
      path: inline/dmesg.yaml
      repository:
        metadata:
          description: baseline test plan
          environment:
            - lava-test-shell
          format: Lava-Test Test Definition 1.0
          name: baseline
          os:
            - debian
          scope:
            - functional
        run:
          steps:
            - lava-test-case {first}
            - lava-test-case kmsg-writable --shell test -w /dev/kmsg

    timeout:
      minutes: 1
"#
    )
}
