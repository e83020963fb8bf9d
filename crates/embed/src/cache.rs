//! On-disk embedding cache keyed by (model checksum, numerics, sentence
//! text hash), where the numerics are the precision and the batch shapes
//! the vectors were computed in ([`crate::Embedder::numerics`]).
//!
//! One append-only file per model and numerics
//! (`<model>-<dim>-<numerics>.vec`, so vectors of another precision or
//! other shapes never mix, and a cached vector is bit for bit the one the
//! model would compute now): records of a 16-byte xxh3-128 text hash
//! followed by `dim` little-endian f32. A crash can only leave a partial last
//! record, which loading ignores; so a killed run loses at most the vectors
//! of its last flush, and the next run reuses the rest.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::EmbedError;

/// Hash of a sentence's text used as the cache key.
pub fn text_key(text: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(text.as_bytes())
}

/// Only the index lives in memory (key -> where its vector is in the file,
/// some 40 bytes a sentence); vectors are read from the file when asked
/// for, so a cache of millions of sentences costs no more than its index.
pub struct EmbeddingCache {
    path: Option<PathBuf>,
    /// Read handle of the cache file.
    file: Option<std::fs::File>,
    dim: usize,
    numerics: String,
    index: HashMap<u128, u64>,
    /// Inserted since the last flush, in order.
    unsaved: Vec<(u128, Vec<f32>)>,
}

impl EmbeddingCache {
    /// A cache that keeps nothing: every call embeds what it is given (each
    /// distinct text once).
    pub fn in_memory(dim: usize, numerics: &str) -> Self {
        Self { path: None, file: None, dim, numerics: numerics.to_string(), index: HashMap::new(), unsaved: Vec::new() }
    }

    /// Opens (or starts) the cache file in `dir` for `model_id` computed
    /// with `numerics` (see [`crate::Embedder::numerics`]).
    pub fn open(dir: &Path, model_id: &str, numerics: &str, dim: usize) -> Result<Self, EmbedError> {
        let model = &model_id[..model_id.len().min(16)];
        let path = dir.join(format!("{model}-{dim}-{numerics}.vec"));
        let err = |source| EmbedError::Cache { path: path.clone(), source };
        std::fs::create_dir_all(dir).map_err(err)?;
        let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(err)?;
        let len = file.metadata().map_err(err)?.len();
        let rec = (16 + 4 * dim) as u64;
        let whole = len / rec * rec;
        if whole != len {
            tracing::warn!(path = %path.display(), "embedding cache ends in a partial record (an interrupted run); ignoring it");
            // Cut the partial record so appends stay aligned.
            file.set_len(whole).map_err(err)?;
        }
        // Read the keys only, in large sequential reads.
        let mut index = HashMap::with_capacity((whole / rec) as usize);
        let mut reader = std::io::BufReader::with_capacity(1 << 20, &file);
        let mut buf = vec![0u8; rec as usize];
        for r in 0..whole / rec {
            reader.read_exact(&mut buf).map_err(err)?;
            let key = u128::from_le_bytes(buf[..16].try_into().expect("16 bytes"));
            index.insert(key, r * rec + 16);
        }
        tracing::info!(path = %path.display(), entries = index.len(), "opened embedding cache");
        Ok(Self { path: Some(path), file: Some(file), dim, numerics: numerics.to_string(), index, unsaved: Vec::new() })
    }

    /// The numerics of the vectors this cache holds.
    pub fn numerics(&self) -> &str {
        &self.numerics
    }

    /// Vectors stored in the file.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The vector stored for `key` (read from the file), if any.
    pub fn get(&self, key: u128) -> Option<Vec<f32>> {
        if let Some((_, v)) = self.unsaved.iter().find(|(k, _)| *k == key) {
            return Some(v.clone());
        }
        let at = *self.index.get(&key)?;
        let mut bytes = vec![0u8; 4 * self.dim];
        self.file.as_ref()?.read_exact_at(&mut bytes, at).ok()?;
        Some(bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect())
    }

    /// Whether `key` is stored (without reading its vector).
    pub fn contains(&self, key: u128) -> bool {
        self.index.contains_key(&key)
    }

    /// Queues a vector for the next flush.
    pub fn insert(&mut self, key: u128, v: Vec<f32>) {
        if v.len() == self.dim && !self.index.contains_key(&key) {
            self.unsaved.push((key, v));
        }
    }

    /// Appends the new entries to the file. Never fails: a failed append (a
    /// full disk, say) is cut back to whole records and the cache carries on
    /// without saving, with a warning, as the run's results do not depend on it.
    pub fn flush(&mut self) {
        let unsaved = std::mem::take(&mut self.unsaved);
        let (Some(path), Some(file)) = (self.path.clone(), self.file.as_ref()) else {
            return;
        };
        if unsaved.is_empty() {
            return;
        }
        let mut buf = Vec::with_capacity(unsaved.len() * (16 + 4 * self.dim));
        for (k, v) in &unsaved {
            buf.extend_from_slice(&k.to_le_bytes());
            for x in v {
                buf.extend_from_slice(&x.to_le_bytes());
            }
        }
        let start = file.metadata().map(|m| m.len());
        let appended = start.and_then(|start| {
            let r = file.write_all_at(&buf, start).and_then(|()| file.sync_data());
            if r.is_err() {
                let _ = file.set_len(start);
            }
            r.map(|()| start)
        });
        match appended {
            Ok(start) => {
                let rec = (16 + 4 * self.dim) as u64;
                for (i, (k, _)) in unsaved.iter().enumerate() {
                    self.index.insert(*k, start + i as u64 * rec + 16);
                }
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot append to the embedding cache; going on without saving new vectors");
                self.path = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_cache_that_cannot_be_written_warns_and_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = EmbeddingCache::open(dir.path(), "abc", "f32-s1", 3).unwrap();
        // Appends fail as on a full disk.
        c.file = Some(std::fs::File::open("/dev/full").unwrap());
        c.insert(text_key("a"), vec![1.0, 2.0, 3.0]);
        c.flush();
        c.insert(text_key("b"), vec![4.0, 5.0, 6.0]);
        c.flush();
        assert_eq!(c.get(text_key("b")), None, "nothing saved, nothing claimed");
        assert!(c.is_empty());
    }

    #[test]
    fn round_trip_and_partial_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = EmbeddingCache::open(dir.path(), "abc", "f32-s1", 3).unwrap();
        c.insert(text_key("a"), vec![1.0, 2.0, 3.0]);
        c.insert(text_key("b"), vec![4.0, 5.0, 6.0]);
        c.flush();
        // Simulate a crash mid-append: a few stray bytes.
        let file = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
        std::fs::OpenOptions::new().append(true).open(&file).unwrap().write_all(&[1, 2, 3]).unwrap();
        let mut c = EmbeddingCache::open(dir.path(), "abc", "f32-s1", 3).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(text_key("b")), Some(vec![4.0, 5.0, 6.0]));
        c.insert(text_key("c"), vec![7.0, 8.0, 9.0]);
        c.flush();
        let c = EmbeddingCache::open(dir.path(), "abc", "f32-s1", 3).unwrap();
        assert_eq!(c.len(), 3);
        // Another model id does not see these entries.
        assert!(EmbeddingCache::open(dir.path(), "other", "f32-s1", 3).unwrap().is_empty());
        // Nor do bf16 vectors of the same model, nor vectors of other shapes.
        assert!(EmbeddingCache::open(dir.path(), "abc", "bf16-s1", 3).unwrap().is_empty());
        assert!(EmbeddingCache::open(dir.path(), "abc", "f32-s2", 3).unwrap().is_empty());
    }
}
