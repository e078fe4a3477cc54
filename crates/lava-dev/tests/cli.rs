//! The `lava-dev` binary end to end: versions from real git repositories, the build
//! dependency check with the real `dpkg-checkbuilddeps`, and the renderers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lava_dev(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lava-dev"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("SOURCE_DATE_EPOCH");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A scratch repository with a workspace manifest and a control file, one commit.
fn scratch(build_depends: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("Cargo.toml"),
        "[workspace.package]\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    std::fs::create_dir(d.join("debian")).unwrap();
    std::fs::write(
        d.join("debian/control"),
        format!(
            "Source: lava\nBuild-Depends: {build_depends}\n\nPackage: lava\nArchitecture: all\n"
        ),
    )
    .unwrap();
    git(d, &["init", "-q"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "one"]);
    dir
}

fn version(dir: &Path, epoch: &str) -> String {
    let out = lava_dev(dir, &["version"], &[("SOURCE_DATE_EPOCH", epoch)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn dpkg_gt(a: &str, b: &str) -> bool {
    Command::new("dpkg")
        .args(["--compare-versions", a, "gt", b])
        .status()
        .unwrap()
        .success()
}

#[test]
fn versions_sort_across_builds_and_commits() {
    let repo = scratch("dpkg-dev");
    let d = repo.path();
    let v1 = version(d, "1795643883");
    assert!(v1.starts_with("0.1.0+git20261125.215803.g"), "{v1}");
    let v2 = version(d, "1795643884");
    assert!(dpkg_gt(&v2, &v1), "{v2} > {v1}");
    std::fs::write(d.join("new"), "x").unwrap();
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "two"]);
    let v3 = version(d, "1795643885");
    assert!(dpkg_gt(&v3, &v2), "{v3} > {v2}");
    assert_ne!(
        v3.rsplit(".g").next(),
        v2.rsplit(".g").next(),
        "the hash changes"
    );
    git(d, &["tag", "v2026.11.0"]);
    let v4 = version(d, "1795643886");
    assert!(v4.starts_with("2026.11.0+git"), "{v4}");
    assert!(dpkg_gt(&v4, &v3));
    std::fs::write(d.join("new"), "changed").unwrap();
    let v5 = version(d, "1795643887");
    assert!(v5.ends_with("+dirty"), "{v5}");
}

#[test]
fn missing_build_dependencies_stop_the_build_with_the_list() {
    let repo = scratch("dpkg-dev, lava-no-such-package (>= 1), lava-nor-this-one");
    let out = lava_dev(
        repo.path(),
        &["build", "--build-dir", "/nonexistent/never-used"],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("unmet build dependencies"), "{stderr}");
    assert!(stderr.contains("lava-no-such-package (>= 1)"), "{stderr}");
    assert!(
        stderr.contains("apt-get install lava-no-such-package lava-nor-this-one"),
        "{stderr}"
    );
    assert!(!Path::new("/nonexistent/never-used").exists());
}

#[test]
fn unknown_packages_are_named() {
    let out = lava_dev(Path::new("."), &["build", "lava-frobnicator"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("'lava-frobnicator'"));
}

#[test]
fn render_device_is_add_devices_file() {
    let out = lava_dev(
        Path::new("."),
        &[
            "render", "device", "mx53loco", "foo", "-t", "4006", "-p", "5",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = lava_common::device_file::NewDevice {
        device_type: "mx53loco",
        hostname: "foo",
        telnet_port: Some(4006),
        pdu_port: Some(5),
    }
    .render("foo.conf")
    .unwrap()
    .to_string();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
    let bad = lava_dev(Path::new("."), &["render", "device", "kvm", "../etc"], &[]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("'../etc'"));
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn render_apache_site() {
    let out = lava_dev(
        &root(),
        &[
            "render",
            "apache-site",
            "--server-name",
            "lava.example.org",
            "--port",
            "8080",
            "-o",
            "-",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let site = String::from_utf8(out.stdout).unwrap();
    for want in [
        "<VirtualHost *:8080>",
        "ServerName lava.example.org",
        "Alias /static/ /usr/share/lava-server/static/",
        "ProxyPass /static/ !",
        "ProxyPass / http://127.0.0.1:8000/",
        "ErrorDocument 502 /static/errors/502.html",
        "Require all granted",
        "# Allow from all",
        "Header always set X-Content-Type-Options \"nosniff\"",
        "Header always set X-Frame-Options \"DENY\"",
        "Header always set Content-Security-Policy \"frame-ancestors 'none'\"",
        "Header always set Referrer-Policy \"same-origin\"",
        "<If \"%{HTTP:Content-Length} -gt 1048576\">",
        "<If \"%{HTTP:Content-Length} -gt 16777216\">",
        "<If \"%{HTTP:Content-Length} -gt 65536\">",
        // The HTTPS variant, commented out, with HSTS and the secure cookie setting.
        "\n# <VirtualHost *:443>\n",
        "\n#     SSLEngine on\n",
        "\n#     Header always set Strict-Transport-Security \"max-age=31536000\"\n",
        "\n#         <If \"%{HTTP:Content-Length} -gt 1048576\">\n",
        "\n# </VirtualHost>\n",
        "secure_cookies = true",
    ] {
        assert!(site.contains(want), "{want:?} missing:\n{site}");
    }
    let active: String = site.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(!active.contains("SSLEngine"), "HTTPS is commented out");
    assert_eq!(active.matches("<VirtualHost").count(), 1);
    let raised = lava_dev(
        &root(),
        &["render", "apache-site", "--job-bytes", "2097152", "-o", "-"],
        &[],
    );
    let raised = String::from_utf8(raised.stdout).unwrap();
    assert_eq!(raised.matches("-gt 2097152\">").count(), 2, "{raised}");
    assert!(root().join("apache/errors/502.html").exists());
    let bad = lava_dev(
        &root(),
        &["render", "apache-site", "--server-name", "a b", "-o", "-"],
        &[],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("'a b'"));
}

#[test]
fn makefile_pins_the_same_cargo_deb() {
    let makefile = std::fs::read_to_string(root().join("Makefile")).unwrap();
    let pin = format!("CARGO_DEB_VERSION := {}", lava_dev::cargo_deb::VERSION);
    assert!(makefile.contains(&pin), "Makefile must say {pin}");
}

/// `lava-dev image kvm` is create-kvm-image (the checkout's): its arguments reach the script,
/// whose refusal of a full-image option without --image comes back as lava-dev's failure.
#[test]
fn image_kvm_runs_create_kvm_image_with_its_arguments() {
    let out = lava_dev(&root(), &["image", "kvm", "--", "--help"], &[]);
    assert!(out.status.success(), "{out:?}");
    let help = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--custom-package",
        "--enable-dhcp",
        "--serial-console",
        "--serial-console-command",
        "--root-password",
    ] {
        assert!(help.contains(option), "{option} missing: {help}");
    }
    let out = lava_dev(&root(), &["image", "kvm", "--enable-dhcp"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("options of the full image: add --image FILE"),
        "{err}"
    );
    assert!(err.contains("create-kvm-image failed"), "{err}");
}

/// `lava-dev quick-install` into a scratch root holding an older installed system: the
/// binaries that are installed and differ, and the changed templates and static files, are
/// replaced; a new lava-server restarts Apache (the web app) and the scheduler, not the
/// worker, whose binaries are not installed there; a second run changes nothing.
#[test]
fn quick_install_replaces_what_changed_and_names_the_restarts() {
    let root_dir = tempfile::tempdir().unwrap();
    let r = root_dir.path();
    std::fs::create_dir_all(r.join("usr/bin")).unwrap();
    std::fs::write(r.join("usr/bin/lava-server"), "an older build").unwrap();
    let templates = r.join("usr/share/lava-server/templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(templates.join("home.html"), "an older template").unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_lava-dev")).parent().unwrap();
    let args = [
        "quick-install",
        "--bin-dir",
        bin.to_str().unwrap(),
        "--root",
        r.to_str().unwrap(),
    ];
    let out = lava_dev(&root(), &args, &[]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        std::fs::read(r.join("usr/bin/lava-server")).unwrap(),
        std::fs::read(bin.join("lava-server")).unwrap()
    );
    assert_eq!(
        std::fs::read(templates.join("home.html")).unwrap(),
        std::fs::read(root().join("templates/home.html")).unwrap()
    );
    assert!(r.join("usr/share/lava-server/static/lava.css").is_file());
    assert!(
        r.join("usr/share/lava-server/static/errors/502.html")
            .is_file()
    );
    assert_eq!(
        stdout,
        "would run: apache2ctl restart\nwould run: service lava-server restart\n"
    );
    assert!(
        stderr.contains("usr/bin/lava-dispatch is not installed (package lava-dispatcher)"),
        "{stderr}"
    );
    let out = lava_dev(&root(), &args, &[]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing changed"));
}
