//! Progress of long steps, reported to a listener so the library never prints.

/// Receives what a build or render is doing; the binary prints it, tests record it.
pub trait Listener {
    /// A long step begins (e.g. "compiling", "assembling lava-server").
    fn step(&self, what: &str);
    /// Something the user should know that does not stop the build (e.g. a dirty tree).
    fn warning(&self, what: &str);
}

/// A listener that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Listener for Silent {
    fn step(&self, _what: &str) {}
    fn warning(&self, _what: &str) {}
}
