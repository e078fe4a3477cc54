//! `lava-common`: the types and formats every LAVA component shares.
//!
//! Architecture invariant: this crate does no network or database I/O. States, IDs, settings,
//! device config parsing and the fixture format live here so that the server, the dispatcher
//! and the tools agree on them by construction.

pub mod backoff_settings;
pub mod bundle;
pub mod conf;
pub mod device;
pub mod device_file;
pub mod dispatcher_settings;
pub mod email_settings;
pub mod error_chain;
pub mod error_type;
pub mod events_settings;
pub mod fixture;
pub mod host_paths;
pub mod ids;
pub mod jinja;
pub mod job;
pub mod limits;
pub mod log;
pub mod settings;
mod settings_value;
pub mod signals;
pub mod state;
pub mod token;
pub mod worker_api;
pub mod worker_files;
