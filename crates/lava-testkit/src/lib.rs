//! `lava-testkit`: fixtures for tests and `make run`.
//!
//! [`PgCluster`] runs a private PostgreSQL server from the Debian binaries, listening only on a
//! unix socket in a directory of ours; [`test_db`] gives each test its own migrated database on
//! a cluster shared by the test process. As root (CI) the server runs as `nobody`, because
//! `initdb` and `postgres` refuse root. A watchdog process stops servers whose owner died
//! without stopping them, so a killed test run leaves no server behind.

mod admin;
mod board;
mod cluster;
mod command;
mod error;
mod image;
mod lava_server_pkg;
mod paths;
mod pgbin;
mod process;
mod tarball;
mod telnet;
mod testdb;
mod tuxlava;
mod uboot;
mod user;
mod watchdog;

pub use board::{FakeBoard, PDU_HOSTNAME, PDU_PORT, REBOOT_DELAY_SECS};
pub use cluster::PgCluster;
pub use command::stdout_of;
pub use error::Error;
pub use image::{TestImage, test_image};
pub use lava_server_pkg::{
    LAVA_RELEASE, LavaServerPackage, PythonRender, lava_device_types, python_render,
};
pub use paths::ClusterPaths;
pub use pgbin::pg_bindir;
pub use process::free_ports;
pub use tarball::tar;
pub use telnet::{ConsoleError, TelnetConsole};
pub use testdb::{TestDb, test_db};
pub use tuxlava::{TUXLAVA_VERSION, Tuxlava, tuxlava};
pub use uboot::{
    BoardImage, DEVICE_TYPE, DEVICE_TYPE_CONF, DEVICE_TYPE_TEMPLATE, JobFiles, RawBoot, SERVER_IP,
    SHELL_PROMPT, UbootBoard, UbootBoardConfig, board_image, built_pduclient, run_power_command,
};
