//! `lava-dev build`: the packages of one snapshot of the tree.
//!
//! Steps: check the build dependencies; make the version from git and the time; export the
//! snapshot into the build directory (only changed files rewritten, so a warm build stays
//! warm); write the generated files (changelog entry, commit, man pages, the default Apache
//! site); compile with paths remapped; assemble each crate's package with cargo-deb and the
//! metapackage with dpkg-deb. Nothing is installed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cargo_deb::Assemble;
use crate::control::Control;
use crate::git::Repo;
use crate::manifest::{DebFields, inject};
use crate::metapkg::MetaPackage;
use crate::version::{Version, build_time};
use crate::{Error, Listener, Result, builddeps, changelog};

/// Every package, and the crate that makes it (`None`: the metapackage).
pub const PACKAGES: [(&str, Option<&str>); 4] = [
    ("lava", None),
    ("lava-server", Some("crates/lava-server")),
    ("lava-dispatcher", Some("crates/lava-dispatcher")),
    ("lava-dev", Some("crates/lava-dev")),
];

/// Where the generated files go in the build copy (`debian/generated/`).
pub const GENERATED: &str = "debian/generated";

/// What to build and where.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// A directory in the git checkout.
    pub source: PathBuf,
    /// Package names (empty: all).
    pub packages: Vec<String>,
    /// Output directory (default: `target/debian` in the checkout).
    pub output: Option<PathBuf>,
    /// Build directory (default: `target/lava-dev` in the checkout).
    pub build_dir: Option<PathBuf>,
    /// Build uncommitted changes too (marked `+dirty`).
    pub include_changes: bool,
    /// `SOURCE_DATE_EPOCH`, if set.
    pub source_date_epoch: Option<String>,
    /// The cargo to run (`$CARGO` when lava-dev runs under cargo, else `cargo`).
    pub cargo: PathBuf,
    /// `dpkg-checkbuilddeps` (a parameter so tests can put a failing one in its place).
    pub checkbuilddeps: String,
}

/// What a build made.
#[derive(Debug, Clone)]
pub struct Built {
    /// The version of every package.
    pub version: String,
    /// The commit built.
    pub commit: String,
    /// The `.deb` files, in package order.
    pub debs: Vec<PathBuf>,
}

/// The version a build of `repo` would get, and the snapshot it would build.
pub fn plan_version(
    repo: &Repo,
    include_changes: bool,
    sde: Option<&str>,
    build_dir: &Path,
) -> Result<(Version, crate::git::Snapshot)> {
    let snapshot = repo.snapshot(include_changes, &build_dir.join("snapshot-index"))?;
    let fallback = workspace_version(&repo.root.join("Cargo.toml"))?;
    let version = Version::new(
        snapshot.tag.as_deref(),
        &fallback,
        build_time(sde)?,
        &snapshot.short,
        snapshot.dirty,
    )?;
    Ok((version, snapshot))
}

/// Builds the requested packages.
pub fn build(opts: &BuildOptions, listener: &dyn Listener) -> Result<Built> {
    let selected = select(&opts.packages)?;
    let repo = Repo::discover(&opts.source)?;
    let control_path = repo.root.join("debian/control");
    listener.step("checking build dependencies (dpkg-checkbuilddeps)");
    builddeps::check(&opts.checkbuilddeps, &control_path)?;
    crate::cargo_deb::check(&opts.cargo)?;
    let control = Control::read(&control_path)?;

    let build_dir = opts
        .build_dir
        .clone()
        .unwrap_or_else(|| default_build_dir(&repo));
    let (version, snap) = plan_version(
        &repo,
        opts.include_changes,
        opts.source_date_epoch.as_deref(),
        &build_dir,
    )?;
    if snap.dirty {
        listener.warning(&format!(
            "the working tree has uncommitted changes: they are built, and the version is marked +dirty ({version})"
        ));
    } else if !opts.include_changes && repo.is_dirty()? {
        listener.warning("uncommitted changes are left out (--head): building HEAD as committed");
    }
    let output = opts
        .output
        .clone()
        .unwrap_or_else(|| repo.root.join("target/debian"));
    let src = build_dir.join("src");
    let target = build_dir.join("target");
    listener.step(&format!(
        "exporting {} to {}",
        &snap.tree[..12.min(snap.tree.len())],
        src.display()
    ));
    repo.export(&snap.tree, &src, &build_dir.join("index"))?;
    std::fs::create_dir_all(&output).map_err(Error::io(&output))?;

    let generated = src.join(GENERATED);
    if generated.exists() {
        std::fs::remove_dir_all(&generated).map_err(Error::io(&generated))?;
    }
    std::fs::create_dir_all(&generated).map_err(Error::io(&generated))?;
    let maintainer = control.source.get("Maintainer").unwrap_or("").to_string();
    let committed = std::fs::read_to_string(src.join("debian/changelog"))
        .map_err(Error::io(src.join("debian/changelog")))?;
    let log = changelog::with_build_entry(&committed, "lava", &version, &snap.commit, &maintainer);
    changelog::gzip_to(log.as_bytes(), &generated.join("changelog.gz"))?;
    let commit_note = format!(
        "{}{}\n",
        snap.commit,
        if snap.dirty { " +dirty" } else { "" }
    );
    write(&generated.join("commit"), commit_note.as_bytes())?;
    for (name, krate) in &selected {
        if let Some(k) = krate {
            inject(
                &src.join(k).join("Cargo.toml"),
                &DebFields::from_control(&control, name)?,
            )?;
        }
    }

    listener.step("compiling (cargo build --release)");
    compile(&opts.cargo, &src, &target)?;
    let release = target.join("release");
    listener.step("writing man pages and the default Apache site");
    run(Command::new(release.join("lava-dev"))
        .arg("man")
        .arg("--output")
        .arg(generated.join("man"))
        .arg("--bin-dir")
        .arg(&release)
        .stdout(Stdio::null()))?;
    run(Command::new(release.join("lava-dev"))
        .args(["render", "apache-site", "--template"])
        .arg(src.join(crate::render::apache::TEMPLATE))
        .arg("--output")
        .arg(generated.join("apache/lava-server.conf"))
        .stderr(Stdio::null()))?;

    let time = version.time;
    let version_text = version.to_string();
    let envs: Vec<(&str, OsString)> = vec![
        ("CARGO_TARGET_DIR", target.clone().into()),
        ("SOURCE_DATE_EPOCH", time.to_string().into()),
    ];
    let mut debs = Vec::new();
    for (name, krate) in &selected {
        listener.step(&format!("assembling {name}"));
        let deb = match krate {
            Some(_) => Assemble {
                cargo: &opts.cargo,
                workspace: &src,
                krate: name,
                version: &version_text,
                output: &output,
                envs: &envs,
            }
            .run()?,
            None => {
                let read = |p: PathBuf| std::fs::read(&p).map_err(Error::io(p));
                MetaPackage {
                    name,
                    version: &version_text,
                    time,
                    docs: vec![
                        ("copyright", read(src.join("debian/copyright"))?),
                        ("changelog.gz", read(generated.join("changelog.gz"))?),
                        ("commit", commit_note.clone().into_bytes()),
                    ],
                    scripts: meta_scripts(&src, name)?,
                }
                .build(&control, &build_dir.join("meta"), &output)?
            }
        };
        debs.push(deb);
    }
    Ok(Built {
        version: version_text,
        commit: snap.commit,
        debs,
    })
}

/// The maintainer scripts of a metapackage: those of `debian/NAME/` that exist.
fn meta_scripts(src: &Path, name: &str) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let mut scripts = Vec::new();
    for script in ["preinst", "postinst", "prerm", "postrm"] {
        let path = src.join("debian").join(name).join(script);
        if path.exists() {
            scripts.push((script, std::fs::read(&path).map_err(Error::io(&path))?));
        }
    }
    Ok(scripts)
}

/// `target/lava-dev` in the checkout: kept between builds so they stay warm.
pub fn default_build_dir(repo: &Repo) -> PathBuf {
    repo.root.join("target/lava-dev")
}

/// The requested packages in build order, each with its crate.
fn select(names: &[String]) -> Result<Vec<(&'static str, Option<&'static str>)>> {
    for n in names {
        if !PACKAGES.iter().any(|(p, _)| p == n) {
            return Err(Error::UnknownPackage(n.clone()));
        }
    }
    Ok(PACKAGES
        .iter()
        .filter(|(p, _)| names.is_empty() || names.iter().any(|n| n == p))
        .copied()
        .collect())
}

/// `cargo build --release` of the packaged binaries, build paths remapped so that the
/// binaries do not depend on where the build directory is.
fn compile(cargo: &Path, src: &Path, target: &Path) -> Result<()> {
    let mut flags = format!("--remap-path-prefix={}=/usr/src/lava", src.display());
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(home) = cargo_home {
        flags.push_str(&format!(
            " --remap-path-prefix={}=/usr/src/cargo",
            home.display()
        ));
    }
    run(Command::new(cargo)
        .current_dir(src)
        .args(["build", "--release", "--locked", "--bins"])
        .args([
            "-p",
            "lava-server",
            "-p",
            "lava-dispatcher",
            "-p",
            "lava-dev",
        ])
        .env("CARGO_TARGET_DIR", target)
        .env("RUSTFLAGS", flags)
        .env_remove("SOURCE_DATE_EPOCH"))
}

/// Runs a command with inherited output (cargo's own progress shows), failing on non-zero.
fn run(cmd: &mut Command) -> Result<()> {
    let command = format!("{cmd:?}");
    let status = cmd.status().map_err(|error| Error::Spawn {
        command: command.clone(),
        error,
    })?;
    if !status.success() {
        return Err(Error::Command {
            command,
            status,
            stderr: String::new(),
        });
    }
    Ok(())
}

fn write(path: &Path, data: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    }
    std::fs::write(path, data).map_err(Error::io(path))
}

/// `[workspace.package] version` of the root manifest.
fn workspace_version(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| Error::Manifest {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    })?;
    doc.get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| Error::Manifest {
            path: path.to_path_buf(),
            message: "no [workspace.package] version".into(),
        })
}
