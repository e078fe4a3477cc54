//! `lava-lab`: a private PostgreSQL cluster and a U-Boot QEMU board, for `make run` and
//! manual testing, `soak`, a simulated lab under load (`make bench`), and `fill`, a lab with
//! a long history.
//!
//! `pg-start DIR` leaves the server running and prints the database URL, the only thing this
//! program writes to stdout, so `URL=$(lava-lab pg-start .lava)` works in a Makefile.
//! `board start DIR` likewise prints only the path of the board's device file.

mod board;
mod fill;
mod soak;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use lava_testkit::{ClusterPaths, PgCluster};

/// Run a private PostgreSQL cluster, or a U-Boot QEMU board, for LAVA development.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Start (or reuse) the cluster under DIR/pg, create the database and print its URL.
    ///
    /// Data lives in DIR/pg/data, the socket in DIR/pg/sock, the log in DIR/pg/postgres.log.
    /// The server keeps running after this command exits; stop it with `pg-stop`.
    #[command(name = "pg-start")]
    Start {
        /// The directory holding the cluster (created if missing).
        dir: PathBuf,
        /// The database to create if missing.
        #[arg(long, default_value = "lava")]
        database: String,
    },
    /// Stop the cluster under DIR/pg; succeeds if it is not running.
    #[command(name = "pg-stop")]
    Stop {
        /// The directory holding the cluster.
        dir: PathBuf,
    },
    /// A U-Boot QEMU board: arm64 QEMU running Debian's U-Boot, behind ser2net, pdudaemon
    /// and tftpd-hpa.
    #[command(subcommand)]
    Board(board::BoardCmd),
    /// A simulated lab under load: the real web app, scheduler and workers over a private
    /// PostgreSQL, `dummy` devices, jobs submitted through REST by concurrent clients, a
    /// worker and the scheduler killed and restarted on the way; prints `bench:` figures and
    /// fails when a job is lost, a device ran two jobs at once or a log line is lost or
    /// doubled.
    Soak(soak::SoakArgs),
    /// A lab with a long history: a private PostgreSQL under DIR/pg filled with a year of
    /// jobs (results, transitions) and their logs under DIR/server, for measuring pages,
    /// REST filters and charts at scale; prints the database URL.
    Fill(fill::FillArgs),
    /// Print the URL of the database on the cluster under DIR/pg.
    #[command(name = "pg-url")]
    Url {
        /// The directory holding the cluster.
        dir: PathBuf,
        /// The database name.
        #[arg(long, default_value = "lava")]
        database: String,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Start { dir, database } => pg_start(&dir.join("pg"), &database),
        Cmd::Stop { dir } => {
            let dir = dir.join("pg");
            let stopped = PgCluster::stop_dir(&dir)
                .with_context(|| format!("cannot stop the cluster in {}", dir.display()))?;
            let what = if stopped { "stopped" } else { "not running:" };
            eprintln!("{what} {}", dir.display());
            Ok(())
        }
        Cmd::Board(cmd) => board::run(cmd),
        Cmd::Soak(args) => soak::run(args),
        Cmd::Fill(args) => fill::run(args),
        Cmd::Url { dir, database } => {
            println!("{}", ClusterPaths::new(&dir.join("pg"))?.url(&database));
            Ok(())
        }
    }
}

fn pg_start(dir: &Path, database: &str) -> anyhow::Result<()> {
    eprintln!("starting postgresql in {}", dir.display());
    let cluster = PgCluster::start(dir)
        .with_context(|| format!("cannot start the cluster in {}", dir.display()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // On failure the cluster is dropped, which stops a server we started.
    let created = runtime
        .block_on(cluster.ensure_database(database))
        .with_context(|| format!("cannot create database {database}"))?;
    if created {
        eprintln!("created database {database}");
    }
    println!("{}", cluster.url(database));
    cluster.detach();
    Ok(())
}
