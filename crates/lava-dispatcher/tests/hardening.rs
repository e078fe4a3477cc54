//! A job definition is untrusted input on the worker host: its QEMU arguments never reach a
//! shell, its file URLs stay in the directories the worker's settings list, and its URLs do
//! not reach local services. Each job here runs through the real `lava-dispatch`; the
//! "QEMU" of these devices is `/bin/true`, so nothing boots and every run is quick.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A sandbox: `LAVA_ROOT`, a fake QEMU device, an image directory with a kernel.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("root/etc/lava-dispatcher");
        std::fs::create_dir_all(etc.join("device-types")).unwrap();
        std::fs::create_dir_all(etc.join("devices")).unwrap();
        std::fs::write(
            etc.join("device-types/fakeqemu.conf"),
            "client_type = qemu\nqemu_binary = /bin/true\nqemu_options = -nographic\n",
        )
        .unwrap();
        std::fs::write(
            etc.join("devices/q01.conf"),
            "device_type = fakeqemu\nhostname = q01\n",
        )
        .unwrap();
        let images = dir.path().join("images");
        std::fs::create_dir_all(&images).unwrap();
        std::fs::write(images.join("vmlinuz"), b"not really a kernel").unwrap();
        Sandbox { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn images(&self) -> PathBuf {
        self.path("images")
    }

    /// Runs `job` (written to a file) on q01 with the image directory allowed for file URLs.
    fn dispatch(&self, job: &str, env: &[(&str, &str)]) -> Output {
        let file = self.path(if job.starts_with('{') {
            "job.json"
        } else {
            "job.yaml"
        });
        std::fs::write(&file, job).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lava-dispatch"));
        cmd.args(["--device-name", "q01", "--quiet", "--output-dir"])
            .arg(self.path("out"))
            .arg(&file)
            .env("LAVA_ROOT", self.path("root"))
            .env("LAVA_DISPATCHER_CACHE", self.path("cache"))
            .env("LAVA_FILE_URL_DIRS", self.images())
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("out/output.yaml")).unwrap_or_default()
    }
}

fn yaml_job(deploy: &str, rest: &str) -> String {
    format!(
        "job_name: h\ndevice_type: fakeqemu\nvisibility: public\ntimeouts:\n  job: {{minutes: 1}}\n\
         actions:\n- deploy:\n    to: tmpfs\n    images:\n{deploy}{rest}"
    )
}

#[test]
fn an_image_arg_never_reaches_a_shell_and_is_refused_by_name() {
    let sb = Sandbox::new();
    let marker = sb.path("injected");
    let arg = format!("-kernel {{kernel}} $(touch {})", marker.display());
    let job = yaml_job(
        &format!(
            "      kernel:\n        url: 'file://{}/vmlinuz'\n        image_arg: '{arg}'\n",
            sb.images().display()
        ),
        "- boot:\n    method: qemu\n    prompts: ['# ']\n",
    );
    let out = sb.dispatch(&job, &[]);
    let err = text(&out.stderr);
    assert!(!marker.exists(), "the image_arg ran a shell command");
    assert_eq!(
        out.status.code(),
        Some(2),
        "refused as a bad definition: {err}"
    );
    assert!(
        err.contains("image_arg") && err.contains(&arg),
        "the error names image_arg and its value: {err}"
    );
}

#[test]
fn json_boot_options_never_reach_a_shell_and_are_refused_by_name() {
    let sb = Sandbox::new();
    let marker = sb.path("injected");
    let option = format!("-m 512 $(touch {})", marker.display());
    let job = format!(
        r#"{{"device_type": "fakeqemu", "timeout": 60, "actions": [
            {{"command": "deploy_linaro_kernel", "parameters": {{"kernel": "file://{}/vmlinuz"}}}},
            {{"command": "boot_linaro_image", "parameters": {{"options": ["{option}"]}}}}]}}"#,
        sb.images().display()
    );
    let out = sb.dispatch(&job, &[]);
    let err = text(&out.stderr);
    assert!(!marker.exists(), "the boot option ran a shell command");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("options") && err.contains(&option),
        "the error names options and the value: {err}"
    );
}

#[test]
fn device_commands_are_argument_vectors_not_shell_lines() {
    // An admin's connection_command is split with shell-words rules and run directly: a
    // `$(…)` in it is an argument, not a command substitution. Only `sh -c '…'`, written out by the
    // admin, gets a shell.
    let sb = Sandbox::new();
    let marker = sb.path("second-command");
    let etc = sb.path("root/etc/lava-dispatcher");
    std::fs::write(
        etc.join("device-types/board.conf"),
        "client_type = bootloader\nbootloader_prompt = =>\nboot_cmds = boot\n",
    )
    .unwrap();
    std::fs::write(
        etc.join("devices/b01.conf"),
        format!(
            "device_type = board\nhostname = b01\nconnection_command = echo 'quoted words' $(touch {})\n",
            marker.display()
        ),
    )
    .unwrap();
    let job = sb.path("b.json");
    std::fs::write(
        &job,
        r#"{"device_type": "board", "timeout": 30, "actions": [{"command": "boot_linaro_image"}]}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lava-dispatch"))
        .args(["--device-name", "b01", "--quiet", "--output-dir"])
        .arg(sb.path("out"))
        .arg(&job)
        .env("LAVA_ROOT", sb.path("root"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        !marker.exists(),
        "the connection command went through a shell"
    );
    let log = sb.log();
    assert!(
        log.contains(&format!("quoted words $(touch {})", marker.display())),
        "echo got the rest of the line as its arguments: {log}"
    );
}

#[test]
fn file_urls_stay_in_the_configured_directories() {
    let sb = Sandbox::new();
    let job = yaml_job("      kernel: {url: 'file:///etc/passwd'}\n", "");
    let out = sb.dispatch(&job, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let log = sb.log();
    assert!(
        log.contains("file:///etc/passwd") && log.contains("file_url_dirs"),
        "the error names the URL and the setting: {log}"
    );
    assert!(
        !sb.path("out/work/kernel/passwd").exists(),
        "nothing was copied"
    );

    // A path that climbs out of an allowed directory, or a symbolic link in it that points
    // out, is outside too.
    std::os::unix::fs::symlink("/etc/passwd", sb.images().join("link")).unwrap();
    for url in [
        format!("file://{}/../../../../etc/passwd", sb.images().display()),
        format!("file://{}/link", sb.images().display()),
    ] {
        let out = sb.dispatch(
            &yaml_job(&format!("      kernel: {{url: '{url}'}}\n"), ""),
            &[],
        );
        assert_eq!(out.status.code(), Some(1), "{url}");
        assert!(sb.log().contains("file_url_dirs"), "{url}: {}", sb.log());
    }

    // Inside: deployed.
    let job = yaml_job(
        &format!(
            "      kernel: {{url: 'file://{}/vmlinuz'}}\n",
            sb.images().display()
        ),
        "",
    );
    let out = sb.dispatch(&job, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", sb.log());
}

#[test]
fn test_definition_sources_are_checked_before_anything_runs() {
    let sb = Sandbox::new();
    let marker = sb.path("ext-ran");
    let kernel = format!(
        "      kernel: {{url: 'file://{}/vmlinuz'}}\n",
        sb.images().display()
    );
    let cases = [
        (
            "- {from: url, repository: 'file:///etc/passwd', compression: none, path: t.yaml, name: t}\n"
                .to_string(),
            "file_url_dirs",
        ),
        (
            "- {from: url, repository: 'http://127.0.0.1:1/t.tar.gz', compression: gz, path: t.yaml, name: t}\n"
                .to_string(),
            "allow_local_targets",
        ),
        (
            "- {from: git, repository: 'http://localhost:1/r.git', path: t.yaml, name: t}\n"
                .to_string(),
            "allow_local_targets",
        ),
        (
            format!(
                "- {{from: git, repository: 'ext::sh -c touch% {}', path: t.yaml, name: t}}\n",
                marker.display()
            ),
            "unsupported",
        ),
    ];
    for (definition, expected) in cases {
        let job = yaml_job(
            &kernel,
            &format!("- test:\n    definitions:\n    {definition}"),
        );
        let out = sb.dispatch(&job, &[]);
        let log = sb.log();
        assert_eq!(out.status.code(), Some(1), "{definition}: {log}");
        assert!(
            log.contains(expected) && log.contains("validate"),
            "{definition}: refused at validate naming {expected}: {log}"
        );
    }
    assert!(!marker.exists(), "git's ext:: transport ran a command");
}

#[test]
fn a_test_definition_path_stays_inside_its_repository() {
    let sb = Sandbox::new();
    for path in ["../outside.yaml", "/etc/passwd", "a/../../b.yaml"] {
        let job = yaml_job(
            &format!(
                "      kernel: {{url: 'file://{}/vmlinuz'}}\n",
                sb.images().display()
            ),
            &format!(
                "- test:\n    definitions:\n    - {{from: git, repository: 'https://example.invalid/r.git', path: '{path}', name: t}}\n"
            ),
        );
        let out = sb.dispatch(&job, &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path}: {err}");
        assert!(err.contains("path") && err.contains(path), "{path}: {err}");
    }
}

/// The redirect checks need a target that is not local: a private network namespace whose
/// loopback also holds 192.0.2.1 (TEST-NET-1), with Python's HTTP server on it.
#[test]
fn every_redirect_hop_is_checked() {
    let sb = Sandbox::new();
    let www = sb.path("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("vmlinuz"), b"kernel over http").unwrap();
    let server = sb.path("redirect.py");
    std::fs::write(
        &server,
        "import http.server, sys\n\
         class H(http.server.SimpleHTTPRequestHandler):\n\
         \x20   def do_GET(self):\n\
         \x20       if self.path.startswith('/to/'):\n\
         \x20           self.send_response(302)\n\
         \x20           self.send_header('Location', 'http://' + self.path[4:])\n\
         \x20           self.end_headers()\n\
         \x20           return\n\
         \x20       super().do_GET()\n\
         http.server.ThreadingHTTPServer.allow_reuse_address = True\n\
         h = lambda *a, **k: H(*a, directory=sys.argv[2], **k)\n\
         http.server.ThreadingHTTPServer((sys.argv[1], 8080), h).serve_forever()\n",
    )
    .unwrap();
    let job = |url: &str| {
        let j = yaml_job(&format!("      kernel: {{url: '{url}'}}\n"), "");
        let f = sb.path("net.yaml");
        std::fs::write(&f, j).unwrap();
        f
    };
    let run = |job: &Path| -> (Option<i32>, String) {
        let script = format!(
            "ip link set lo up && ip addr add 192.0.2.1/32 dev lo || exit 90\n\
             /usr/bin/python3 {server} 192.0.2.1 {www} 2>/dev/null & py=$!\n\
             /usr/bin/python3 {server} 127.0.0.1 {www} 2>/dev/null & py2=$!\n\
             for i in $(seq 100); do (exec 3<>/dev/tcp/192.0.2.1/8080) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break; sleep 0.1; done\n\
             \"$0\" --device-name q01 --quiet --output-dir {out} {job}; rc=$?\n\
             kill $py $py2; wait; exit $rc\n",
            server = server.display(),
            www = www.display(),
            out = sb.path("out").display(),
            job = job.display()
        );
        let out = Command::new("unshare")
            .args(["--net", "bash", "-c", &script])
            .arg(env!("CARGO_BIN_EXE_lava-dispatch"))
            .env("LAVA_ROOT", sb.path("root"))
            .env("LAVA_DISPATCHER_CACHE", sb.path("cache"))
            .env("LAVA_FILE_URL_DIRS", sb.images())
            .output()
            .expect("unshare (util-linux) and ip (iproute2)");
        assert_ne!(
            out.status.code(),
            Some(90),
            "cannot set up the namespace: {}",
            text(&out.stderr)
        );
        (out.status.code(), sb.log())
    };
    // A public-looking address is fetched, and so is a redirect to another such address.
    let (code, log) = run(&job("http://192.0.2.1:8080/vmlinuz"));
    assert_eq!(code, Some(0), "{log}");
    let (code, log) = run(&job("http://192.0.2.1:8080/to/192.0.2.1:8080/vmlinuz"));
    assert_eq!(code, Some(0), "{log}");
    // A redirect to loopback is refused at that hop, naming it and the setting.
    let (code, log) = run(&job("http://192.0.2.1:8080/to/127.0.0.1:8080/vmlinuz"));
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("http://127.0.0.1:8080/vmlinuz") && log.contains("allow_local_targets"),
        "{log}"
    );
    // Loopback directly is refused, by address or by name.
    for url in [
        "http://127.0.0.1:8080/vmlinuz",
        "http://localhost:8080/vmlinuz",
    ] {
        let (code, log) = run(&job(url));
        assert_eq!(code, Some(1), "{url}: {log}");
        assert!(log.contains("allow_local_targets"), "{url}: {log}");
    }
}

#[test]
fn a_disk_image_that_names_a_host_file_is_refused() {
    // A qcow2 image whose backing file is the worker's token: QEMU would open it for the
    // guest whatever the command line says.
    let sb = Sandbox::new();
    let mut header = vec![0u8; 0x400];
    header[..4].copy_from_slice(b"QFI\xfb");
    header[4..8].copy_from_slice(&3u32.to_be_bytes());
    header[8..16].copy_from_slice(&0x200u64.to_be_bytes());
    let name = b"/etc/lava-dispatcher/worker.token";
    header[16..20].copy_from_slice(&(name.len() as u32).to_be_bytes());
    header[0x200..0x200 + name.len()].copy_from_slice(name);
    std::fs::write(sb.images().join("disk.qcow2"), &header).unwrap();
    let job = yaml_job(
        &format!(
            "      rootfs:\n        url: 'file://{}/disk.qcow2'\n        image_arg: '-drive format=qcow2,file={{rootfs}}'\n",
            sb.images().display()
        ),
        "",
    );
    let out = sb.dispatch(&job, &[]);
    let log = sb.log();
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("qcow2 image with a backing file"), "{log}");
    assert!(!sb.path("out/work/rootfs/disk.qcow2").exists());
}

/// A gzip file of 3 MiB of zeros: 3 KiB on the wire, 3 MiB on the worker's disk.
fn zeros_gz(mib: usize) -> Vec<u8> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; mib << 20]).unwrap();
    gz.finish().unwrap()
}

#[test]
fn a_compressed_image_unpacks_only_up_to_the_workers_limit() {
    let sb = Sandbox::new();
    std::fs::write(sb.images().join("bomb.img.gz"), zeros_gz(3)).unwrap();
    let job = yaml_job(
        &format!(
            "      rootfs:\n        url: 'file://{}/bomb.img.gz'\n        compression: gz\n",
            sb.images().display()
        ),
        "",
    );
    let out = sb.dispatch(&job, &[("LAVA_MAX_IMAGE_MIB", "2")]);
    let log = sb.log();
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("bomb.img.gz unpacks to more than 2 MiB")
            && log.contains("jobs.max_image_mib"),
        "{log}"
    );
    assert!(!sb.path("out/work/rootfs/bomb.img").exists());
    // Within the limit, the same image unpacks.
    let out = sb.dispatch(&job, &[("LAVA_MAX_IMAGE_MIB", "3")]);
    assert!(!sb.log().contains("max_image_mib"), "{}", sb.log());
    assert_eq!(out.status.code(), Some(0), "{}", sb.log());
}

/// A zip of `members`, each deflated.
fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in members {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn a_zipped_image_unpacks_only_up_to_the_workers_limit_and_only_alone() {
    let sb = Sandbox::new();
    let zeros = vec![0u8; 3 << 20];
    std::fs::write(
        sb.images().join("bomb.img.zip"),
        zip_of(&[("bomb.img", &zeros)]),
    )
    .unwrap();
    std::fs::write(
        sb.images().join("two.img.zip"),
        zip_of(&[("a.img", b"a"), ("b.img", b"b")]),
    )
    .unwrap();
    let job = |name: &str| {
        yaml_job(
            &format!(
                "      rootfs:\n        url: 'file://{}/{name}'\n        compression: zip\n",
                sb.images().display()
            ),
            "",
        )
    };
    let out = sb.dispatch(&job("bomb.img.zip"), &[("LAVA_MAX_IMAGE_MIB", "2")]);
    let log = sb.log();
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("bomb.img.zip unpacks to more than 2 MiB")
            && log.contains("jobs.max_image_mib"),
        "{log}"
    );
    assert!(!sb.path("out/work/rootfs/bomb.img").exists());
    let out = sb.dispatch(&job("two.img.zip"), &[]);
    let log = sb.log();
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("two.img.zip is a zip archive of 2 members; compression: zip takes one"),
        "{log}"
    );
    assert!(!sb.path("out/work/rootfs/two.img").exists());
    // Within the limit, the one member unpacks.
    let out = sb.dispatch(&job("bomb.img.zip"), &[("LAVA_MAX_IMAGE_MIB", "3")]);
    assert!(!sb.log().contains("max_image_mib"), "{}", sb.log());
    assert_eq!(out.status.code(), Some(0), "{}", sb.log());
}

/// An Android sparse ext4 image with an overlay: refused past the worker's limit on the size
/// its header gives; within it, the overlay is written.
#[test]
fn a_sparse_image_expands_only_up_to_the_workers_limit() {
    let sb = Sandbox::new();
    let raw = sb.path("raw.ext4");
    let made = std::process::Command::new("/sbin/mke2fs")
        .args(["-q", "-F", "-t", "ext4"])
        .arg(&raw)
        .arg("3M")
        .status()
        .unwrap();
    assert!(made.success());
    let simg = sb.images().join("root.simg");
    let packed = std::process::Command::new("img2simg")
        .arg(&raw)
        .arg(&simg)
        .status()
        .unwrap();
    assert!(packed.success());
    std::fs::write(sb.images().join("motd"), "sparse overlay\n").unwrap();
    let job = yaml_job(
        &format!(
            "      rootfs:\n        url: 'file://{i}/root.simg'\n        format: ext4\n        sparse: true\n\
             \x20       overlays:\n          motd: {{url: 'file://{i}/motd', format: file, path: /etc/motd}}\n",
            i = sb.images().display()
        ),
        "",
    );
    let out = sb.dispatch(&job, &[("LAVA_MAX_IMAGE_MIB", "2")]);
    let log = sb.log();
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("the sparse image expands to 3 MiB, more than 2 MiB"),
        "{log}"
    );
    let out = sb.dispatch(&job, &[("LAVA_MAX_IMAGE_MIB", "3")]);
    let log = sb.log();
    assert_eq!(out.status.code(), Some(0), "{log}");
    // What is in the image, and that it is still sparse, is read back in ext4_overlay.rs.
    assert!(
        log.contains("written into the sparse ext4 image") && log.contains("(2 entries, 15 bytes)"),
        "{log}"
    );
}

/// A small qcow2 file whose raw form is bigger than the worker's limit is refused before
/// anything is written; within the limit it converts.
#[test]
fn a_qcow2_image_converts_only_up_to_the_workers_limit() {
    let sb = Sandbox::new();
    let qcow2 = sb.images().join("big.qcow2");
    let status = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&qcow2)
        .arg("3M")
        .status()
        .expect("qemu-img (package qemu-utils)");
    assert!(status.success());
    assert!(std::fs::metadata(&qcow2).unwrap().len() < 1 << 20);
    let job = yaml_job(
        &format!(
            "      rootfs:\n        url: 'file://{}'\n        format: qcow2\n",
            qcow2.display()
        ),
        "",
    );
    let out = sb.dispatch(&job, &[("LAVA_MAX_IMAGE_MIB", "2")]);
    let log = sb.log();
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("rootfs: the qcow2 image is 3 MiB as raw, more than 2 MiB")
            && log.contains("jobs.max_image_mib"),
        "{log}"
    );
    assert!(!sb.path("out/work/rootfs/big.img").exists());
    assert!(!sb.path("out/work/rootfs/big.img.part").exists());
    let out = sb.dispatch(&job, &[("LAVA_MAX_IMAGE_MIB", "3")]);
    assert_eq!(out.status.code(), Some(0), "{}", sb.log());
    assert!(
        sb.log()
            .contains("rootfs: converted from qcow2 to raw, 3145728 bytes"),
        "{}",
        sb.log()
    );
}

/// Answers `count` HTTP requests on a loopback port with what `answer` makes of each request
/// head; returns the port and the request heads, once all were answered.
fn serve_requests(
    count: usize,
    answer: impl Fn(&str) -> String + Send + 'static,
) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let mut heads = Vec::new();
        for _ in 0..count {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
            }
            let head = String::from_utf8_lossy(&request).into_owned();
            let _ = conn.write_all(answer(&head).as_bytes());
            heads.push(head);
        }
        heads
    });
    (port, server)
}

/// A download's `headers` reach the server; a copy fetched with them is not another job's
/// without them (the cache key holds them); a redirect to another origin gets none of them.
#[test]
fn download_headers_reach_their_origin_only_and_key_the_cache() {
    let ok = |body: &str| {
        format!(
            "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let guarded = move |head: &str| {
        if head
            .lines()
            .any(|l| l.eq_ignore_ascii_case("authorization: Bearer s3cret"))
        {
            ok("private")
        } else {
            "HTTP/1.0 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_string()
        }
    };
    let sb = Sandbox::new();
    let (port, server) = serve_requests(2, guarded);
    let image = |headers: &str| {
        yaml_job(
            &format!(
                "      rootfs:\n        url: 'http://127.0.0.1:{port}/private.img'\n{headers}"
            ),
            "",
        )
    };
    let local = [("LAVA_ALLOW_LOCAL_TARGETS", "1")];
    let with = image("        headers:\n          Authorization: Bearer s3cret\n");
    let out = sb.dispatch(&with, &local);
    // Without the header the server answers 403, which fails the job.
    assert_eq!(out.status.code(), Some(0), "{}", sb.log());
    let out = sb.dispatch(&image(""), &local);
    assert_eq!(out.status.code(), Some(1), "{}", sb.log());
    assert!(sb.log().contains("HTTP 403"), "{}", sb.log());
    let heads = server.join().unwrap();
    assert!(
        !sb.log().contains("s3cret"),
        "the header's value is not logged"
    );
    assert!(!heads[1].contains("s3cret"), "{heads:?}");

    // Another origin (another port) behind a redirect gets no header.
    let (other, elsewhere) = serve_requests(1, move |_| ok("elsewhere"));
    let (port, redirector) = serve_requests(1, move |_| {
        format!(
            "HTTP/1.0 302 Found\r\nLocation: http://127.0.0.1:{other}/x\r\nContent-Length: 0\r\n\r\n"
        )
    });
    let job = yaml_job(
        &format!(
            "      rootfs:\n        url: 'http://127.0.0.1:{port}/r.img'\n        headers:\n          Authorization: Bearer s3cret\n          X-Lab: one\n"
        ),
        "",
    );
    let out = sb.dispatch(&job, &local);
    assert_eq!(out.status.code(), Some(0), "{}", sb.log());
    let first = redirector.join().unwrap();
    assert!(
        first[0].contains("s3cret") && first[0].to_ascii_lowercase().contains("x-lab: one"),
        "{first:?}"
    );
    let second = elsewhere.join().unwrap();
    assert!(
        !second[0].contains("s3cret") && !second[0].to_ascii_lowercase().contains("x-lab"),
        "{second:?}"
    );
}

/// Serves `body` once on a loopback port, HTTP/1.0 without a length when `length` is false.
fn serve_once(body: Vec<u8>, length: bool) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = conn.read(&mut request);
        let head = if length {
            format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
        } else {
            "HTTP/1.0 200 OK\r\n\r\n".to_string()
        };
        let _ = conn.write_all(head.as_bytes());
        let _ = conn.write_all(&body);
    });
    (port, server)
}

#[test]
fn a_download_stops_at_the_workers_limit_with_or_without_a_length() {
    for length in [true, false] {
        let sb = Sandbox::new();
        let (port, server) = serve_once(vec![7u8; 3 << 20], length);
        let job = yaml_job(
            &format!("      rootfs:\n        url: 'http://127.0.0.1:{port}/big.img'\n"),
            "",
        );
        let out = sb.dispatch(
            &job,
            &[
                ("LAVA_MAX_IMAGE_MIB", "1"),
                ("LAVA_ALLOW_LOCAL_TARGETS", "1"),
            ],
        );
        let log = sb.log();
        assert_eq!(out.status.code(), Some(1), "length {length}: {log}");
        assert!(
            log.contains(
                "big.img is more than 1 MiB, the most the worker's jobs.max_image_mib allows"
            ),
            "length {length}: {log}"
        );
        server.join().unwrap();
        let cached: Vec<_> = std::fs::read_dir(sb.path("cache"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(cached.is_empty(), "nothing half-written stays: {cached:?}");
    }
}
