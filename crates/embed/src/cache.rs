//! On-disk embedding cache keyed by (model checksum, sentence text hash).
//!
//! One append-only file per model: records of a 16-byte xxh3-128 text hash
//! followed by `dim` little-endian f32. A crash can only leave a partial last
//! record, which loading ignores; so a killed run loses at most the vectors
//! of its last flush, and the next run reuses the rest.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::EmbedError;

/// Hash of a sentence's text used as the cache key.
pub fn text_key(text: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(text.as_bytes())
}

pub struct EmbeddingCache {
    path: Option<PathBuf>,
    dim: usize,
    map: HashMap<u128, Vec<f32>>,
    unsaved: Vec<u128>,
}

impl EmbeddingCache {
    /// A cache that lives only in memory.
    pub fn in_memory(dim: usize) -> Self {
        Self { path: None, dim, map: HashMap::new(), unsaved: Vec::new() }
    }

    /// Opens (or starts) the cache file for `model_id` in `dir`.
    pub fn open(dir: &Path, model_id: &str, dim: usize) -> Result<Self, EmbedError> {
        let name = format!("{}-{dim}.vec", &model_id[..model_id.len().min(16)]);
        let path = dir.join(name);
        let err = |source| EmbedError::Cache { path: path.clone(), source };
        std::fs::create_dir_all(dir).map_err(err)?;
        let mut map = HashMap::new();
        match std::fs::File::open(&path) {
            Ok(mut f) => {
                let mut bytes = Vec::new();
                f.read_to_end(&mut bytes).map_err(err)?;
                let rec = 16 + 4 * dim;
                let whole = bytes.len() / rec * rec;
                if whole != bytes.len() {
                    tracing::warn!(path = %path.display(), "embedding cache ends in a partial record (an interrupted run); ignoring it");
                }
                for r in bytes[..whole].chunks_exact(rec) {
                    let key = u128::from_le_bytes(r[..16].try_into().expect("16 bytes"));
                    let v = r[16..].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect();
                    map.insert(key, v);
                }
                if whole != bytes.len() {
                    // Cut the partial record so appends stay aligned.
                    let f = std::fs::OpenOptions::new().write(true).open(&path).map_err(err)?;
                    f.set_len(whole as u64).map_err(err)?;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(e)),
        }
        tracing::info!(path = %path.display(), entries = map.len(), "opened embedding cache");
        Ok(Self { path: Some(path), dim, map, unsaved: Vec::new() })
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn get(&self, key: u128) -> Option<&[f32]> {
        self.map.get(&key).map(Vec::as_slice)
    }

    pub fn insert(&mut self, key: u128, v: Vec<f32>) {
        if v.len() == self.dim && self.map.insert(key, v).is_none() {
            self.unsaved.push(key);
        }
    }

    /// Appends the new entries to the file. Never fails: a failed append (a
    /// full disk, say) is cut back to whole records and the cache carries on
    /// in memory with a warning, as the run's results do not depend on it.
    pub fn flush(&mut self) {
        let Some(path) = self.path.clone() else {
            self.unsaved.clear();
            return;
        };
        if self.unsaved.is_empty() {
            return;
        }
        let mut buf = Vec::with_capacity(self.unsaved.len() * (16 + 4 * self.dim));
        for k in &self.unsaved {
            buf.extend_from_slice(&k.to_le_bytes());
            for x in &self.map[k] {
                buf.extend_from_slice(&x.to_le_bytes());
            }
        }
        let mut before = None;
        let appended = std::fs::OpenOptions::new().create(true).append(true).open(&path).and_then(|mut f| {
            before = f.metadata().map(|m| m.len()).ok();
            let r = f.write_all(&buf).and_then(|()| f.sync_data());
            if r.is_err() {
                before = before.filter(|&len| f.set_len(len).is_ok());
            }
            r
        });
        if let Err(e) = appended {
            tracing::warn!(
                path = %path.display(),
                error = %e,
                "cannot append to the embedding cache; going on without saving new vectors{}",
                if before.is_some() { "" } else { " (its partial last record is dropped when it is next opened)" }
            );
            self.path = None;
        }
        self.unsaved.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_that_cannot_be_written_warns_and_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = EmbeddingCache::open(dir.path(), "abc", 3).unwrap();
        // The cache file's place is taken by a folder: appends fail.
        let file = dir.path().join("abc-3.vec");
        std::fs::create_dir(&file).unwrap();
        c.insert(text_key("a"), vec![1.0, 2.0, 3.0]);
        c.flush();
        c.insert(text_key("b"), vec![4.0, 5.0, 6.0]);
        c.flush();
        assert_eq!(c.get(text_key("b")), Some(&[4.0, 5.0, 6.0][..]), "still serves from memory");
        assert!(file.is_dir());
    }

    #[test]
    fn round_trip_and_partial_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = EmbeddingCache::open(dir.path(), "abc", 3).unwrap();
        c.insert(text_key("a"), vec![1.0, 2.0, 3.0]);
        c.insert(text_key("b"), vec![4.0, 5.0, 6.0]);
        c.flush();
        // Simulate a crash mid-append: a few stray bytes.
        let file = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
        std::fs::OpenOptions::new().append(true).open(&file).unwrap().write_all(&[1, 2, 3]).unwrap();
        let mut c = EmbeddingCache::open(dir.path(), "abc", 3).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(text_key("b")), Some(&[4.0, 5.0, 6.0][..]));
        c.insert(text_key("c"), vec![7.0, 8.0, 9.0]);
        c.flush();
        let c = EmbeddingCache::open(dir.path(), "abc", 3).unwrap();
        assert_eq!(c.len(), 3);
        // Another model id does not see these entries.
        assert!(EmbeddingCache::open(dir.path(), "other", 3).unwrap().is_empty());
    }
}
