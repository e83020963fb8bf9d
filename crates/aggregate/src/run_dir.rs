//! A run folder that grows by parts.
//!
//! ```text
//! RUN/
//!   manifest.json            rewritten by every run or add (the batches, in order)
//!   events.parquet           rewritten: the whole corpus's events, stories,
//!   stories.parquet            timeline, article-to-event map and this add's
//!   timeline.parquet           changes
//!   article_events.parquet
//!   changes.parquet
//!   articles/b000001-1f3a9c0d2e4b5a67.parquet    written once per batch and writer
//!   sentences/…  embeddings/…  sentence_embeddings/…  rejects/…  traces/…
//! ```
//!
//! A part is named `b<batch>-<writer>.parquet`: the batch number, zero-padded
//! so that names sort in corpus order, and a writer key that the writer
//! derives from what it wrote (the ids of its articles), so writers on other
//! machines can put parts side by side without ever choosing one name, and a
//! writer that is run again writes the same name. polars
//! `scan_parquet("RUN/articles/*.parquet")` and DuckDB
//! `read_parquet('RUN/articles/*.parquet')` read the parts as one table.
//!
//! Commits are all or nothing. Every file of a run or an add is staged as a
//! hidden temporary file (`.NAME.XXXX.tmp`, which `*.parquet` does not
//! match), synced, and listed in a journal (`RUN/.commit.json`, written
//! atomically): the journal is the commit point. Then the temporaries are
//! renamed into place (manifest.json last) and the journal removed. A run
//! killed before the journal exists left RUN as it was, and its temporaries
//! are removed when RUN is next opened; one killed after it is finished when
//! RUN is next opened.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::{stage, Staged};
use crate::AggregateError;

/// The tables a batch adds parts to, in the order they are committed.
pub const PART_TABLES: &[&str] = &["articles", "sentences", "embeddings", "sentence_embeddings", "rejects", "traces"];

/// The tables every run or add rewrites whole (manifest.json is committed last).
pub const WHOLE_TABLES: &[&str] =
    &["events.parquet", "stories.parquet", "timeline.parquet", "article_events.parquet", "changes.parquet"];

/// The journal of a commit in progress (see the module docs).
pub const JOURNAL: &str = ".commit.json";

/// The tables of runs written before runs grew by parts (one file each).
const FLAT_TABLES: &[&str] = &[
    "articles.parquet",
    "sentences.parquet",
    "embeddings.parquet",
    "sentence_embeddings.parquet",
    "rejects.parquet",
];

/// An open run folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    /// (temporary, final), relative to the run folder, in commit order.
    renames: Vec<(PathBuf, PathBuf)>,
    /// Files the commit removes (relative), before the renames.
    removals: Vec<PathBuf>,
}

impl RunDir {
    /// Opens the run folder `root`, creating it if needed, and finishes (or
    /// undoes) a commit an earlier process was killed in.
    pub fn open(root: &Path) -> Result<Self, AggregateError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| AggregateError::Io { path, source }
        };
        std::fs::create_dir_all(root).map_err(io(root))?;
        let run = Self { root: root.to_path_buf() };
        let journal = root.join(JOURNAL);
        match std::fs::read(&journal) {
            Ok(bytes) => {
                let j: Journal = serde_json::from_slice(&bytes)
                    .map_err(|e| AggregateError::Io { path: journal.clone(), source: std::io::Error::other(e) })?;
                tracing::warn!(run = %root.display(), "finishing the commit of an interrupted run or add");
                run.apply(&j)?;
                std::fs::remove_file(&journal).map_err(io(&journal))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(AggregateError::Io { path: journal, source: e }),
        }
        run.remove_temporaries();
        Ok(run)
    }

    /// The run folder `root` as it is, for reading only: no commit is
    /// finished and nothing is created or removed (a shard task reading the
    /// earlier batches while the run is not its to change).
    pub fn existing(root: &Path) -> Self {
        Self { root: root.to_path_buf() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a part of `table` for `batch` by `writer` goes.
    pub fn part_path(&self, table: &str, batch: u32, writer: &str) -> PathBuf {
        self.root.join(table).join(format!("b{batch:06}-{writer}.parquet"))
    }

    /// The parts of `table`, in corpus order (by name: batch, then writer).
    pub fn parts(&self, table: &str) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.root.join(table)) else { return Vec::new() };
        let mut parts: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                name.starts_with('b') && name.ends_with(".parquet")
            })
            .collect();
        parts.sort();
        parts
    }

    /// Whether the folder holds a run written before runs grew by parts.
    pub fn has_flat_tables(&self) -> bool {
        FLAT_TABLES.iter().any(|t| self.root.join(t).is_file())
    }

    /// Every file a fresh run replaces: the parts, the whole tables and the
    /// flat tables of an older layout (not manifest.json, which the commit
    /// writes last).
    pub fn all_outputs(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = PART_TABLES.iter().flat_map(|t| self.parts(t)).collect();
        out.extend(WHOLE_TABLES.iter().chain(FLAT_TABLES).map(|t| self.root.join(t)).filter(|p| p.is_file()));
        out
    }

    fn apply(&self, j: &Journal) -> Result<(), AggregateError> {
        for r in &j.removals {
            let p = self.root.join(r);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(AggregateError::Io { path: p, source }),
            }
        }
        for (tmp, target) in &j.renames {
            let (tmp, target) = (self.root.join(tmp), self.root.join(target));
            // Renamed already (a commit finished again after a crash).
            if !tmp.exists() {
                continue;
            }
            if let Some(parent) = target.parent() {
                // A moved file's table folder may not exist yet.
                std::fs::create_dir_all(parent).map_err(|source| AggregateError::Io { path: parent.to_path_buf(), source })?;
            }
            std::fs::rename(&tmp, &target).map_err(|source| AggregateError::Io { path: target.clone(), source })?;
        }
        Ok(())
    }

    /// Removes the temporary files of a run killed before its commit.
    fn remove_temporaries(&self) {
        let dirs = std::iter::once(self.root.clone()).chain(PART_TABLES.iter().map(|t| self.root.join(t)));
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') && name.ends_with(".tmp") {
                    tracing::info!(file = %e.path().display(), "removing a temporary file left by an interrupted run");
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    /// Checks the parts against their records: each exists with its size
    /// (and, for the tables in `checksums`, its checksum), and no other part
    /// is there, but for those of `unrecorded` batches (written before
    /// batches recorded their parts). Returns what differs; empty when the
    /// parts are the recorded ones.
    pub fn check_parts(&self, recorded: &[PartRecord], unrecorded: &[u32], checksums: &[&str]) -> Vec<Finding> {
        let mut out = Vec::new();
        let rel = |p: &Path| p.strip_prefix(&self.root).unwrap_or(p).to_path_buf();
        for r in recorded {
            let path = r.path(self);
            let finding = |problem: String| Finding { file: rel(&path), problem };
            match std::fs::metadata(&path) {
                Err(_) => out.push(finding(format!("missing (batch {} recorded it: {} rows, {} bytes)", batch_of(&r.file).unwrap_or(0), r.rows, r.bytes))),
                Ok(m) if m.len() != r.bytes => out.push(finding(format!("changed: {} bytes, recorded {}", m.len(), r.bytes))),
                Ok(_) if checksums.contains(&r.table.as_str()) => match digest(&path) {
                    Ok((_, x)) if x != r.xxh3 => out.push(finding(format!("changed: its checksum is {x}, recorded {}", r.xxh3))),
                    Ok(_) => {}
                    Err(e) => out.push(finding(format!("cannot be read: {e}"))),
                },
                Ok(_) => {}
            }
        }
        for table in PART_TABLES {
            for p in self.parts(table) {
                let file = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let known = recorded.iter().any(|r| r.table == *table && r.file == file);
                let legacy = batch_of(&file).is_some_and(|b| unrecorded.contains(&b));
                if !known && !legacy {
                    out.push(Finding { file: rel(&p), problem: "an extra part: no batch of the manifest wrote it".into() });
                }
            }
        }
        out
    }

    /// Starts a commit into this folder.
    pub fn commit(&self) -> Commit {
        Commit { run: self.clone(), staged: Vec::new(), moves: Vec::new(), removals: Vec::new() }
    }
}

/// Files staged for one all-or-nothing commit (see the module docs).
pub struct Commit {
    run: RunDir,
    staged: Vec<Staged>,
    /// Finished files moved into place before the staged ones.
    moves: Vec<(PathBuf, PathBuf)>,
    removals: Vec<PathBuf>,
}

impl Commit {
    /// Adds a staged file; files are renamed into place in the order added.
    pub fn add(&mut self, staged: Staged) {
        self.staged.push(staged);
    }

    /// Stages `bytes` as `path` (a file inside the run folder).
    pub fn add_bytes(&mut self, path: &Path, bytes: &[u8]) -> Result<(), AggregateError> {
        self.staged.push(stage(path, |f| std::io::Write::write_all(f, bytes))?);
        Ok(())
    }

    /// Moves a finished file (inside the run folder: a shard's part, say)
    /// to `to` when the commit happens, in the order added.
    pub fn rename(&mut self, from: PathBuf, to: PathBuf) {
        self.moves.push((from, to));
    }

    /// Removes `path` when the commit happens.
    pub fn remove(&mut self, path: PathBuf) {
        self.removals.push(path);
    }

    /// The parts this commit puts into the run (files staged or moved into
    /// a part table's folder), described from their bytes.
    pub fn parts(&self) -> Result<Vec<PartRecord>, AggregateError> {
        let root = &self.run.root;
        let table_of = |target: &Path| -> Option<(String, String)> {
            let rel = target.strip_prefix(root).ok()?;
            let mut c = rel.components();
            let table = c.next()?.as_os_str().to_string_lossy().into_owned();
            let file = c.next()?.as_os_str().to_string_lossy().into_owned();
            (c.next().is_none() && PART_TABLES.contains(&table.as_str())).then_some((table, file))
        };
        let files = self.moves.iter().map(|(from, to)| (from.as_path(), to.as_path())).chain(self.staged.iter().map(|s| (s.written(), s.target())));
        let mut out = Vec::new();
        for (written, target) in files {
            if let Some((table, file)) = table_of(target) {
                out.push(PartRecord::describe(&table, &file, written)?);
            }
        }
        Ok(out)
    }

    /// Commits: journal, renames, journal removed. Until the journal is
    /// written, nothing in the run folder has changed.
    pub fn commit(self) -> Result<(), AggregateError> {
        let root = &self.run.root;
        let rel = |p: &Path| p.strip_prefix(root).map(Path::to_path_buf).unwrap_or_else(|_| p.to_path_buf());
        let mut renames: Vec<(PathBuf, PathBuf)> = self.moves.iter().map(|(a, b)| (rel(a), rel(b))).collect();
        for s in self.staged {
            let (tmp, target) = s.keep()?;
            renames.push((rel(&tmp), rel(&target)));
        }
        // A file that a rename replaces is not removed first: replaying the
        // journal after a crash would remove the new file.
        let targets: std::collections::HashSet<&PathBuf> = renames.iter().map(|(_, t)| t).collect();
        let removals: Vec<PathBuf> = self.removals.iter().map(|p| rel(p)).filter(|p| !targets.contains(p)).collect();
        let journal = Journal { renames, removals };
        let json = serde_json::to_vec(&journal).map_err(|e| AggregateError::Io { path: root.join(JOURNAL), source: std::io::Error::other(e) })?;
        crate::write_atomic(&root.join(JOURNAL), |f| std::io::Write::write_all(f, &json))?;
        self.run.apply(&journal)?;
        let j = root.join(JOURNAL);
        std::fs::remove_file(&j).map_err(|source| AggregateError::Io { path: j, source })?;
        Ok(())
    }
}

/// A part of a run as its batch's manifest records it: written once, so
/// its size and checksum say whether it is still the part that was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    pub table: String,
    /// File name inside the table's folder.
    pub file: String,
    pub rows: usize,
    pub bytes: u64,
    /// xxh3-64 of the file's bytes, 16 hex digits.
    pub xxh3: String,
}

impl PartRecord {
    /// Describes the part file at `path` (read whole, for its checksum;
    /// rows from its parquet footer).
    pub fn describe(table: &str, file: &str, path: &Path) -> Result<Self, AggregateError> {
        let (bytes, xxh3) = digest(path)?;
        let f = std::fs::File::open(path).map_err(|source| AggregateError::Io { path: path.to_path_buf(), source })?;
        use polars::prelude::SerReader;
        let rows = polars::prelude::ParquetReader::new(f).num_rows().map_err(|source| AggregateError::Read { path: path.to_path_buf(), source })?;
        Ok(Self { table: table.to_string(), file: file.to_string(), rows, bytes, xxh3 })
    }

    /// Where the part is in the run.
    pub fn path(&self, run: &RunDir) -> PathBuf {
        run.root.join(&self.table).join(&self.file)
    }
}

/// Size and xxh3-64 (hex) of a file's bytes, read in large pieces.
fn digest(path: &Path) -> Result<(u64, String), AggregateError> {
    use std::io::Read;
    let io = |source| AggregateError::Io { path: path.to_path_buf(), source };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(io)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, format!("{:016x}", h.digest())))
}

/// How closely [`RunDir::check_parts`] looks at a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// It exists with its recorded size (a stat).
    Size,
    /// And its bytes have the recorded checksum (a read).
    Checksum,
}

/// Something about a run that is not as its manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file, relative to the run folder.
    pub file: PathBuf,
    pub problem: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.problem)
    }
}

/// The batch number in a part's file name (`b000012-….parquet`: 12).
fn batch_of(file: &str) -> Option<u32> {
    file.strip_prefix('b')?.split('-').next()?.parse().ok()
}

/// The writer key of a part: 16 hex digits of a hash of what it holds
/// (its articles' ids, in order).
pub fn writer_key<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for id in ids {
        h.update(id.as_bytes());
        h.update(&[0]);
    }
    format!("{:016x}", h.digest())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = walk(dir).into_iter().map(|p| p.strip_prefix(dir).unwrap().display().to_string()).collect();
        v.sort();
        v
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }

    #[test]
    fn parts_sort_in_corpus_order_and_temporaries_are_not_parts() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::open(dir.path()).unwrap();
        let mut c = run.commit();
        for (batch, w) in [(2, "aa"), (1, "ff"), (10, "00"), (1, "0b")] {
            c.add_bytes(&run.part_path("articles", batch, w), b"x").unwrap();
        }
        c.commit().unwrap();
        let parts: Vec<String> = run.parts("articles").iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(parts, ["b000001-0b.parquet", "b000001-ff.parquet", "b000002-aa.parquet", "b000010-00.parquet"]);
        assert!(!dir.path().join(JOURNAL).exists());
    }

    #[test]
    fn a_commit_killed_before_its_journal_leaves_the_run_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::open(dir.path()).unwrap();
        let mut c = run.commit();
        c.add_bytes(&dir.path().join("events.parquet"), b"old").unwrap();
        c.commit().unwrap();
        let before = names(dir.path());
        // Staged and kept (as a killed process leaves them), never committed.
        let s = stage(&run.part_path("articles", 2, "ab"), |f| std::io::Write::write_all(f, b"new")).unwrap();
        s.keep().unwrap();
        let s = stage(&dir.path().join("events.parquet"), |f| std::io::Write::write_all(f, b"new")).unwrap();
        s.keep().unwrap();
        assert_ne!(names(dir.path()), before, "temporaries on disk");
        assert!(run.parts("articles").is_empty(), "a temporary is not a part");
        let run = RunDir::open(dir.path()).unwrap();
        assert_eq!(names(dir.path()), before);
        assert_eq!(std::fs::read(dir.path().join("events.parquet")).unwrap(), b"old");
        assert!(run.parts("articles").is_empty());
    }

    #[test]
    fn a_commit_killed_after_its_journal_is_finished_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::open(dir.path()).unwrap();
        let mut c = run.commit();
        c.add_bytes(&dir.path().join("events.parquet"), b"old").unwrap();
        c.add_bytes(&run.part_path("articles", 1, "aa"), b"a").unwrap();
        c.commit().unwrap();
        // A journal written, one rename done, the rest not.
        let (t1, p1) = stage(&run.part_path("articles", 2, "bb"), |f| std::io::Write::write_all(f, b"b")).unwrap().keep().unwrap();
        let (t2, p2) = stage(&dir.path().join("events.parquet"), |f| std::io::Write::write_all(f, b"new")).unwrap().keep().unwrap();
        let rel = |p: &Path| p.strip_prefix(dir.path()).unwrap().to_path_buf();
        let j = Journal { renames: vec![(rel(&t1), rel(&p1)), (rel(&t2), rel(&p2))], removals: vec![rel(&run.part_path("articles", 1, "aa"))] };
        std::fs::write(dir.path().join(JOURNAL), serde_json::to_vec(&j).unwrap()).unwrap();
        std::fs::rename(&t1, &p1).unwrap();
        let run = RunDir::open(dir.path()).unwrap();
        assert_eq!(std::fs::read(dir.path().join("events.parquet")).unwrap(), b"new");
        assert_eq!(run.parts("articles"), vec![p1]);
        assert!(!dir.path().join(JOURNAL).exists());
        assert_eq!(names(dir.path()), ["articles/b000002-bb.parquet", "events.parquet"]);
    }

    #[test]
    fn writer_keys_depend_on_the_ids_only() {
        assert_eq!(writer_key(["a", "b"]), writer_key(["a", "b"]));
        assert_ne!(writer_key(["a", "b"]), writer_key(["ab"]));
        assert_eq!(writer_key(["x"]).len(), 16);
    }
}
