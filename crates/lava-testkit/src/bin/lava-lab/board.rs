//! `lava-lab board start|stop|run DIR`: the U-Boot QEMU board for trying board jobs without
//! hardware.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use lava_testkit::{UbootBoard, UbootBoardConfig};

const START_HELP: &str = "\
Writes, under DIR:
  board.env                        KERNEL_URL, KERNEL_TYPE, RAMDISK_URL, DTB_URL (images
                                   that boot on the board to a shell), DEVICE_CONF,
                                   DEVICE_DICTIONARY, DEVICE_TYPE, TFTP_ROOT, SERVER_IP,
                                   prompts, ports
  etc/devices/HOSTNAME.conf        the device, printed on stdout
  etc/device-types/uboot-qemu.conf its type
  etc/lava-server/dispatcher-config/devices/HOSTNAME.jinja2
                                   the same device as a LAVA 2023 device dictionary
  etc/lava-server/dispatcher-config/device-types/uboot-qemu.jinja2
                                   its type as a template over LAVA's base-uboot.jinja2
                                   (from Debian's lava-server, not written here)
  tftp/                            the TFTP root (unless --tftp-root names another)
  run/                             scripts, daemon configuration and logs (tftpd.log,
                                   qemu.log, pdu.log, ser2net.log, pdudaemon.log)

The board is off until its PDU switches it on (power_on_cmd in the device file). Try a job:
  . DIR/board.env
  lava-dispatch --device \"$DEVICE_CONF\" JOB.yaml
  lava-dispatch --device \"$DEVICE_DICTIONARY\" JOB.yaml   (with LAVA's templates installed)

Needs root (the board's TFTP server runs in a network namespace of its own) and Debian's
qemu-system-arm, u-boot-qemu, tftpd-hpa, ser2net, pdudaemon, socat and iproute2. The first
start downloads Debian's arm64 kernel and busybox to build the images (in
target/lava-images/uboot-arm64).";

/// The `board` subcommands.
#[derive(Debug, Subcommand)]
pub enum BoardCmd {
    /// Start the board in DIR, print the path of its device .conf and leave it running.
    #[command(after_long_help = START_HELP)]
    Start(StartArgs),
    /// Stop the board in DIR and remove what it made there; succeeds if none runs.
    Stop {
        /// The board's directory.
        dir: PathBuf,
    },
    /// Like start, then wait: Ctrl-C or SIGTERM stops the board.
    #[command(after_long_help = START_HELP)]
    Run(StartArgs),
}

/// How to start a board.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// The board's directory: new, empty, or an earlier board's.
    dir: PathBuf,
    /// The directory the board's TFTP server serves (default DIR/tftp); jobs' files go
    /// under TFTP_ROOT/JOB_ID/.
    #[arg(long, value_name = "DIR")]
    tftp_root: Option<PathBuf>,
    /// The device's name.
    #[arg(long, default_value = "uboot-qemu01")]
    hostname: String,
    /// The pduclient the device file's power commands run (default: the one next to this
    /// program, else /usr/bin/pduclient).
    #[arg(long, value_name = "FILE")]
    pduclient: Option<PathBuf>,
    /// A fault for trying retries: the first N power-ons leave the board dead (nothing on
    /// its console), the next ones boot.
    #[arg(long, value_name = "N", default_value_t = 0)]
    dead_boots: u32,
}

pub fn run(cmd: BoardCmd) -> anyhow::Result<()> {
    match cmd {
        BoardCmd::Start(args) => {
            let board = start(&args)?;
            board.detach().context("cannot leave the board running")?;
            eprintln!(
                "board running; stop it with: lava-lab board stop {}",
                args.dir.display()
            );
            Ok(())
        }
        BoardCmd::Stop { dir } => {
            let stopped = UbootBoard::stop_dir(&dir)
                .with_context(|| format!("cannot stop the board in {}", dir.display()))?;
            let what = if stopped {
                "stopped the board in"
            } else {
                "no board in"
            };
            eprintln!("{what} {}", dir.display());
            Ok(())
        }
        BoardCmd::Run(args) => {
            let mut board = start(&args)?;
            eprintln!("board running; Ctrl-C stops it");
            wait_for_signal()?;
            board.stop().context("cannot stop the board")?;
            eprintln!("stopped the board in {}", args.dir.display());
            Ok(())
        }
    }
}

fn start(args: &StartArgs) -> anyhow::Result<UbootBoard> {
    let pduclient = match &args.pduclient {
        Some(path) => std::path::absolute(path)?,
        None => default_pduclient()?,
    };
    if !pduclient.is_file() {
        bail!("pduclient {} does not exist", pduclient.display());
    }
    let tftp_root = args
        .tftp_root
        .as_deref()
        .map(std::path::absolute)
        .transpose()?;
    let config = UbootBoardConfig {
        dir: Some(std::path::absolute(&args.dir)?),
        tftp_root,
        hostname: args.hostname.clone(),
        pduclient,
        dead_boots: args.dead_boots,
    };
    eprintln!("starting the u-boot qemu board in {}", args.dir.display());
    let board = UbootBoard::start(&config)
        .with_context(|| format!("cannot start the board in {}", args.dir.display()))?;
    eprintln!("board.env: {}", board.board_env_path().display());
    println!("{}", board.device_conf_path().display());
    Ok(board)
}

/// `pduclient` next to this program (a build tree's target/debug), else Debian's path.
fn default_pduclient() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let beside = exe.with_file_name("pduclient");
    let installed = Path::new("/usr/bin/pduclient");
    for candidate in [beside.as_path(), installed] {
        if candidate.is_file() {
            return Ok(candidate.to_owned());
        }
    }
    bail!(
        "no pduclient at {} or {}: build it (make build, or cargo build -p lava-dispatcher \
         --bin pduclient) or name one with --pduclient",
        beside.display(),
        installed.display()
    )
}

fn wait_for_signal() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    })?;
    Ok(())
}
