//! The embed stage: sentence vectors from a real transformer
//! (sentence-transformers all-MiniLM-L6-v2 through rust-bert, loaded from
//! local files only) and article vectors pooled from them.
//!
//! The model lives on one dedicated thread fed by a channel (tch tensors are
//! not `Sync`); everything around it — tokenising for length sorting,
//! de-duplication, pooling — stays rayon-parallel on the caller's side.

mod cache;
mod model;
mod pool;
mod precision;

pub use cache::EmbeddingCache;
pub use model::{ModelFiles, RustBertEmbedder, Threads};
pub use pool::{article_vector, PoolWeights};
pub use precision::{native_bf16, Precision};

/// Errors of the embed stage.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("model folder {dir}: {reason}")]
    Model { dir: std::path::PathBuf, reason: String },
    #[error("the embedding model failed: {0}")]
    Inference(String),
    #[error("the model thread is gone (it panicked or was shut down)")]
    ThreadGone,
    #[error("embedding cache {path}: {source}")]
    Cache { path: std::path::PathBuf, source: std::io::Error },
    #[error("embedding cache holds {cache} vectors but the model computes in {model}: they must not mix")]
    CacheMismatch { cache: Precision, model: Precision },
}

/// Turns sentences into L2-normalised vectors, one per input, in input order.
pub trait Embedder: Send + Sync {
    /// Vector length.
    fn dim(&self) -> usize;
    /// A checksum naming the model weights; the cache keys on it.
    fn model_id(&self) -> &str;
    /// The number format the vectors were computed in (resolved, never
    /// `Auto`); the cache keys on it too.
    fn precision(&self) -> Precision {
        Precision::F32
    }
    /// Embeds `sentences`; `progress(n)` is called as batches finish.
    fn embed(&self, sentences: &[&str], progress: &(dyn Fn(usize) + Sync)) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// Scales `v` to unit length (leaves a zero vector alone).
pub fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// Sentences embedded between two flushes of the cache file.
const FLUSH_EVERY: usize = 1024;

/// Embeds `sentences` through `cache`: texts already cached are not embedded
/// again, identical texts are embedded once. Returns one vector per input.
pub fn embed_cached(
    embedder: &dyn Embedder,
    cache: &mut EmbeddingCache,
    sentences: &[&str],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Vec<f32>>, EmbedError> {
    use std::collections::HashMap;
    if cache.precision() != embedder.precision() {
        return Err(EmbedError::CacheMismatch { cache: cache.precision(), model: embedder.precision() });
    }
    let keys: Vec<u128> = sentences.iter().map(|s| cache::text_key(s)).collect();
    let mut out: Vec<Vec<f32>> = vec![Vec::new(); sentences.len()];
    // Distinct texts to embed, each with the inputs that share it.
    let mut todo: Vec<&str> = Vec::new();
    let mut waiting: Vec<Vec<usize>> = Vec::new();
    let mut slot: HashMap<u128, usize> = HashMap::new();
    let mut cached = 0;
    for (i, (s, k)) in sentences.iter().zip(&keys).enumerate() {
        if let Some(&t) = slot.get(k) {
            waiting[t].push(i);
        } else if let Some(v) = cache.get(*k) {
            out[i] = v;
            cached += 1;
        } else {
            slot.insert(*k, todo.len());
            todo.push(s);
            waiting.push(vec![i]);
        }
    }
    progress(cached);
    tracing::info!(total = sentences.len(), cached, to_embed = todo.len(), "embedding sentences");
    // Chunks, each flushed to the cache file as it completes: a run killed
    // midway keeps what it embedded, and the next run starts from there.
    for (c, chunk) in todo.chunks(FLUSH_EVERY).enumerate() {
        let fresh = embedder.embed(chunk, &|n| progress(n))?;
        for (t, v) in fresh.into_iter().take(chunk.len()).enumerate() {
            let who = &waiting[c * FLUSH_EVERY + t];
            for &i in &who[1..] {
                out[i].clone_from(&v);
            }
            cache.insert(keys[who[0]], v.clone());
            out[who[0]] = v;
        }
        cache.flush();
    }
    progress(sentences.len() - cached - todo.len());
    Ok(out)
}
