//! One run of the pipeline over a set of inputs into an output folder.

use std::path::PathBuf;
use std::time::Instant;

use embed::{embed_cached, Embedder, EmbeddingCache, ModelFiles, RustBertEmbedder};
use ingest::Article;

use crate::manifest::{InputFile, Manifest};
use crate::{PipelineError, Progress, Settings};

/// Where a run reads and writes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub model_dir: PathBuf,
    /// Embedding cache folder; `None` keeps the cache in memory only.
    pub cache_dir: Option<PathBuf>,
    /// libtorch intra-op threads for the model (0: libtorch's default).
    pub model_threads: usize,
}

/// What a run produced, for the summary and for evaluation.
pub struct RunReport {
    pub articles: Vec<Article>,
    pub rejects: Vec<ingest::Reject>,
    pub warnings: usize,
    pub clustering: cluster::Clustering,
    /// Vectors, for re-clustering with other settings.
    pub embedded: Embedded,
    pub manifest: Manifest,
}

/// The cache folder `cargo xtask setup` installs into (see
/// [`cache_paths::cache_dir`]); the working folder's `.cache/storyline` when
/// not even $HOME is set.
pub fn default_cache_dir() -> PathBuf {
    cache_paths::cache_dir().unwrap_or_else(|| PathBuf::from(".cache").join("storyline"))
}

/// $STORYLINE_MODEL, else the model `cargo xtask setup` installed.
pub fn default_model_dir() -> PathBuf {
    cache_paths::model_dir(&default_cache_dir())
}

/// Sentence and article vectors of a corpus.
pub struct Embedded {
    pub dim: usize,
    pub model_id: String,
    /// One vector per article (empty for an article with nothing to embed).
    pub articles: Vec<Vec<f32>>,
    /// (article index, sentence index; -1 for the title, vector)
    pub sentences: Vec<(usize, i32, Vec<f32>)>,
}

/// Embeds titles and sentences of `articles` (through the cache) and pools
/// them into article vectors.
pub fn embed_articles(
    articles: &[Article],
    embedder: &dyn Embedder,
    cache: &mut EmbeddingCache,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<Embedded, PipelineError> {
    let mut keys: Vec<(usize, i32)> = Vec::new();
    let mut texts: Vec<&str> = Vec::new();
    for (i, a) in articles.iter().enumerate() {
        if let Some(t) = &a.title {
            keys.push((i, -1));
            texts.push(t);
        }
        for (j, s) in a.sentences().enumerate() {
            keys.push((i, j as i32));
            texts.push(s);
        }
    }
    progress.start("embed", texts.len() as u64, "sentences");
    let vectors = embed_cached(embedder, cache, &texts, &|n| progress.inc(n as u64))?;
    progress.finish();
    let weights = settings.embed.pool_weights();
    let mut per_article: Vec<(Option<usize>, Vec<usize>)> = vec![(None, Vec::new()); articles.len()];
    for (k, &(i, j)) in keys.iter().enumerate() {
        if j < 0 {
            per_article[i].0 = Some(k);
        } else {
            per_article[i].1.push(k);
        }
    }
    let article_vectors = per_article
        .iter()
        .map(|(t, s)| {
            let title = t.map(|k| vectors[k].as_slice());
            let sents: Vec<&[f32]> = s.iter().map(|&k| vectors[k].as_slice()).collect();
            embed::article_vector(title, &sents, weights)
        })
        .collect();
    let sentences = keys.into_iter().zip(vectors).map(|((i, j), v)| (i, j, v)).collect();
    Ok(Embedded { dim: embedder.dim(), model_id: embedder.model_id().to_string(), articles: article_vectors, sentences })
}

/// Clusters embedded articles with the given settings.
pub fn cluster_articles(articles: &[Article], embedded: &Embedded, settings: &Settings) -> cluster::Clustering {
    let index: std::collections::HashMap<&str, usize> = articles.iter().enumerate().map(|(i, a)| (a.id.as_str(), i)).collect();
    // Title (index -1) and the first lead sentences of each article.
    let k = settings.cluster.lead_sentences as i32;
    let mut leads: Vec<Vec<&[f32]>> = vec![Vec::new(); articles.len()];
    for (i, j, v) in &embedded.sentences {
        if *j < k && !v.is_empty() {
            leads[*i].push(v);
        }
    }
    let docs: Vec<cluster::Doc<'_>> = articles
        .iter()
        .zip(&embedded.articles)
        .zip(&leads)
        .map(|((a, v), lead)| cluster::Doc {
            vector: v,
            lead,
            title: a.title.as_deref(),
            text: &a.text,
            date: a.date,
            duplicate_of: a.duplicate_of.as_deref().and_then(|d| index.get(d).copied()),
        })
        .collect();
    cluster::cluster(&docs, &settings.cluster)
}

/// Runs ingest -> embed -> cluster -> aggregate and writes every output.
pub fn run(opts: &RunOptions, settings: &Settings, progress: &dyn Progress) -> Result<RunReport, PipelineError> {
    let started = chrono::Utc::now();
    let mut times = Vec::new();

    let t = Instant::now();
    let files = ingest::discover(&opts.inputs, &mut Vec::new());
    progress.start("ingest", files.len() as u64, "files");
    let ingested = ingest::ingest_paths_with_progress(&opts.inputs, &settings.ingest_options(), &|_| progress.inc(1));
    progress.finish();
    times.push(("ingest", t.elapsed().as_secs_f64()));
    for w in &ingested.warnings {
        tracing::debug!(origin = %w.origin, id = %w.id, "{}", w.message);
    }
    if ingested.articles.is_empty() {
        return Err(PipelineError::NoArticles { rejects: ingested.rejects.len() });
    }

    let t = Instant::now();
    let files_model = ModelFiles::open(&opts.model_dir)?;
    let mut embedder = RustBertEmbedder::load(&files_model, settings.embed.batch_size, opts.model_threads)?;
    embedder.set_batch_tokens(settings.embed.batch_tokens);
    let mut cache = match &opts.cache_dir {
        Some(dir) => EmbeddingCache::open(&dir.join("embeddings"), embedder.model_id(), embedder.dim())?,
        None => EmbeddingCache::in_memory(embedder.dim()),
    };
    let embedded = embed_articles(&ingested.articles, &embedder, &mut cache, settings, progress)?;
    drop(embedder);
    times.push(("embed", t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let clustering = cluster_articles(&ingested.articles, &embedded, settings);
    times.push(("cluster", t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let mut staged = crate::manifest::write_outputs(&opts.out, &ingested.articles, &ingested.rejects, &embedded, &clustering)?;
    times.push(("aggregate", t.elapsed().as_secs_f64()));
    let mut counts = std::mem::take(&mut staged.counts);

    let inputs = ingested.files.iter().map(|f| InputFile::describe(f)).collect();
    counts.sort();
    let manifest = Manifest::new(started, settings, &embedded.model_id, inputs, counts, times, ingested.warnings.len(), ingested.rejects.len());
    let manifest_file = manifest.stage(&opts.out.join("manifest.json"))?;
    staged.commit(manifest_file)?;
    Ok(RunReport {
        warnings: ingested.warnings.len(),
        articles: ingested.articles,
        rejects: ingested.rejects,
        clustering,
        embedded,
        manifest,
    })
}

/// Article ids, for tables keyed by them.
pub(crate) fn ids(articles: &[Article]) -> Vec<&str> {
    articles.iter().map(|a| a.id.as_str()).collect()
}
