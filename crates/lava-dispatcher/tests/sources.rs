//! Where jobs get their images and test definitions: HTTP with a cache, gz and zip
//! decompression and checksums; git repositories given as local paths or file:// URLs; devices by name.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lava_testkit::{TestImage, test_image};
use sha2::Digest as _;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Python's http.server on a free loopback port, killed on drop.
struct Http {
    child: Child,
    port: u16,
}

impl Http {
    fn serve(dir: &Path) -> Http {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("/usr/bin/python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "http.server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Http { child, port }
    }
}

impl Drop for Http {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `lava-dispatch` with the test image's directory and `files` (the test's own
/// repositories) allowed in file URLs, and the local HTTP servers of these tests allowed.
fn dispatch_with(
    root: &Path,
    args: &[&str],
    job: &Path,
    cache: &Path,
    files: &Path,
) -> std::process::Output {
    let img = test_image().unwrap();
    Command::new(env!("CARGO_BIN_EXE_lava-dispatch"))
        .args(args)
        .arg("--quiet")
        .arg(job)
        .env("LAVA_QEMU_ACCEL", "tcg")
        .env("LAVA_ROOT", root)
        .env("LAVA_DISPATCHER_CACHE", cache)
        .env(
            "LAVA_FILE_URL_DIRS",
            format!(
                "{}:{}",
                img.kernel.parent().unwrap().display(),
                files.display()
            ),
        )
        .env("LAVA_ALLOW_LOCAL_TARGETS", "true")
        .output()
        .unwrap()
}

fn dispatch(root: &Path, args: &[&str], job: &Path, cache: &Path) -> std::process::Output {
    dispatch_with(root, args, job, cache, &root.join("nothing"))
}

/// What a run of a job on kvm01 left.
struct Run {
    code: Option<i32>,
    stderr: String,
    /// Its log, `output.yaml`.
    log: String,
}

/// Runs `job` on kvm01 with its log in `out_dir`; `files` as for [`dispatch_with`].
fn run_kvm01(root: &Path, job: &Path, out_dir: &Path, cache: &Path, files: &Path) -> Run {
    let args = [
        "--device-name",
        "kvm01",
        "--output-dir",
        out_dir.to_str().unwrap(),
    ];
    let out = dispatch_with(root, &args, job, cache, files);
    let stderr = text(&out.stderr);
    let log = std::fs::read_to_string(out_dir.join("output.yaml"))
        .unwrap_or_else(|e| panic!("no log in {}: {e}; stderr: {stderr}", out_dir.display()));
    Run {
        code: out.status.code(),
        stderr,
        log,
    }
}

fn install_kvm(root: &Path) {
    common::dispatcher_etc(root);
}

/// A kvm01 lab below `dir`, the test image, and an empty `www` directory below `dir` to
/// serve images from: `(root, image, www)`.
fn lab_with_www(dir: &Path) -> (PathBuf, TestImage, PathBuf) {
    let root = dir.join("root");
    install_kvm(&root);
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    (root, test_image().unwrap(), www)
}

/// A kvm job that boots the `kernel` and `ramdisk` given as YAML flow maps, written to
/// `dir/job.yaml`.
fn boot_job(dir: &Path, name: &str, kernel: &str, ramdisk: &str) -> PathBuf {
    let job = dir.join("job.yaml");
    std::fs::write(
        &job,
        format!(
            "job_name: {name}\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {{minutes: 3}}\n\
             actions:\n- deploy:\n    to: tmpfs\n    images:\n\
             \x20     kernel: {kernel}\n\
             \x20     ramdisk: {ramdisk}\n\
             - boot:\n    method: qemu\n    auto_login: {{login_prompt: 'login:', username: root}}\n    prompts: ['root@lava-kvm']\n"
        ),
    )
    .unwrap();
    job
}

#[test]
fn http_images_are_checked_decompressed_and_cached() {
    let dir = tempfile::tempdir().unwrap();
    let (root, img, served) = lab_with_www(dir.path());
    // The kernel is served gzip-compressed; its checksum is that of the compressed file.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "gzip -c {} > {}/vmlinuz.gz",
            img.kernel.display(),
            served.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::copy(&img.initramfs, served.join("initramfs.cpio.gz")).unwrap();
    let sha = sha2::Sha256::digest(std::fs::read(served.join("vmlinuz.gz")).unwrap());
    let sha: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    let http = Http::serve(&served);
    let p = http.port;
    let job = boot_job(
        dir.path(),
        "http",
        &format!("{{url: 'http://127.0.0.1:{p}/vmlinuz.gz', compression: gz, sha256sum: '{sha}'}}"),
        &format!("{{url: 'http://127.0.0.1:{p}/initramfs.cpio.gz'}}"),
    );
    let cache = dir.path().join("cache");
    for round in 0..2 {
        let out_dir = dir.path().join(format!("out{round}"));
        let run = run_kvm01(&root, &job, &out_dir, &cache, &root.join("nothing"));
        assert_eq!(run.code, Some(0), "round {round}: {}", run.stderr);
        let log = run.log;
        assert!(
            log.contains("the shell is ready"),
            "the decompressed kernel booted"
        );
        assert_eq!(
            log.contains("using the cached copy"),
            round == 1,
            "round {round}"
        );
    }
    // A wrong checksum is caught even when the cache holds the file.
    let bad = std::fs::read_to_string(&job)
        .unwrap()
        .replace(&sha, &"f".repeat(64));
    std::fs::write(&job, bad).unwrap();
    let run = run_kvm01(
        &root,
        &job,
        &dir.path().join("out-bad"),
        &cache,
        &root.join("nothing"),
    );
    assert_eq!(run.code, Some(1));
    assert!(run.log.contains("checksum mismatch"), "{}", run.log);
}

/// `compression: zip`: the one member of the zip is taken out at download, and the guest
/// boots from it.
#[test]
fn a_zipped_ramdisk_is_unzipped_and_boots() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let (root, img, served) = lab_with_www(dir.path());
    std::fs::copy(&img.kernel, served.join("vmlinuz")).unwrap();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(served.join("ramdisk.zip")).unwrap());
    zip.start_file(
        "initramfs.cpio.gz",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    zip.write_all(&std::fs::read(&img.initramfs).unwrap())
        .unwrap();
    zip.finish().unwrap();
    let http = Http::serve(&served);
    let p = http.port;
    let job = boot_job(
        dir.path(),
        "zip",
        &format!("{{url: 'http://127.0.0.1:{p}/vmlinuz'}}"),
        &format!("{{url: 'http://127.0.0.1:{p}/ramdisk.zip', compression: zip}}"),
    );
    let out_dir = dir.path().join("out");
    let cache = dir.path().join("cache");
    let run = run_kvm01(&root, &job, &out_dir, &cache, &root.join("nothing"));
    assert_eq!(run.code, Some(0), "{}\n{}", run.stderr, run.log);
    assert!(run.log.contains("the shell is ready"), "{}", run.log);
    // The member, under the URL's name less `.zip`, is what QEMU was given.
    let unpacked = format!(
        "ramdisk.zip (Zip) to {}",
        out_dir.join("work/ramdisk/ramdisk").display()
    );
    assert!(run.log.contains(&unpacked), "{}", run.log);
    assert!(
        run.log.contains(&format!(
            "-initrd {}",
            out_dir.join("work/ramdisk/ramdisk").display()
        )),
        "{}",
        run.log
    );
}

#[test]
fn git_test_definitions_from_a_file_url_with_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    install_kvm(&root);
    let repo = dir.path().join("tests.git");
    std::fs::create_dir_all(repo.join("scripts")).unwrap();
    std::fs::write(
        repo.join("smoke.yaml"),
        "metadata:\n  format: Lava-Test Test Definition 1.0\n  name: from-git\nparams:\n  GREETING: hello\n\
         run:\n  steps:\n  - sh ./scripts/check.sh\nparse:\n  pattern: '^check (?P<test_case_id>\\S+): (?P<result>OK|BAD)'\n  fixupdict:\n    OK: pass\n    BAD: fail\n",
    )
    .unwrap();
    std::fs::write(repo.join("scripts/check.sh"), "echo \"check greeting: $([ \"$GREETING\" = hi ] && echo OK || echo BAD)\"\necho 'check uname: OK'\n").unwrap();
    // A definition that is a symbolic link out of the checkout: refused, even though what it
    // points at is a valid definition in a directory file URLs may use.
    std::fs::write(
        dir.path().join("outside.yaml"),
        "metadata:\n  name: outside\nrun:\n  steps:\n  - lava-test-case outside --result pass\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.path().join("outside.yaml"), repo.join("escape.yaml")).unwrap();
    common::commit(&repo);
    let img = test_image().unwrap();
    let job = |name: &str, testdef: &str, params: &str| {
        let job = dir.path().join(format!("{name}.json"));
        std::fs::write(
            &job,
            format!(
                r#"{{"job_name": "git", "device_type": "kvm", "timeout": 180, "actions": [
                {{"command": "deploy_linaro_kernel", "parameters": {{"kernel": "file://{}", "ramdisk": "file://{}"}}}},
                {{"command": "boot_linaro_image"}},
                {{"command": "lava_test_shell", "parameters": {{"testdef_repos": [
                    {{"git-repo": "file://{repo}", "testdef": "{testdef}"{params}}}]}}}}]}}"#,
                img.kernel.display(),
                img.initramfs.display(),
                repo = repo.display()
            ),
        )
        .unwrap();
        job
    };
    let run = |job: &Path| {
        let out_dir = dir.path().join("out");
        let run = run_kvm01(&root, job, &out_dir, &dir.path().join("cache"), dir.path());
        (run.code, run.log)
    };
    let (code, log) = run(&job(
        "smoke",
        "smoke.yaml",
        r#", "parameters": {"GREETING": "hi"}"#,
    ));
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains(r#""case": "greeting", "definition": "0_smoke", "result": "pass""#),
        "job parameters override params: {log}"
    );
    assert!(
        log.contains(r#""case": "uname", "definition": "0_smoke", "result": "pass""#),
        "{log}"
    );
    // The overlay is built at deploy, so a definition that leads out of its checkout stops
    // the job there, before the device is booted.
    let (code, log) = run(&job("escape", "escape.yaml", ""));
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("escape.yaml in file://") && log.contains("leads outside the repository"),
        "{log}"
    );
    assert!(
        !log.contains("boot-qemu-image") && !log.contains(r#""case": "outside""#),
        "nothing booted, the outside definition never ran: {log}"
    );
}

/// Runs a kvm job whose test comes from a `mib` MiB repository with a binary file (see
/// [`common::big_repo`]); `initrd` is extra YAML for the initrd image, `minutes` the job timeout.
/// Asserts the job completes with both checks of the blob passed; returns its log.
fn big_repo_job(mib: usize, initrd: &str, minutes: u32) -> String {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    install_kvm(&root);
    let (repo, _) = common::big_repo(dir.path(), mib);
    let img = test_image().unwrap();
    let job = dir.path().join("big.yaml");
    std::fs::write(
        &job,
        format!(
            "job_name: big\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {{minutes: {minutes}}}\n\
             actions:\n\
             - deploy:\n    to: tmpfs\n    images:\n      kernel: {{url: 'file://{}'}}\n      initrd: {{url: 'file://{}'{initrd}}}\n\
             - boot:\n    method: qemu\n    auto_login: {{login_prompt: 'login:', username: root}}\n    prompts: ['root@lava-kvm']\n\
             - test:\n    timeout: {{minutes: {minutes}}}\n    definitions:\n    - {{from: git, repository: 'file://{}', path: big.yaml, name: big}}\n",
            img.kernel.display(),
            img.initramfs.display(),
            repo.display()
        ),
    )
    .unwrap();
    let Run { code, stderr, log } = run_kvm01(
        &root,
        &job,
        &dir.path().join("out"),
        &dir.path().join("cache"),
        dir.path(),
    );
    assert_eq!(code, Some(0), "{stderr}\n{log}");
    let results: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(r#""definition": "0_big""#))
        .collect();
    assert_eq!(results.len(), 2, "blob-size and blob-sum: {results:?}");
    assert!(
        results.iter().all(|l| l.contains(r#""result": "pass""#)),
        "{results:?}"
    );
    log
}

/// A 5 MiB repository with a binary file reaches a QEMU guest whole, in the second archive
/// after its ramdisk (no here-document could carry it).
#[test]
fn a_five_mib_repository_with_a_binary_file_runs_on_qemu() {
    let log = big_repo_job(5, "", 4);
    assert!(log.contains("the test overlay follows the initrd"), "{log}");
    assert!(!log.contains("over the console"), "no here-document: {log}");
}

/// A QEMU guest whose image takes no overlay (`install_overlay: false`, as for a disk image
/// without a ramdisk) gets it over its console, through the same acknowledged chunks as a
/// serial board: 1 MiB of pseudo-random bytes arrive whole.
#[test]
fn a_one_mib_overlay_reaches_a_qemu_guest_over_its_console() {
    let log = big_repo_job(1, ", install_overlay: false", 10);
    assert!(!log.contains("the test overlay follows"), "{log}");
    assert!(log.contains("bytes acknowledged"), "{log}");
    assert!(log.contains("overlay over the console: "), "{log}");
}

#[test]
fn an_empty_job_completes_and_bad_arguments_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    install_kvm(&root);
    let job = dir.path().join("empty.yaml");
    std::fs::write(&job, "job_name: empty\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {minutes: 1}\nactions: []\n").unwrap();
    let out_dir = dir.path().join("out");
    let cache = dir.path().join("cache");
    let run = run_kvm01(&root, &job, &out_dir, &cache, &root.join("nothing"));
    assert_eq!(run.code, Some(0), "{}", run.stderr);

    let out = dispatch(&root, &["--device-name", "nosuch"], &job, &cache);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("nosuch.conf"),
        "{}",
        text(&out.stderr)
    );

    std::fs::write(&job, "job_name: x\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {minutes: 1}\nactions:\n- reboot: {}\n").unwrap();
    let out = dispatch(&root, &["--device-name", "kvm01"], &job, &cache);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("line 7") && err.contains("actions[0]"),
        "{err}"
    );

    std::fs::write(&job, "job_name: x\ndevice_type: qemu\nvisibility: public\ntimeouts:\n  job: {minutes: 1}\nactions: []\n").unwrap();
    let run = run_kvm01(&root, &job, &out_dir, &cache, &root.join("nothing"));
    assert_eq!(
        run.code,
        Some(1),
        "a job for another device type is refused"
    );
    assert!(
        run.log.contains("asks for device type 'qemu'"),
        "{}",
        run.log
    );
}
