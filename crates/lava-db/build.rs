//! Rebuilds the crate when a migration is added: refinery's `embed_migrations!` reads the
//! folder at compile time, and cargo alone only notices changes to files it already embeds.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
