//! Rendering files from the project's templates: the Apache site and device configs.

pub mod apache;
pub mod device;
