//! Paths the pipeline's integration tests share.

use std::path::PathBuf;

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The MiniLM folder: $STORYLINE_MODEL, or the one `cargo xtask setup` links.
pub fn model() -> PathBuf {
    std::env::var_os("STORYLINE_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".storyline/models/all-MiniLM-L6-v2"))
}
