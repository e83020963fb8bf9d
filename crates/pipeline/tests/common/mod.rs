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

/// Every file under `dir` (recursively) with its bytes, sorted by path.
#[allow(dead_code)] // not every test binary uses it
pub fn snapshot(dir: &std::path::Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(snapshot(&e.path()));
        } else {
            out.push((e.path(), std::fs::read(e.path()).unwrap()));
        }
    }
    out.sort();
    out
}
