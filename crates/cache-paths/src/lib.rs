//! Where storyline keeps what it installs and caches. `cargo xtask setup`
//! installs libtorch and the model here and the pipeline reads them (and
//! keeps its embedding cache) here, so the rule has one home. No
//! dependencies: xtask builds it before libtorch is installed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The folder of the sentence-transformers model inside the cache.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// The cache folder: `$STORYLINE_CACHE`, else `$XDG_CACHE_HOME/storyline`,
/// else `$HOME/.cache/storyline`; `None` when none of them is set.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name);
    cache_dir_from(var("STORYLINE_CACHE"), var("XDG_CACHE_HOME"), var("HOME"))
}

/// [`cache_dir`] from the three variables' values (empty counts as unset).
fn cache_dir_from(storyline: Option<OsString>, xdg: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    set(storyline)
        .or_else(|| set(xdg).map(|x| x.join("storyline")))
        .or_else(|| set(home).map(|h| h.join(".cache").join("storyline")))
}

/// The link to the cache folder that `cargo xtask setup` makes in the work
/// tree (`.cargo/config.toml` finds libtorch through it).
pub const WORK_TREE_LINK: &str = ".storyline";

/// Where `cargo xtask setup` installs the model in the cache folder `cache`.
pub fn installed_model(cache: &Path) -> PathBuf {
    cache.join("models").join(MODEL_NAME)
}

/// The model to use: `$STORYLINE_MODEL`, else the one installed in `cache`.
pub fn model_dir(cache: &Path) -> PathBuf {
    std::env::var_os("STORYLINE_MODEL").filter(|p| !p.is_empty()).map_or_else(|| installed_model(cache), PathBuf::from)
}

/// [`model_dir`] for the tests and benchmarks of the work tree `root`:
/// through its [`WORK_TREE_LINK`].
pub fn work_tree_model(root: &Path) -> PathBuf {
    model_dir(&root.join(WORK_TREE_LINK))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(storyline: &str, xdg: &str, home: &str) -> Option<PathBuf> {
        let v = |s: &str| (s != "unset").then(|| OsString::from(s));
        cache_dir_from(v(storyline), v(xdg), v(home))
    }

    #[test]
    fn the_first_variable_set_decides() {
        assert_eq!(dir("/c", "/x", "/h"), Some(PathBuf::from("/c")));
        assert_eq!(dir("unset", "/x", "/h"), Some(PathBuf::from("/x/storyline")));
        assert_eq!(dir("", "", "/h"), Some(PathBuf::from("/h/.cache/storyline")), "empty counts as unset");
        assert_eq!(dir("unset", "unset", "unset"), None);
        assert_eq!(installed_model(Path::new("/c")), PathBuf::from("/c/models/all-MiniLM-L6-v2"));
    }
}
