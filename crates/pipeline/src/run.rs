//! A run, and an add: ingest -> embed -> cluster -> aggregate into a run
//! folder that grows by parts (see `aggregate::RunDir`).
//!
//! A run is an add into an empty folder: it replaces whatever the folder
//! held. An add ingests and embeds only the new batch, writes its parts,
//! clusters the whole corpus (reading the earlier batches' articles and
//! vectors back from their parts) and carries the earlier event and story
//! ids over (`cluster::carry_ids`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use aggregate::{RunDir, Stamp, StagedParquet};
use embed::{embed_cached, Embedder, EmbeddingCache, ModelFiles, RustBertEmbedder};
use ingest::Article;

use crate::manifest::{BatchRecord, InputFile, Manifest};
use crate::{PipelineError, Progress, Settings};

/// Where a run reads and writes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub model_dir: PathBuf,
    /// Embedding cache folder; `None` keeps no cache.
    pub cache_dir: Option<PathBuf>,
    /// Cores for the model (0: all): one single-threaded model worker each.
    pub model_threads: usize,
    /// Whether to wait for another writer of `out` to finish (else fail at
    /// once, naming it).
    pub wait: aggregate::Wait,
}

/// What a run or an add produced, for the summary and for evaluation.
pub struct RunReport {
    /// The whole corpus, earlier batches first.
    pub articles: Vec<Article>,
    /// Articles this batch added (the last `added` of `articles`).
    pub added: usize,
    /// Input records skipped because their id was already in the run.
    pub known: usize,
    /// This batch's rejects.
    pub rejects: Vec<ingest::Reject>,
    /// Files and records under the inputs that hold no articles.
    pub inputs: ingest::InputsSeen,
    pub warnings: usize,
    /// Groups (0..n) of the whole corpus.
    pub clustering: cluster::Clustering,
    /// Each article's event and story id (the ids that last across adds).
    pub event_ids: Vec<u32>,
    pub story_ids: Vec<u32>,
    /// Vectors, for re-clustering with other settings.
    pub embedded: Embedded,
    pub manifest: Manifest,
    /// False when an add found nothing new and left the run as it was.
    pub committed: bool,
}

impl RunReport {
    /// An add that found nothing new: the run is as it was.
    pub(crate) fn nothing_new(
        manifest: Manifest,
        precision: embed::Precision,
        known: usize,
        rejects: Vec<ingest::Reject>,
        inputs: ingest::InputsSeen,
        warnings: usize,
    ) -> Self {
        RunReport {
            articles: Vec::new(),
            added: 0,
            known,
            rejects,
            inputs,
            warnings,
            clustering: cluster::Clustering { event: Vec::new(), story: Vec::new(), n_events: 0, n_stories: 0 },
            event_ids: Vec::new(),
            story_ids: Vec::new(),
            embedded: Embedded {
                dim: 0,
                model_id: manifest.model_sha256.clone(),
                precision,
                numerics: manifest.embed_numerics.clone(),
                languages: manifest.embed_languages.clone(),
                articles: Vec::new(),
                leads: Vec::new(),
            },
            manifest,
            committed: false,
        }
    }
}

/// Tables an add reads back from the earlier batches: their parts' checksums
/// are checked before they are read.
pub(crate) const READ_BACK: &[&str] = &["articles", "embeddings", "traces"];

/// Appends the earlier batches of the run in `dir` (their articles and
/// vectors) to `corpus` and `embedded`, and checks that they are as many as
/// `manifest` counts: a part gone from a run written before batches
/// recorded their parts is an error, never a smaller corpus.
pub(crate) fn read_run_into(dir: &RunDir, manifest: &Manifest, corpus: &mut Vec<Article>, embedded: &mut Embedded) -> Result<(), PipelineError> {
    let before = corpus.len();
    read_parts_into(dir, corpus, embedded)?;
    let read = corpus.len() - before;
    match manifest.rows_of("articles") {
        Some(n) if n != read => Err(PipelineError::RunDamaged {
            run: dir.root().to_path_buf(),
            findings: vec![format!("articles/: its parts hold {read} articles, the manifest counts {n}")],
        }),
        _ => Ok(()),
    }
}

/// Appends the articles of a run's parts (or a shard's) and their vectors
/// to `corpus` and `embedded`.
pub(crate) fn read_parts_into(run: &RunDir, corpus: &mut Vec<Article>, embedded: &mut Embedded) -> Result<(), PipelineError> {
    let mut vectors = aggregate::read_embeddings(run)?;
    for a in aggregate::read_articles(run)? {
        let (v, l) = vectors.remove(&a.id).unwrap_or_default();
        embedded.articles.push(v);
        embedded.leads.push(l);
        corpus.push(a);
    }
    Ok(())
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

/// What clustering needs of a corpus's embeddings: one vector per article,
/// and the vectors of its title (if it has one) and lead sentences. The
/// other sentence vectors go to disk as they are embedded.
#[derive(Clone)]
pub struct Embedded {
    pub dim: usize,
    pub model_id: String,
    /// What the model computed in (resolved: never `Auto`).
    pub precision: embed::Precision,
    /// How: the precision and the call shapes (`Embedder::numerics`).
    pub numerics: String,
    /// The languages the model reads: articles in others are clustered on
    /// their words alone.
    pub languages: embed::Languages,
    /// One vector per article (empty for an article with nothing to embed).
    pub articles: Vec<Vec<f32>>,
    /// Per article: its title's vector (when it has a title), then its
    /// first `cluster.lead_sentences` sentences' vectors.
    pub leads: Vec<Vec<Vec<f32>>>,
}

/// Articles embedded per round: the sentence vectors of one round are in
/// memory at a time, then written to the batch's part.
const ARTICLES_PER_ROUND: usize = 1000;

/// Embeds the titles and sentences of `articles` (through the cache),
/// pools them into article vectors, and writes every sentence vector to
/// `sink` (rows of `sentence_embeddings`) round by round.
pub fn embed_articles(
    articles: &[Article],
    embedder: &dyn Embedder,
    cache: &mut EmbeddingCache,
    settings: &Settings,
    progress: &dyn Progress,
    mut sink: impl FnMut(&[&str], &[i32], &[Vec<f32>]) -> Result<(), PipelineError>,
) -> Result<Embedded, PipelineError> {
    let total: usize = articles.iter().map(|a| a.sentence_spans.len() + usize::from(a.title.is_some())).sum();
    progress.start("embed", total as u64, "sentences");
    let weights = settings.embed.pool_weights();
    let lead_k = settings.cluster.lead_sentences;
    let mut vectors_out = Vec::with_capacity(articles.len());
    let mut leads_out = Vec::with_capacity(articles.len());
    for round in articles.chunks(ARTICLES_PER_ROUND) {
        let mut keys: Vec<(usize, i32)> = Vec::new();
        let mut texts: Vec<&str> = Vec::new();
        for (i, a) in round.iter().enumerate() {
            if let Some(t) = &a.title {
                keys.push((i, -1));
                texts.push(t);
            }
            for (j, s) in a.sentences().enumerate() {
                keys.push((i, j as i32));
                texts.push(s);
            }
        }
        let vectors = embed_cached(embedder, cache, &texts, &|n| progress.inc(n as u64))?;
        let mut title: Vec<Option<usize>> = vec![None; round.len()];
        let mut body: Vec<Vec<usize>> = vec![Vec::new(); round.len()];
        for (k, &(i, j)) in keys.iter().enumerate() {
            if j < 0 {
                title[i] = Some(k);
            } else {
                body[i].push(k);
            }
        }
        for (t, b) in title.iter().zip(&body) {
            let sents: Vec<&[f32]> = b.iter().map(|&k| vectors[k].as_slice()).collect();
            vectors_out.push(embed::article_vector(t.map(|k| vectors[k].as_slice()), &sents, weights));
            let lead = t.iter().chain(b.iter().take(lead_k)).map(|&k| vectors[k].clone()).filter(|v| !v.is_empty());
            leads_out.push(lead.collect::<Vec<_>>());
        }
        let ids: Vec<&str> = keys.iter().map(|&(i, _)| round[i].id.as_str()).collect();
        let index: Vec<i32> = keys.iter().map(|&(_, j)| j).collect();
        sink(&ids, &index, &vectors)?;
    }
    progress.finish();
    Ok(Embedded {
        dim: embedder.dim(),
        model_id: embedder.model_id().to_string(),
        precision: embedder.precision(),
        numerics: embedder.numerics(),
        languages: embed::Languages::default(),
        articles: vectors_out,
        leads: leads_out,
    })
}

/// Embeds a batch's articles (loading the model), streaming their sentence
/// vectors into the batch's `sentence_embeddings` part in `dir`, which is
/// returned staged for the batch's commit.
/// With `run` (the manifest of the run an add adds to), a model of another
/// checksum or another engine is an error once the model is loaded, before
/// anything is embedded: one run's vectors come from one model computed one
/// way.
#[allow(clippy::too_many_arguments)]
pub(crate) fn embed_batch(
    articles: &[Article],
    opts: &RunOptions,
    settings: &Settings,
    dir: &RunDir,
    writer: &str,
    stamp: &Stamp,
    progress: &dyn Progress,
    run: Option<&Manifest>,
) -> Result<(Embedded, StagedParquet), PipelineError> {
    let files_model = ModelFiles::open(&opts.model_dir)?;
    let languages = files_model.languages_or(&settings.embed.languages)?;
    let precision = settings.embed.precision.resolve();
    let shapes = settings.embed.shapes(precision, files_model.max_len);
    let embedder = RustBertEmbedder::load_with(&files_model, shapes, embed::Threads::for_cores(opts.model_threads), precision, settings.embed.engine)?;
    if let Some(m) = run {
        m.check_vectors(dir.root(), embedder.model_id(), &opts.model_dir, &embedder.numerics())?;
    }
    let mut cache = match &opts.cache_dir {
        Some(dir) => EmbeddingCache::open(&dir.join("embeddings"), embedder.model_id(), &embedder.numerics(), embedder.dim())?,
        None => EmbeddingCache::in_memory(embedder.dim(), &embedder.numerics()),
    };
    let empty = aggregate::sentence_embeddings_frame::<Vec<f32>>(&[], &[], &[], embedder.dim(), stamp)?;
    let mut sentence_part = StagedParquet::create(&dir.part_path("sentence_embeddings", stamp.batch, writer), &empty)?;
    let dim = embedder.dim();
    let mut fresh_embedded = embed_articles(articles, &embedder, &mut cache, settings, progress, |ids, index, vectors| {
        let mut df = aggregate::sentence_embeddings_frame(ids, index, vectors, dim, stamp)?;
        Ok(sentence_part.write(&mut df)?)
    })?;
    fresh_embedded.languages = languages;
    drop(embedder);
    drop(cache);
    Ok((fresh_embedded, sentence_part))
}

/// The articles in languages `languages` does not cover (unknown: `und`),
/// counted by language, most first: they are clustered on their words alone.
pub fn outside_languages(articles: &[Article], languages: &embed::Languages) -> Vec<(String, usize)> {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for a in articles.iter().filter(|a| !languages.covers(a.language.as_deref())) {
        *counts.entry(a.language.as_deref().unwrap_or("und")).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = counts.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// Clusters embedded articles with the given settings.
pub fn cluster_articles(articles: &[Article], embedded: &Embedded, settings: &Settings) -> cluster::Clustering {
    with_docs(articles, embedded, settings, |docs| cluster::cluster(docs, &settings.cluster))
}

/// Calls `f` with the articles as the cluster stage sees them.
pub(crate) fn with_docs<R>(articles: &[Article], embedded: &Embedded, settings: &Settings, f: impl FnOnce(&[cluster::Doc<'_>]) -> R) -> R {
    let index: HashMap<&str, usize> = articles.iter().enumerate().map(|(i, a)| (a.id.as_str(), i)).collect();
    // The title and the first lead_sentences sentences of each article.
    let k = settings.cluster.lead_sentences;
    let leads: Vec<Vec<&[f32]>> = articles
        .iter()
        .zip(&embedded.leads)
        .map(|(a, l)| l.iter().take(k + usize::from(a.title.is_some())).map(Vec::as_slice).collect())
        .collect();
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
            alone: a.content == ingest::Content::None,
            headline: a.content == ingest::Content::TitleOnly,
            language: a.language.as_deref(),
            readable: embedded.languages.covers(a.language.as_deref()),
        })
        .collect();
    f(&docs)
}

/// The run an add adds to (`None` for a fresh run, or an add into a folder
/// with no run yet) and the precision the batch will compute in, checked
/// before anything is read or loaded: an old layout cannot be added to, and
/// the run's vectors and this batch's must be of one precision.
pub(crate) fn previous_run(dir: &RunDir, settings: &Settings, add: bool) -> Result<(Option<Manifest>, embed::Precision), PipelineError> {
    let run = dir.root().to_path_buf();
    let previous = if add { Manifest::read(&run)? } else { None };
    if add && previous.is_none() && dir.has_flat_tables() {
        return Err(PipelineError::OldLayout { run });
    }
    if let Some(m) = &previous {
        m.check_parts(dir, aggregate::Check::Checksum, READ_BACK)?;
    }
    let precision = settings.embed.precision.resolve();
    if let Some(m) = previous.as_ref().filter(|m| m.embed_precision != precision.as_str()) {
        return Err(PipelineError::PrecisionMismatch { run, run_precision: m.embed_precision.clone(), now: precision });
    }
    Ok((previous, precision))
}

/// Records a stage's seconds, and logs them with the peak memory so far
/// (which stage sets the peak is what memory work starts from).
pub(crate) fn stage_done(times: &mut Vec<(&'static str, f64)>, stage: &'static str, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(stage, seconds, peak_rss_mib = crate::manifest::peak_rss_mib(), "stage done");
    times.push((stage, seconds));
}

/// Runs ingest -> embed -> cluster -> aggregate over `opts.inputs` into a
/// fresh run in `opts.out` (replacing whatever it held, all at once).
pub fn run(opts: &RunOptions, settings: &Settings, progress: &dyn Progress) -> Result<RunReport, PipelineError> {
    grow(opts, settings, progress, true)
}

/// Adds the articles of `opts.inputs` to the run in `opts.out` (a run, when
/// there is none yet): articles already there (by id) are skipped, the whole
/// corpus is clustered, and events and stories keep their ids.
pub fn add(opts: &RunOptions, settings: &Settings, progress: &dyn Progress) -> Result<RunReport, PipelineError> {
    grow(opts, settings, progress, false)
}

fn grow(opts: &RunOptions, settings: &Settings, progress: &dyn Progress, fresh: bool) -> Result<RunReport, PipelineError> {
    let started = chrono::Utc::now();
    let mut times = Vec::new();
    let _lock = aggregate::RunLock::acquire(&opts.out, opts.wait)?;
    let dir = RunDir::open(&opts.out)?;
    let (previous, precision) = previous_run(&dir, settings, !fresh)?;
    let stamp = Stamp {
        batch: previous.as_ref().map_or(1, |m| m.batches.len() as u32 + 1),
        added_at: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };

    let t = Instant::now();
    let prior = if previous.is_some() { aggregate::read_traces(&dir)? } else { ingest::Prior::default() };
    let found = ingest::discover(&opts.inputs);
    progress.start("ingest", found.files.len() as u64, "files");
    let ingested = ingest::ingest_found_onto(found, &settings.ingest_options(), &prior, &|_| progress.inc(1));
    progress.finish();
    drop(prior);
    stage_done(&mut times, "ingest", t);
    for w in &ingested.warnings {
        tracing::debug!(origin = %w.origin, id = %w.id, "{}", w.message);
    }
    if ingested.articles.is_empty() {
        let Some(manifest) = previous else {
            return Err(PipelineError::NoArticles { rejects: ingested.rejects.len() });
        };
        // Nothing new: the run stays exactly as it was.
        tracing::info!(known = ingested.known, "nothing to add");
        return Ok(RunReport::nothing_new(manifest, precision, ingested.known, ingested.rejects, ingested.inputs, ingested.warnings.len()));
    }
    let writer = aggregate::writer_key(ingested.articles.iter().map(|a| a.id.as_str()));

    let t = Instant::now();
    let (fresh_embedded, sentence_part) = embed_batch(&ingested.articles, opts, settings, &dir, &writer, &stamp, progress, previous.as_ref())?;
    stage_done(&mut times, "embed", t);

    // The whole corpus: the earlier batches, read back from their parts.
    let t = Instant::now();
    let mut corpus: Vec<Article> = Vec::new();
    let mut embedded = Embedded {
        dim: fresh_embedded.dim,
        model_id: fresh_embedded.model_id.clone(),
        precision: fresh_embedded.precision,
        numerics: fresh_embedded.numerics.clone(),
        languages: fresh_embedded.languages.clone(),
        articles: Vec::new(),
        leads: Vec::new(),
    };
    let mut assignments = HashMap::new();
    if let Some(m) = &previous {
        read_run_into(&dir, m, &mut corpus, &mut embedded)?;
        assignments = aggregate::read_assignments(&dir)?;
    }
    let n_earlier = corpus.len();
    corpus.extend(ingested.articles);
    embedded.articles.extend(fresh_embedded.articles);
    embedded.leads.extend(fresh_embedded.leads);
    stage_done(&mut times, "read", t);

    let t = Instant::now();
    let clustering = cluster_articles(&corpus, &embedded, settings);
    stage_done(&mut times, "cluster", t);

    let t = Instant::now();
    let ids = crate::ids::carry(&corpus, &clustering, &assignments, previous.as_ref(), &dir, &stamp)?;
    let mut commit = dir.commit();
    if fresh {
        for p in dir.all_outputs() {
            commit.remove(p);
        }
    }
    let batch_articles = &corpus[n_earlier..];
    let mut counts = crate::manifest::stage_parts(
        &mut commit,
        &dir,
        &writer,
        &stamp,
        batch_articles,
        &ingested.rejects,
        &ingested.traces,
        &embedded,
        sentence_part,
    )?;
    counts.extend(crate::manifest::stage_whole(&mut commit, &dir, &stamp, &corpus, &embedded, &clustering, &ids)?);
    counts.sort();
    stage_done(&mut times, "aggregate", t);

    let record = BatchRecord {
        batch: stamp.batch,
        added_at: stamp.added_at.clone(),
        writer,
        inputs: ingested.files.iter().map(|f| InputFile::describe(f)).collect(),
        articles: batch_articles.len(),
        known: ingested.known,
        rejects: ingested.rejects.len(),
        warnings: ingested.warnings.len(),
        seconds: times.iter().map(|(s, t)| (s.to_string(), *t)).collect(),
        peak_rss_mib: crate::manifest::peak_rss_mib(),
        parts: commit.parts()?,
    };
    let previous_json = previous.as_ref().map(Manifest::to_json);
    let mut manifest = Manifest::new(previous, record, settings, &embedded, counts, ids.next_event_id, ids.next_story_id);
    manifest.embed_model = opts.model_dir.display().to_string();
    manifest.outside_languages = outside_languages(&corpus, &embedded.languages);
    manifest.stage(&mut commit, &dir, previous_json.as_deref())?;
    commit.commit()?;
    Ok(RunReport {
        added: batch_articles.len(),
        known: ingested.known,
        warnings: ingested.warnings.len(),
        articles: corpus,
        rejects: ingested.rejects,
        inputs: ingested.inputs,
        clustering,
        event_ids: ids.event_of,
        story_ids: ids.story_of,
        embedded,
        manifest,
        committed: true,
    })
}
