//! `tools/ensure-packages`, the one package list `make run`, `make test` and `.ci/run` share
//! (as root it also brings a listed package installed newer than any source has back to the
//! sources' version, so the list installs together; CI runs that path on its own machine):
//! run from a copy beside a list of our own (the script reads the `debian-packages` next to
//! it), as a user other than root, it names exactly the missing packages and the command that
//! installs them and fails; with everything installed it says nothing and succeeds.
//!
//! The root path (it runs `apt-get install` itself) is not exercised here: it would change
//! the machine's packages.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/ensure-packages")
}

/// A directory holding a copy of the script and `list` as its `debian-packages`, readable by
/// the unprivileged user the script runs as.
fn setup(list: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.path().join("ensure-packages");
    fs::copy(script(), &copy).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(dir.path().join("debian-packages"), list).unwrap();
    fs::set_permissions(
        dir.path().join("debian-packages"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    dir
}

/// Runs the copy in `dir` with `args`, as `nobody` when the test runs as root (the script
/// installs as root; the other path is the one tested).
fn run(dir: &Path, args: &[&str]) -> Output {
    let copy = dir.join("ensure-packages");
    let mut cmd = if nix::unistd::geteuid().is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "sh",
        ]);
        c
    } else {
        Command::new("sh")
    };
    cmd.arg(&copy).args(args).current_dir(dir);
    let out = cmd
        .output()
        .expect("setpriv and sh (util-linux, dash) run the script");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "the copy is not readable: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Two packages every Debian system has (Essential: yes), a comment, two names on one line.
const INSTALLED: &str = "# always there\ndpkg coreutils   # Essential packages\n\n";

#[test]
fn missing_packages_are_named_with_the_exact_command_and_the_script_fails() {
    let list = format!(
        "{INSTALLED}lava-test-no-such-package-a   # not in any archive\n\
         # lava-test-commented-out\n\
         lava-test-no-such-package-b\n"
    );
    let dir = setup(&list);
    let out = run(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "stdout stays empty"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "ensure-packages: missing Debian packages: lava-test-no-such-package-a lava-test-no-such-package-b",
            "ensure-packages: install them with: sudo apt-get install -y --no-install-recommends lava-test-no-such-package-a lava-test-no-such-package-b",
        ],
        "{stderr}"
    );
}

#[test]
fn with_every_package_installed_it_succeeds_quietly() {
    let dir = setup(INSTALLED);
    let out = run(dir.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
}

#[test]
fn print_lists_the_names_one_a_line_without_comments() {
    let dir = setup("dpkg coreutils # why\n# lava-test-commented-out\n\tlava-test-x\n");
    let out = run(dir.path(), &["--print"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "dpkg\ncoreutils\nlava-test-x\n"
    );
}

#[test]
fn ci_installs_the_list_the_makefile_checks() {
    // One list: .ci/run, `make run` and `make test` all call the script.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let ci = fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l == "sh tools/ensure-packages"),
        ".ci/run does not run tools/ensure-packages"
    );
    let make = fs::read_to_string(root.join("Makefile")).unwrap();
    assert!(make.contains("\t@sh tools/ensure-packages\n"), "Makefile");
    for target in ["run: deps", "test: deps"] {
        assert!(make.lines().any(|l| l.starts_with(target)), "{target}");
    }
}
