//! `lava-server`: the server half of LAVA.
//!
//! For now this is the administration surface (`lava-server manage …` and the seed's
//! `/usr/share/lava-server/add_device.py`); the web app and scheduler join it in later
//! releases. The binary is thin: it parses arguments, sets up tracing, loads settings and
//! calls [`manage::run`].

pub mod cli;
pub mod manage;
