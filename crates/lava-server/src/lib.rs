//! `lava-server`: the server half of LAVA.
//!
//! `web` (the web app and the worker API), `scheduler`, and the administration surface
//! (`manage`, also reached as the seed's `/usr/share/lava-server/add_device.py`). The binary
//! is thin: it parses arguments, sets up tracing, loads settings and calls [`daemon::run`].

pub mod api_doc;
pub mod callbacks;
pub mod conffiles;
pub mod daemon;
pub mod events;
pub mod logstore;
pub mod manage;
pub mod scheduler;
pub mod submit;
pub mod web;
