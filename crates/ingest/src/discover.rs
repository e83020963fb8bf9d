//! Finding the input files under the paths a user gave: every file is
//! either read or reported.
//!
//! Folders are walked recursively in sorted order. Symlinks to files and
//! folders are followed; a folder already visited (by canonical path: a
//! link loop, or two links to one folder) is skipped with one warning
//! naming the link, and a file reached twice is read once. Hidden files and
//! folders (`.git`) are skipped and counted. A file of a kind storyline does
//! not read (a `.pdf`, a `.png`) is a reject, "not an article format", and
//! is counted by extension. `-` is standard input, read as JSON Lines.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::read::Source;
use crate::{InputsSeen, Origin, Reject, Warning};

/// The path that names standard input.
pub const STDIN: &str = "-";

/// What a walk over the inputs found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Files to read, sorted (standard input, when named, first).
    pub files: Vec<PathBuf>,
    /// Files of unknown kinds and hidden files (reading fills in the rest).
    pub seen: InputsSeen,
    pub rejects: Vec<Reject>,
    /// Links to folders already visited.
    pub warnings: Vec<Warning>,
}

fn reject(file: &Path, reason: &str) -> Reject {
    Reject { origin: Origin { file: file.to_path_buf(), record: None }, id: None, reason: reason.to_string() }
}

/// Expands files and folders into the input files (see the module docs).
pub fn discover(paths: &[PathBuf]) -> Discovered {
    let mut d = Discovered::default();
    let mut seen_dirs = HashSet::new();
    let mut seen_files = HashSet::new();
    let mut files = Vec::new();
    for p in paths {
        if p.as_os_str() == STDIN {
            if !d.files.iter().any(|f| f.as_os_str() == STDIN) {
                d.files.push(p.clone());
            }
        } else if p.is_dir() {
            walk(p, &mut d, &mut files, &mut seen_dirs, &mut seen_files);
        } else if p.is_file() {
            if Source::of(p).is_some() {
                if seen_files.insert(canonical(p)) {
                    files.push(p.clone());
                }
            } else {
                d.rejects.push(reject(p, &format!("not an article format (storyline reads {})", Source::KINDS)));
                *d.seen.unknown.entry(extension(p)).or_default() += 1;
            }
        } else {
            d.rejects.push(reject(p, "no such file or folder"));
        }
    }
    files.sort();
    d.files.extend(files);
    d
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

fn extension(p: &Path) -> String {
    p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default()
}

fn walk(dir: &Path, d: &mut Discovered, files: &mut Vec<PathBuf>, seen_dirs: &mut HashSet<PathBuf>, seen_files: &mut HashSet<PathBuf>) {
    if !seen_dirs.insert(canonical(dir)) {
        let message = format!("folder already visited (through {}), skipped", canonical(dir).display());
        d.warnings.push(Warning { origin: Origin { file: dir.to_path_buf(), record: None }, id: String::new(), message });
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            d.rejects.push(reject(dir, &format!("cannot read folder: {e}")));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.file_name().is_some_and(|n| n.as_encoded_bytes().starts_with(b".")) {
            d.seen.hidden += 1;
        } else if p.is_dir() {
            walk(&p, d, files, seen_dirs, seen_files);
        } else if Source::of(&p).is_some() {
            if seen_files.insert(canonical(&p)) {
                files.push(p);
            }
        } else if p.is_file() {
            d.rejects.push(reject(&p, "not an article format"));
            *d.seen.unknown.entry(extension(&p)).or_default() += 1;
        } else {
            d.rejects.push(reject(&p, "broken link or not a regular file"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_hidden_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in ["a.jsonl", "b.pdf", "c.PDF", "d.png", "README", ".hidden.jsonl", ".git/config", "sub/e.txt"] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "x").unwrap();
        }
        let d = discover(&[root.to_path_buf()]);
        assert_eq!(d.files, vec![root.join("a.jsonl"), root.join("sub/e.txt")]);
        let unknown: Vec<(&str, usize)> = d.seen.unknown.iter().map(|(e, n)| (e.as_str(), *n)).collect();
        assert_eq!(unknown, vec![("", 1), ("pdf", 2), ("png", 1)]);
        assert_eq!(d.seen.hidden, 2);
        assert_eq!(d.rejects.len(), 4);
        assert!(d.rejects.iter().all(|r| r.reason.starts_with("not an article format")), "{:?}", d.rejects);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_walked_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("a.jsonl"), "x").unwrap();
        std::os::unix::fs::symlink(".", root.join("loop")).unwrap();
        std::os::unix::fs::symlink("a.jsonl", root.join("again.jsonl")).unwrap();
        let d = discover(&[root.to_path_buf(), root.join("a.jsonl")]);
        assert_eq!(d.files, vec![root.join("a.jsonl")], "one file, read once");
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(d.warnings[0].origin.file.ends_with("loop"));
        assert!(d.rejects.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_name_that_is_not_utf8_is_read() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9.jsonl.gz"));
        std::fs::write(&odd, "x").unwrap();
        let d = discover(&[dir.path().to_path_buf()]);
        assert_eq!(d.files, vec![odd]);
        assert!(d.rejects.is_empty());
    }

    #[test]
    fn stdin_is_named_by_a_dash() {
        let d = discover(&[PathBuf::from("-")]);
        assert_eq!(d.files, vec![PathBuf::from("-")]);
    }
}
