//! `lava-dev`: the developer build tool (timestamped git-versioned `.deb` packages, the Apache
//! site and device config rendering). Built by the packaging issue; the crate exists now so the
//! workspace has its final shape.
