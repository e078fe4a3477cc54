//! The LAVA dispatcher: the part that touches devices.
//!
//! `connection` runs console commands under a pseudo-terminal with an expect engine,
//! `joblog` writes `output.yaml`, `power` runs power commands and speaks pdudaemon's API.
//! The worker daemon joins later. Architecture invariant: this crate never links `lava-db`;
//! a worker host needs no database access.

pub mod connection;
pub mod joblog;
pub mod power;
