//! The `lava-dev` binary: parses the command line, shows progress as `==> step` lines on
//! standard error, and calls the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use lava_dev::cli::{ApacheSiteArgs, Cli, Command, Image, KvmImageArgs, QuickInstallArgs, Render};
use lava_dev::{Listener, build, git, man, render};

/// Prints progress on standard error.
struct Stderr;

impl Listener for Stderr {
    fn step(&self, what: &str) {
        eprintln!("==> {what}");
    }
    fn warning(&self, what: &str) {
        eprintln!("lava-dev: warning: {what}");
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lava-dev: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let env = |k: &str| std::env::var(k).ok();
    match cli.command {
        Command::Build(args) => {
            let opts = build::BuildOptions {
                source: args.source.source,
                packages: args.packages,
                output: args.output,
                build_dir: args.build_dir,
                include_changes: !args.head,
                source_date_epoch: env("SOURCE_DATE_EPOCH"),
                cargo: PathBuf::from(env("CARGO").unwrap_or_else(|| "cargo".into())),
                checkbuilddeps: env("LAVA_DEV_CHECKBUILDDEPS")
                    .unwrap_or_else(|| "dpkg-checkbuilddeps".into()),
            };
            let built = build::build(&opts, &Stderr)?;
            eprintln!(
                "==> built version {} of commit {}:",
                built.version, built.commit
            );
            for deb in &built.debs {
                println!("{}", deb.display());
            }
        }
        Command::Version(args) => {
            let repo = git::Repo::discover(&args.source)?;
            let dir = build::default_build_dir(&repo);
            let (version, _) =
                build::plan_version(&repo, true, env("SOURCE_DATE_EPOCH").as_deref(), &dir)?;
            println!("{version}");
        }
        Command::Render(Render::ApacheSite(args)) => apache_site(args)?,
        Command::Render(Render::Device(args)) => {
            let text = render::device::render(
                &args.device_type,
                &args.name,
                args.telnet_port,
                args.pdu_port,
            )?;
            write_out(args.output.as_deref(), &text)?;
        }
        Command::Image(Image::Kvm(args)) => kvm_image(args)?,
        Command::QuickInstall(args) => quick_install(args)?,
        Command::Man(args) => {
            for page in man::generate(&args.output, &args.bin_dir)? {
                println!("{}", page.display());
            }
        }
    }
    Ok(())
}

/// Builds the release binaries in the checkout (unless --bin-dir names them), installs what
/// changed and restarts what that needs (only on the real root, unless --no-restart).
fn quick_install(args: QuickInstallArgs) -> anyhow::Result<()> {
    let repo = git::Repo::discover(&args.source.source)?;
    let bin_dir = match args.bin_dir {
        Some(dir) => dir,
        None => {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            eprintln!("==> cargo build --release (lava-server, lava-dispatcher)");
            let status = std::process::Command::new(&cargo)
                .current_dir(&repo.root)
                .args([
                    "build",
                    "--release",
                    "-p",
                    "lava-server",
                    "-p",
                    "lava-dispatcher",
                ])
                .status()
                .with_context(|| format!("cannot run {}", cargo.to_string_lossy()))?;
            if !status.success() {
                anyhow::bail!("cargo build --release failed ({status})");
            }
            repo.root.join("target/release")
        }
    };
    let done = lava_dev::quick_install::install(&repo.root, &bin_dir, &args.root, &Stderr)?;
    if done.files.is_empty() {
        eprintln!("==> nothing changed: nothing installed, nothing restarted");
        return Ok(());
    }
    let real_root = args.root == Path::new("/");
    for r in done.restarts {
        let command = r.command().join(" ");
        if args.no_restart || !real_root {
            println!("would run: {command}");
            continue;
        }
        eprintln!("==> {command}");
        let status = std::process::Command::new(r.command()[0])
            .args(&r.command()[1..])
            .status()
            .with_context(|| format!("cannot run {command}"))?;
        if !status.success() {
            anyhow::bail!("{command} failed ({status})");
        }
        println!("ran: {command}");
    }
    Ok(())
}

/// The installed copy of the image script (package lava-dev).
const INSTALLED_KVM_IMAGE: &str = "/usr/share/lava-server/create-kvm-image";

/// Runs create-kvm-image, the checkout's when run inside one, else the installed copy, and
/// fails with its exit status.
fn kvm_image(args: KvmImageArgs) -> anyhow::Result<()> {
    let in_checkout = git::Repo::discover(Path::new("."))
        .ok()
        .map(|r| r.root.join("share/create-kvm-image"))
        .filter(|p| p.exists());
    let script = in_checkout.unwrap_or_else(|| PathBuf::from(INSTALLED_KVM_IMAGE));
    if !script.is_file() {
        anyhow::bail!(
            "{}: no such file (run inside a lava-rs checkout, or reinstall the lava-dev package)",
            script.display()
        );
    }
    let status = std::process::Command::new("sh")
        .arg(&script)
        .args(&args.args)
        .status()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !status.success() {
        anyhow::bail!("{} failed ({status})", script.display());
    }
    Ok(())
}

fn apache_site(args: ApacheSiteArgs) -> anyhow::Result<()> {
    let template = match args.template {
        Some(t) => t,
        None => {
            let in_checkout = git::Repo::discover(Path::new("."))
                .ok()
                .map(|r| r.root.join(render::apache::TEMPLATE))
                .filter(|p| p.exists());
            in_checkout.unwrap_or_else(|| {
                PathBuf::from("/usr/share/lava-dev").join(render::apache::TEMPLATE)
            })
        }
    };
    let site = render::apache::ApacheSite {
        server_name: args.server_name,
        port: args.port,
        upstream: args.upstream,
        share: args.share,
        web_user: args.web_user,
        web_binary: args.web_binary,
        limits: render::apache::BodyLimits {
            request: args.request_bytes,
            job: args.job_bytes,
            log_batch: args.log_batch_bytes,
            ..Default::default()
        },
    };
    let text = site.render(&template)?;
    let out = (args.output != Path::new("-")).then_some(args.output.as_path());
    write_out(out, &text)
}

/// Writes `text` to `path` (creating its directory), or to standard output.
fn write_out(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match path {
        None => print!("{text}"),
        Some(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?;
            eprintln!("wrote {}", p.display());
        }
    }
    Ok(())
}
