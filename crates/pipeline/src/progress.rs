//! Progress reporting, drawn by front ends (an indicatif bar in the binary).

/// Receives progress of the long stages.
pub trait Progress: Sync {
    /// A stage starts with `total` units (`unit`: "files", "sentences" ...).
    fn start(&self, stage: &str, total: u64, unit: &str);
    /// `n` more units done.
    fn inc(&self, n: u64);
    /// The stage is over.
    fn finish(&self);
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64, _: &str) {}
    fn inc(&self, _: u64) {}
    fn finish(&self) {}
}
