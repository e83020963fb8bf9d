//! rust-bert's SentenceEmbeddingsModel on dedicated worker threads.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crossbeam_channel::{bounded, Sender};
use rayon::prelude::*;
use rust_bert::pipelines::common::{ModelType, TokenizerOption};
use rust_bert::pipelines::sentence_embeddings::{SentenceEmbeddingsConfig, SentenceEmbeddingsModel};
use rust_bert::resources::LocalResource;
use sha2::{Digest, Sha256};

use crate::{normalise, EmbedError, Embedder, Precision};

/// The files of a sentence-transformers model folder that rust-bert reads.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub dir: PathBuf,
}

const REQUIRED: &[&str] = &[
    "modules.json",
    "config.json",
    "model.safetensors",
    "1_Pooling/config.json",
    "sentence_bert_config.json",
    "tokenizer_config.json",
    "vocab.txt",
];

impl ModelFiles {
    /// Checks that every file rust-bert needs is present.
    pub fn open(dir: &Path) -> Result<Self, EmbedError> {
        let err = |reason: String| EmbedError::Model { dir: dir.to_path_buf(), reason };
        if !dir.is_dir() {
            return Err(err("no such folder; run `cargo xtask setup` or point STORYLINE_MODEL at an all-MiniLM-L6-v2 folder".into()));
        }
        let missing: Vec<&str> = REQUIRED.iter().copied().filter(|f| !dir.join(f).is_file()).collect();
        if !missing.is_empty() {
            return Err(err(format!("missing {}", missing.join(", "))));
        }
        Ok(Self { dir: dir.to_path_buf() })
    }

    fn res(&self, name: &str) -> Box<LocalResource> {
        Box::new(LocalResource { local_path: self.dir.join(name) })
    }

    fn config(&self, precision: Precision) -> SentenceEmbeddingsConfig {
        SentenceEmbeddingsConfig {
            modules_config_resource: self.res("modules.json"),
            transformer_type: ModelType::Bert,
            transformer_config_resource: self.res("config.json"),
            // tch dispatches on the extension: safetensors load directly.
            transformer_weights_resource: self.res("model.safetensors"),
            pooling_config_resource: self.res("1_Pooling/config.json"),
            dense_config_resource: None,
            dense_weights_resource: None,
            sentence_bert_config_resource: self.res("sentence_bert_config.json"),
            tokenizer_config_resource: self.res("tokenizer_config.json"),
            tokenizer_vocab_resource: self.res("vocab.txt"),
            tokenizer_merges_resource: None,
            device: tch::Device::Cpu,
            // rust-bert converts the weights after loading; activations
            // follow. Vectors come back as f32 either way.
            kind: precision.kind(),
        }
    }

    /// sha256 of the weights, hex.
    pub fn checksum(&self) -> Result<String, EmbedError> {
        let p = self.dir.join("model.safetensors");
        let mut f = std::fs::File::open(&p)
            .map_err(|e| EmbedError::Model { dir: self.dir.clone(), reason: format!("cannot read model.safetensors: {e}") })?;
        let mut h = Sha256::new();
        std::io::copy(&mut f, &mut h)
            .map_err(|e| EmbedError::Model { dir: self.dir.clone(), reason: format!("cannot read model.safetensors: {e}") })?;
        Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }
}

type Job = (Vec<String>, Sender<Result<Vec<Vec<f32>>, EmbedError>>);

/// How the model uses the cores: `workers` model threads (each with its own
/// copy of the weights) taking batches from one queue, each running
/// libtorch with `intra` threads. On small CPUs several single-threaded
/// workers beat one multi-threaded model: a MiniLM batch has too little work
/// per operator for libtorch's intra-op threads to keep every core busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threads {
    pub workers: usize,
    pub intra: usize,
}

impl Threads {
    /// `cores` cores (0: all of them) as single-threaded workers.
    pub fn for_cores(cores: usize) -> Self {
        let cores = if cores == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { cores };
        Self { workers: cores, intra: 1 }
    }
}

/// all-MiniLM-L6-v2 through rust-bert.
pub struct RustBertEmbedder {
    jobs: Mutex<Option<Sender<Job>>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    workers: usize,
    tokenizer: TokenizerOption,
    max_tokens: usize,
    batch_size: usize,
    batch_tokens: usize,
    sort_by_length: bool,
    dim: usize,
    model_id: String,
    precision: Precision,
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "panic".into())
}

impl RustBertEmbedder {
    /// Loads the model on `cores` single-threaded workers (0: all cores);
    /// see [`Threads`].
    pub fn load(files: &ModelFiles, batch_size: usize, cores: usize, precision: Precision) -> Result<Self, EmbedError> {
        Self::load_with(files, batch_size, Threads::for_cores(cores), precision)
    }

    /// Loads the model with an explicit thread layout. The vectors do not
    /// depend on it: a batch is computed the same way by any worker.
    /// `precision` is resolved here (`Auto` becomes `F32` or `Bf16`).
    pub fn load_with(files: &ModelFiles, batch_size: usize, threads: Threads, precision: Precision) -> Result<Self, EmbedError> {
        let precision = precision.resolve();
        let model_id = files.checksum()?;
        let model_err = |reason: String| EmbedError::Model { dir: files.dir.clone(), reason };
        // A tokenizer of our own, for token counts off the model threads.
        let tokenizer = TokenizerOption::from_file(
            ModelType::Bert,
            &files.dir.join("vocab.txt").to_string_lossy(),
            None,
            true,
            None,
            None,
        )
        .map_err(|e| model_err(format!("cannot load vocab.txt: {e}")))?;
        let workers = threads.workers.max(1);
        let (job_tx, job_rx) = bounded::<Job>(workers);
        let (ready_tx, ready_rx) = bounded::<Result<usize, String>>(workers);
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            let (config, job_rx, ready_tx) = (files.config(precision), job_rx.clone(), ready_tx.clone());
            let intra = threads.intra;
            let handle = std::thread::Builder::new()
                .name(format!("storyline-embed-{w}"))
                .spawn(move || worker(config, intra, &job_rx, &ready_tx))
                .map_err(|e| model_err(format!("cannot start a model thread: {e}")))?;
            handles.push(handle);
        }
        drop(ready_tx);
        let mut dim = 0;
        for _ in 0..workers {
            dim = match ready_rx.recv() {
                Ok(Ok(d)) if d > 0 => d,
                Ok(Ok(_)) => return Err(model_err("model reports no embedding size".into())),
                Ok(Err(e)) => return Err(model_err(format!("cannot load the model: {e}"))),
                Err(_) => return Err(model_err("a model thread died while loading".into())),
            };
        }
        tracing::info!(dir = %files.dir.display(), dim, workers, intra = threads.intra, %precision, "loaded sentence-embedding model");
        Ok(Self {
            jobs: Mutex::new(Some(job_tx)),
            threads: Mutex::new(handles),
            workers,
            tokenizer,
            max_tokens: 256,
            batch_size: batch_size.max(1),
            batch_tokens: 0,
            sort_by_length: true,
            dim,
            model_id,
            precision,
        })
    }

    /// Caps a batch at `tokens` padded tokens (sentences x the longest one;
    /// 0: no cap, only the batch size): long sentences go in small batches,
    /// short ones in large. Needs length sorting.
    pub fn set_batch_tokens(&mut self, tokens: usize) {
        self.batch_tokens = tokens;
    }

    /// Turns length sorting off (for benchmarks: it is on by default).
    pub fn set_sort_by_length(&mut self, on: bool) {
        self.sort_by_length = on;
    }

    /// Number of word-piece tokens the model sees for `text` (with [CLS]/[SEP]).
    pub fn token_count(&self, text: &str) -> usize {
        (self.tokenizer.tokenize(text).len() + 2).min(self.max_tokens)
    }

    fn sender(&self) -> Result<Sender<Job>, EmbedError> {
        self.jobs.lock().map_err(|_| EmbedError::ThreadGone)?.clone().ok_or(EmbedError::ThreadGone)
    }
}

/// One model thread: loads its copy of the model, then embeds batches until
/// the queue closes.
fn worker(
    config: SentenceEmbeddingsConfig,
    intra: usize,
    jobs: &crossbeam_channel::Receiver<Job>,
    ready: &Sender<Result<usize, String>>,
) {
    if intra > 0 {
        // libtorch keeps the intra-op thread count per calling thread.
        tch::set_num_threads(intra as i32);
    }
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| SentenceEmbeddingsModel::new(config)));
    let model = match loaded {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
        Err(p) => {
            let _ = ready.send(Err(panic_message(p)));
            return;
        }
    };
    let dim = model.get_embedding_dim().map(|d| d as usize).unwrap_or(0);
    let _ = ready.send(Ok(dim));
    for (batch, reply) in jobs {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.encode(&batch)));
        let out = match out {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(EmbedError::Inference(e.to_string())),
            Err(p) => Err(EmbedError::Inference(panic_message(p))),
        };
        let _ = reply.send(out);
    }
}

impl Drop for RustBertEmbedder {
    fn drop(&mut self) {
        if let Ok(mut j) = self.jobs.lock() {
            j.take();
        }
        let handles = self.threads.lock().map(|mut t| std::mem::take(&mut *t)).unwrap_or_default();
        for t in handles {
            let _ = t.join();
        }
    }
}

impl Embedder for RustBertEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn precision(&self) -> Precision {
        self.precision
    }

    /// Sorts by token length so each batch pads little, embeds batch by
    /// batch on the model thread, and returns vectors in input order.
    fn embed(&self, sentences: &[&str], progress: &(dyn Fn(usize) + Sync)) -> Result<Vec<Vec<f32>>, EmbedError> {
        if sentences.is_empty() {
            return Ok(Vec::new());
        }
        let mut order: Vec<usize> = (0..sentences.len()).collect();
        let mut lens = Vec::new();
        if self.sort_by_length {
            lens = sentences.par_iter().map(|s| self.token_count(s)).collect();
            // Stable sort: equal lengths keep input order, so batches are the
            // same for the same input whatever the thread count.
            order.sort_by_key(|&i| lens[i]);
        }
        let batches = batches(&order, &lens, self.batch_size, self.batch_tokens);
        let tx = self.sender()?;
        let mut out = vec![Vec::new(); sentences.len()];
        // Keep every worker busy, plus one batch queued behind them.
        let mut pending = std::collections::VecDeque::new();
        // Longest batches first: the workers finish together instead of one
        // of them ending the run alone on the longest sentences.
        for chunk in batches.into_iter().rev() {
            let batch: Vec<String> = chunk.iter().map(|&i| sentences[i].to_string()).collect();
            let (rtx, rrx) = bounded(1);
            tx.send((batch, rtx)).map_err(|_| EmbedError::ThreadGone)?;
            pending.push_back((chunk, rrx));
            if pending.len() > self.workers {
                let (chunk, rrx) = pending.pop_front().expect("pending");
                receive(chunk, rrx, &mut out, progress)?;
            }
        }
        while let Some((chunk, rrx)) = pending.pop_front() {
            receive(chunk, rrx, &mut out, progress)?;
        }
        Ok(out)
    }
}

/// Cuts `order` into batches of at most `size` sentences and, when `tokens`
/// is set and lengths are known (ascending), at most `tokens` padded tokens.
fn batches<'a>(order: &'a [usize], lens: &[usize], size: usize, tokens: usize) -> Vec<&'a [usize]> {
    if tokens == 0 || lens.is_empty() {
        return order.chunks(size).collect();
    }
    let mut out = Vec::new();
    let mut start = 0;
    for (k, &i) in order.iter().enumerate() {
        let n = k - start + 1;
        if n > size || (n > 1 && n * lens[i] > tokens) {
            out.push(&order[start..k]);
            start = k;
        }
    }
    if start < order.len() {
        out.push(&order[start..]);
    }
    out
}

fn receive(
    chunk: &[usize],
    rrx: crossbeam_channel::Receiver<Result<Vec<Vec<f32>>, EmbedError>>,
    out: &mut [Vec<f32>],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<(), EmbedError> {
    let vecs = rrx.recv().map_err(|_| EmbedError::ThreadGone)??;
    if vecs.len() != chunk.len() {
        return Err(EmbedError::Inference(format!("model returned {} vectors for {} sentences", vecs.len(), chunk.len())));
    }
    for (&i, mut v) in chunk.iter().zip(vecs) {
        normalise(&mut v);
        out[i] = v;
    }
    progress(chunk.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::batches;

    #[test]
    fn batches_respect_size_and_token_cap() {
        let order: Vec<usize> = (0..7).collect();
        let lens = [5, 5, 10, 10, 10, 30, 300];
        let sizes = |b: Vec<&[usize]>| b.iter().map(|x| x.len()).collect::<Vec<_>>();
        assert_eq!(sizes(batches(&order, &lens, 3, 0)), vec![3, 3, 1]);
        // 30 padded tokens at most; a sentence longer than the cap goes alone.
        assert_eq!(sizes(batches(&order, &lens, 64, 30)), vec![3, 2, 1, 1]);
        assert_eq!(sizes(batches(&order, &[], 4, 30)), vec![4, 3], "no lengths: size only");
    }
}
