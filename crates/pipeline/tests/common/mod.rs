//! Paths the pipeline's integration tests share.

use std::path::PathBuf;

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The MiniLM folder: $STORYLINE_MODEL, or the one `cargo xtask setup` links.
pub fn model() -> PathBuf {
    cache_paths::work_tree_model(&workspace())
}
