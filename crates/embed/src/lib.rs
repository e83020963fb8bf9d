//! The embed stage: sentence vectors from a real transformer (a
//! sentence-transformers model loaded through rust-bert, by default
//! all-MiniLM-L6-v2, from local files only, computed on libtorch by the
//! [`Engine`] named) and article vectors pooled from them.
//!
//! The model lives on dedicated threads fed by a channel (tch tensors are
//! not `Sync`); everything around it (tokenising, de-duplication, pooling)
//! stays on the caller's side. A sentence's vector depends on the sentence,
//! the model, the precision, the engine and the batch shapes only ([`Shapes`]): never on
//! the other sentences, the threads or the cache.

mod cache;
mod engine;
mod files;
mod fused;
mod languages;
mod model;
mod pool;
mod precision;
mod shapes;

pub use cache::EmbeddingCache;
pub use engine::Engine;
pub use files::{Arch, ModelFiles};
pub use languages::Languages;
pub use model::{RustBertEmbedder, Threads};
pub use pool::{article_vector, PoolWeights};
pub use precision::{native_bf16, Precision};
pub use shapes::{Call, Shapes};

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
    #[error("embedding cache holds vectors computed as {cache} but the model computes {model}: they must not mix")]
    CacheMismatch { cache: String, model: String },
}

/// Vectors of the sentences at these input indices, as a model call ends.
pub type Done<'a> = dyn FnMut(&[usize], Vec<Vec<f32>>) -> Result<(), EmbedError> + 'a;

/// Turns sentences into L2-normalised vectors, one per input.
pub trait Embedder: Send + Sync {
    /// Vector length.
    fn dim(&self) -> usize;
    /// A checksum naming the model weights; the cache keys on it.
    fn model_id(&self) -> &str;
    /// The number format the vectors were computed in (resolved, never
    /// `Auto`).
    fn precision(&self) -> Precision {
        Precision::F32
    }
    /// Names how the vectors are computed besides the weights: the
    /// precision and the batch shapes (`f32-s1-1024x32-256`). The cache
    /// keys on it.
    fn numerics(&self) -> String;
    /// Embeds `sentences`, handing each model call's vectors to `done` as
    /// it finishes, with the input indices they belong to.
    fn embed_each(&self, sentences: &[&str], done: &mut Done<'_>) -> Result<(), EmbedError>;
    /// Embeds `sentences`: one vector per input, in input order;
    /// `progress(n)` is called as calls finish.
    fn embed(&self, sentences: &[&str], progress: &(dyn Fn(usize) + Sync)) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = vec![Vec::new(); sentences.len()];
        self.embed_each(sentences, &mut |who, vectors| {
            progress(who.len());
            for (&i, v) in who.iter().zip(vectors) {
                out[i] = v;
            }
            Ok(())
        })?;
        Ok(out)
    }
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
/// The cache is flushed as vectors come in, so a run killed midway keeps
/// what it embedded and the next run starts from there.
pub fn embed_cached(
    embedder: &dyn Embedder,
    cache: &mut EmbeddingCache,
    sentences: &[&str],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Vec<f32>>, EmbedError> {
    use std::collections::HashMap;
    if cache.numerics() != embedder.numerics() {
        return Err(EmbedError::CacheMismatch { cache: cache.numerics().to_string(), model: embedder.numerics() });
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
    let mut unflushed = 0;
    embedder.embed_each(&todo, &mut |who, vectors| {
        for (&t, v) in who.iter().zip(vectors) {
            let inputs = &waiting[t];
            progress(inputs.len());
            for &i in &inputs[1..] {
                out[i].clone_from(&v);
            }
            cache.insert(keys[inputs[0]], v.clone());
            out[inputs[0]] = v;
        }
        unflushed += who.len();
        if unflushed >= FLUSH_EVERY {
            cache.flush();
            unflushed = 0;
        }
        Ok(())
    })?;
    cache.flush();
    Ok(out)
}
