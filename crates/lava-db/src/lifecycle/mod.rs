//! The one place where jobs, devices and workers change state or health.
//!
//! Every change goes through a checked move ([`moves`]): the state machines of
//! `lava_common::state` allow it or it is refused, the `UPDATE` names the state and health it
//! expects (so a lost race changes no row), and the transition row with its reason is written
//! by the same code in the caller's transaction. A job's change to running or finished queues
//! its notify callbacks there too.
//!
//! - [`job`]: a job starts on its worker, is canceled.
//! - [`assign`]: queued jobs given to idle devices, one at a time or in bulk, from one set of
//!   rules.
//! - [`finish`]: the end of a job: its health, its device freed and judged, its results filed
//!   into bundle streams, its callbacks queued.
//! - [`device`]: an admin's or a fixture's health change.
//! - [`worker`]: heartbeats (online), silence (offline), an admin's or a fixture's health.
//!
//! No other module writes `state` or `health` of these tables; `tests/lifecycle_only.rs`
//! fails when one does.

pub mod assign;
pub mod device;
pub mod finish;
pub mod job;
mod moves;
pub mod worker;

pub use moves::Illegal;

#[cfg(test)]
mod tests;
