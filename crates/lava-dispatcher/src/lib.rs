//! The LAVA dispatcher: the part that touches devices.
//!
//! `job` runs one job (its actions under their timeouts, then finalize); `actions` holds
//! deploy, boot and login; `testshell` sends and follows test definitions; `connection`
//! runs console commands under a pseudo-terminal with an expect engine; `joblog` writes
//! `output.yaml`; `power` runs power commands and speaks pdudaemon's API; `worker` is the
//! worker daemon (`lava-dispatcher worker`), the client of the server's worker API.
//! Architecture invariant: this crate never links `lava-db`; a worker host needs no
//! database access.

pub mod actions;
pub mod archive;
pub mod command;
pub mod connection;
pub mod ext4;
pub mod job;
pub mod joblog;
pub mod network;
pub mod outbound;
pub mod power;
pub mod sparse;
pub mod startup;
pub mod testshell;
pub mod worker;
