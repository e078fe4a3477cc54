//! The LAVA dispatcher: the part that touches devices.
//!
//! Its binaries (`lava-dispatcher worker`, `lava-dispatch`, `pduclient`) are built by the
//! dispatcher issue; this crate exists now so the workspace has its final shape, and it never
//! links `lava-db` (a worker host needs no database access).
