//! The command line of `lava-dev` (clap), also the source of its man page.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::render::apache::BodyLimits;

/// LAVA developer tools: build the Debian packages, render the Apache site and device configs.
#[derive(Debug, Parser)]
#[command(name = "lava-dev", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build .deb packages from the committed tree, with a git- and time-based version.
    Build(BuildArgs),
    /// Print the version a build would get now.
    Version(SourceArgs),
    /// Render a file from the project's templates.
    #[command(subcommand)]
    Render(Render),
    /// Write the man pages of every packaged binary (used by the build).
    Man(ManArgs),
    /// The seed's "quick fixes and testing": from a checkout on an installed system (with
    /// sudo), build what changed, put the binaries, templates and static files into place
    /// and restart what the README's "Viewing changes" table says.
    QuickInstall(QuickInstallArgs),
    /// Build a bootable image for a device type.
    #[command(subcommand)]
    Image(Image),
}

/// `lava-dev quick-install`.
#[derive(Debug, Clone, Args)]
pub struct QuickInstallArgs {
    /// Take the binaries from this directory instead of building them (cargo build
    /// --release, into the checkout's target/release).
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
    /// The installed system's root: another directory installs there and restarts nothing.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Restart nothing; print what would be restarted.
    #[arg(long)]
    pub no_restart: bool,
    /// The checkout.
    #[command(flatten)]
    pub source: SourceArgs,
}

/// `lava-dev image …`.
#[derive(Debug, Subcommand)]
pub enum Image {
    /// The kvm type's images: the small busybox image (default) or, with --image FILE, a
    /// full Debian disk (the seed's vmdebootstrap options: --custom-package FILE.deb,
    /// --enable-dhcp, --serial-console, --serial-console-command CMD, --root-password PW).
    /// Runs create-kvm-image (share/ of the checkout, else /usr/share/lava-server); its
    /// arguments follow, `lava-dev image kvm -- --help` lists them.
    Kvm(KvmImageArgs),
}

/// `lava-dev image kvm`.
#[derive(Debug, Clone, Args)]
pub struct KvmImageArgs {
    /// The arguments of create-kvm-image.
    #[arg(
        value_name = "ARG",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<std::ffi::OsString>,
}

/// Where the source tree is.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// A directory inside the git checkout to build.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub source: PathBuf,
}

/// `lava-dev build`.
#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// Packages to build: lava, lava-server, lava-dispatcher, lava-dev (default: all four).
    #[arg(value_name = "PACKAGE")]
    pub packages: Vec<String>,
    /// Where the .deb files go (default: target/debian in the checkout).
    #[arg(long, short, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// The build directory, kept between builds so they stay fast (default: target/lava-dev).
    #[arg(long, value_name = "DIR")]
    pub build_dir: Option<PathBuf>,
    /// Build HEAD only, leaving uncommitted changes out (by default they are built and the
    /// version is marked +dirty).
    #[arg(long)]
    pub head: bool,
    /// The tree to build.
    #[command(flatten)]
    pub source: SourceArgs,
}

/// `lava-dev render …`.
#[derive(Debug, Subcommand)]
pub enum Render {
    /// The Apache site (Apache 2.4, with the 2.2 equivalents in comments).
    ApacheSite(ApacheSiteArgs),
    /// A new device's config file, exactly as add_device.py writes it.
    Device(DeviceArgs),
}

/// `lava-dev render apache-site`.
#[derive(Debug, Clone, Args)]
pub struct ApacheSiteArgs {
    /// ServerName of the virtual host (default: none, any name).
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// Port of the virtual host.
    #[arg(long, value_name = "PORT", default_value_t = 80)]
    pub port: u16,
    /// The web app's address that Apache proxies to.
    #[arg(long, value_name = "ADDR", default_value = lava_common::settings::DEFAULT_LISTEN)]
    pub upstream: String,
    /// The shared data directory; static/ below it is served by Apache.
    #[arg(long, value_name = "DIR", default_value = "/usr/share/lava-server")]
    pub share: PathBuf,
    /// The largest body of a job submission, in bytes: the web app's `limits.job_bytes`
    /// [default: 1 MiB].
    #[arg(long, value_name = "BYTES", default_value_t = BodyLimits::default().job)]
    pub job_bytes: u64,
    /// The largest body of any other request, in bytes: `limits.request_bytes`
    /// [default: 64 KiB].
    #[arg(long, value_name = "BYTES", default_value_t = BodyLimits::default().request)]
    pub request_bytes: u64,
    /// The largest log batch a worker sends, in bytes: `limits.log_batch_bytes`
    /// [default: 16 MiB].
    #[arg(long, value_name = "BYTES", default_value_t = BodyLimits::default().log_batch)]
    pub log_batch_bytes: u64,
    /// The user Apache runs the web app as.
    #[arg(long, value_name = "USER", default_value = crate::render::apache::SERVICE_USER)]
    pub web_user: String,
    /// The web app's binary, which Apache starts with itself (a piped log).
    #[arg(long, value_name = "PATH", default_value = crate::render::apache::SERVER_BINARY)]
    pub web_binary: PathBuf,
    /// The template (default: apache/lava-server.conf.tera in the checkout, else the
    /// installed copy in /usr/share/lava-dev).
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Where to write it ('-' for standard output).
    #[arg(long, short, value_name = "FILE", default_value = crate::render::apache::SITE)]
    pub output: PathBuf,
}

/// `lava-dev render device`.
#[derive(Debug, Clone, Args)]
pub struct DeviceArgs {
    /// The device type the new file names (`kvm`, `qemu`, ...).
    #[arg(value_name = "TYPE")]
    pub device_type: String,
    /// The device's hostname.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// ser2net telnet port: adds connection_command = telnet localhost PORT.
    #[arg(short = 't', long, value_name = "PORT")]
    pub telnet_port: Option<u16>,
    /// PDU port: adds hard_reset_command and power_off_cmd using pduclient.
    #[arg(short = 'p', long, value_name = "PORT")]
    pub pdu_port: Option<u16>,
    /// Where to write it (default: standard output).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `lava-dev man`.
#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// Directory for the NAME.1.gz pages.
    #[arg(long, short, value_name = "DIR")]
    pub output: PathBuf,
    /// Directory of the built binaries whose pages come from --help.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub bin_dir: PathBuf,
}
