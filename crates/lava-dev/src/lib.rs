//! `lava-dev`: the developer build tool.
//!
//! It builds timestamped, git-versioned `.deb` packages of every component from the committed
//! tree (`build`), and renders the Apache site and device configuration files from their
//! templates (`render`). The library never prints: long steps report to a [`Listener`], and
//! the binary decides how to show them.

pub mod build;
pub mod builddeps;
pub mod cargo_deb;
pub mod changelog;
pub mod cli;
mod command;
pub mod control;
mod error;
pub mod git;
pub mod man;
pub mod manifest;
pub mod metapkg;
pub mod progress;
pub mod quick_install;
pub mod render;
pub mod version;

pub use error::{Error, Result};
pub use progress::Listener;
