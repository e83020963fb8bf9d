//! Ingestion: reads folders of scraped news articles (`.txt`, JSON Lines, CSV,
//! `.html`), removes page noise, extracts title, date, outlet and dateline
//! place, splits sentences, detects language and marks near-duplicates.
//!
//! Ingestion never fails on text: every readable document becomes either an
//! [`Article`] (possibly with warnings) or a [`Reject`] naming the file, the
//! line or record, and the reason. Nothing here panics on input.

mod clean;
mod content;
mod date;
mod dedup;
mod discover;
mod furniture;
mod hashed;
mod language;
mod meta;
mod noise;
mod read;
mod sentences;
pub mod shard;
mod stream;
mod text;
mod trace;
mod warc;

use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

pub use clean::{clean_lines, CleanedLines, RemovalReason, Removed};
pub use content::Content;
pub use date::{parse_date_text, DateSource};
pub use dedup::{simhash, NearDuplicates};
pub use meta::Metadata;
pub use discover::{discover, Discovered, STDIN};
pub use read::{read_file, read_file_with, Compression, FileRead, InputFormat, RawDoc, Source};
pub use sentences::{sentence_spans, split_sentences};
pub use furniture::Furniture;
pub use trace::{Prior, Trace};

/// Where a document came from: the file and, for JSONL/CSV, the 1-based line
/// or record number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct Origin {
    pub file: PathBuf,
    pub record: Option<u64>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.record {
            Some(r) => write!(f, "{}:{r}", self.file.display()),
            None => write!(f, "{}", self.file.display()),
        }
    }
}

/// An input item that could not become an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Reject {
    pub origin: Origin,
    /// Input id when one was known.
    pub id: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.origin, self.reason)
    }
}

/// A non-fatal problem with an article that was kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub origin: Origin,
    pub id: String,
    pub message: String,
}

/// One cleaned article with its metadata and sentences.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Article {
    /// Input id (JSONL/CSV `id`) or a stable id derived from the content.
    pub id: String,
    pub origin: Origin,
    pub format: InputFormat,
    pub url: Option<String>,
    pub title: Option<String>,
    /// Publication date, `None` when neither a field nor the text gives one.
    pub date: Option<chrono::NaiveDate>,
    pub date_source: Option<DateSource>,
    pub outlet: Option<String>,
    /// Dateline place ("Baghdad").
    pub place: Option<String>,
    /// ISO 639-3 code (English by its function words, else whatlang),
    /// `None` when detection is unreliable.
    pub language: Option<String>,
    /// Clean body text, one paragraph a line.
    pub text: String,
    /// Where the sentences are in `text` (byte ranges, in order);
    /// [`Article::sentences`] gives them as text.
    pub sentence_spans: Vec<std::ops::Range<usize>>,
    /// Id of an earlier article (input order) this one nearly duplicates.
    pub duplicate_of: Option<String>,
    /// Whether the page holds an article, a headline only, or no content
    /// (see [`Content::of`]); a page with none never joins an event.
    pub content: Content,
    pub removed: Removed,
    /// Size of the raw input text in bytes.
    pub raw_bytes: usize,
}

impl Article {
    /// The sentences, in order: slices of `text` (a span that is not a
    /// range of it, which only an article built by hand can have, gives "").
    pub fn sentences(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator + Clone + '_ {
        self.sentence_spans.iter().map(|r| self.text.get(r.clone()).unwrap_or(""))
    }

    /// What names the article in a listing: its title, else its first
    /// sentence, else "".
    pub fn headline(&self) -> &str {
        self.title.as_deref().or_else(|| self.sentences().next()).unwrap_or("")
    }
}

/// What one ingestion run produced.
#[derive(Debug, Default)]
pub struct Ingested {
    pub articles: Vec<Article>,
    /// One per article, in the same order: what later batches need of it.
    pub traces: Vec<Trace>,
    /// Records skipped because their id is already in the corpus (an add).
    pub known: usize,
    pub rejects: Vec<Reject>,
    pub warnings: Vec<Warning>,
    /// Input files read, in the order used.
    pub files: Vec<PathBuf>,
    /// Bytes of input read.
    pub bytes: u64,
    /// What was under the inputs besides articles.
    pub inputs: InputsSeen,
}

/// Files and records under the inputs that hold no articles, for the
/// summary: nothing is skipped without a word.
#[derive(Debug, Default, Clone, Serialize, serde::Deserialize)]
pub struct InputsSeen {
    /// Files of an unknown kind, by lowercase extension (each is a reject too).
    pub unknown: std::collections::BTreeMap<String, usize>,
    /// Hidden files and folders skipped.
    pub hidden: usize,
    /// WARC records that are not HTML responses.
    pub skipped_records: usize,
}

impl InputsSeen {
    /// One line for a summary ("files not in an article format: 2 .pdf;
    /// 1 hidden file or folder skipped"), `None` when there is nothing to say.
    pub fn summary(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.unknown.is_empty() {
            let kind = |e: &str| if e.is_empty() { "without extension".to_string() } else { format!(".{e}") };
            let kinds: Vec<String> = self.unknown.iter().map(|(e, n)| format!("{n} {}", kind(e))).collect();
            parts.push(format!("files not in an article format: {}", kinds.join(", ")));
        }
        if self.hidden > 0 {
            parts.push(format!("{} hidden files or folders skipped", self.hidden));
        }
        if self.skipped_records > 0 {
            parts.push(format!("{} WARC records that are not HTML pages skipped", self.skipped_records));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Settings for ingestion.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// A normalised line found in at least this many distinct articles of one
    /// outlet is site furniture.
    pub furniture_min_articles: usize,
    /// Maximum Hamming distance between SimHashes of near-duplicates.
    pub duplicate_max_distance: u32,
    /// Articles shorter than this many words are never marked as duplicates.
    pub duplicate_min_words: usize,
    /// No input record (a line, a CSV or WARC record, an article file) is
    /// held past this many bytes: a longer one is a reject, read past.
    pub max_record_bytes: u64,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self { furniture_min_articles: 3, duplicate_max_distance: 3, duplicate_min_words: 20, max_record_bytes: 64_000_000 }
    }
}

/// Reads every supported file under `paths` (files or folders) and ingests it.
/// Per-item problems end up in `rejects`/`warnings`; this function itself only
/// reports nothing fatal, because there is nothing fatal on input.
pub fn ingest_paths(paths: &[PathBuf], opts: &IngestOptions) -> Ingested {
    ingest_paths_with_progress(paths, opts, &|_| {})
}

/// As [`ingest_paths`], calling `progress(n)` after each file with the number of
/// documents it yielded, so a front end can draw a bar.
pub fn ingest_paths_with_progress(
    paths: &[PathBuf],
    opts: &IngestOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Ingested {
    ingest_paths_onto(paths, opts, &Prior::default(), progress)
}

/// As [`ingest_paths_with_progress`], for a batch added to a corpus whose
/// earlier batches left `prior`: their ids are skipped, their lines count
/// towards each outlet's furniture and their SimHashes towards near-duplicates.
pub fn ingest_paths_onto(
    paths: &[PathBuf],
    opts: &IngestOptions,
    prior: &Prior,
    progress: &(dyn Fn(usize) + Sync),
) -> Ingested {
    ingest_found_onto(discover(paths), opts, prior, progress)
}

/// As [`ingest_paths_onto`], for inputs already walked by [`discover`]
/// (a front end that counts the files for its progress bar walks them once).
pub fn ingest_found_onto(found: Discovered, opts: &IngestOptions, prior: &Prior, progress: &(dyn Fn(usize) + Sync)) -> Ingested {
    let started = std::time::Instant::now();
    let mut rejects = found.rejects;
    let pieces: Vec<shard::Piece> = found.files.iter().map(|f| shard::Piece::File { path: f.clone() }).collect();
    let read = shard::read_pieces(&pieces, opts.max_record_bytes, progress);
    let (docs, bytes, skipped_records) = (read.docs, read.bytes, read.skipped_records);
    rejects.extend(read.rejects);
    tracing::debug!(files = found.files.len(), documents = docs.len(), bytes, seconds = started.elapsed().as_secs_f64(), "read");
    let mut out = ingest_docs_onto(docs, opts, prior);
    rejects.append(&mut out.rejects);
    let mut warnings = found.warnings;
    warnings.append(&mut out.warnings);
    out.warnings = warnings;
    out.rejects = rejects;
    out.files = found.files;
    out.bytes = bytes;
    out.inputs = InputsSeen { skipped_records, ..found.seen };
    out
}

/// Ingests documents already read into memory (in the order given).
pub fn ingest_docs(docs: Vec<RawDoc>, opts: &IngestOptions) -> Ingested {
    ingest_docs_onto(docs, opts, &Prior::default())
}

/// As [`ingest_docs`], onto a corpus whose earlier batches left `prior`.
pub fn ingest_docs_onto(docs: Vec<RawDoc>, opts: &IngestOptions, prior: &Prior) -> Ingested {
    ingest_docs_with(docs, opts, prior, None)
}

/// Stages documents (cleaning and metadata, in parallel, order kept),
/// leaving out records whose id an earlier batch holds. Returns the staged
/// articles, the rejects and how many records were known.
fn stage(docs: Vec<RawDoc>, prior: &Prior) -> (Vec<furniture::Staged>, Vec<Reject>, usize) {
    compile_patterns();
    let mut known = 0;
    let docs = if prior.is_empty() {
        docs
    } else {
        let ids: hashed::FastSet<&str> = prior.traces.iter().map(|t| t.id.as_str()).collect();
        let before = docs.len();
        let docs: Vec<RawDoc> = docs.into_iter().filter(|d| !ids.contains(d.id.as_str())).collect();
        known = before - docs.len();
        docs
    };
    let staged: Vec<Result<furniture::Staged, Reject>> = docs.into_par_iter().map(furniture::Staged::new).collect();
    let mut rejects = Vec::new();
    let mut staged_ok = Vec::with_capacity(staged.len());
    for s in staged {
        match s {
            Ok(s) => staged_ok.push(s),
            Err(r) => rejects.push(r),
        }
    }
    (staged_ok, rejects, known)
}

/// Ingestion, with the steps that look across the batch either done here
/// (`shard: None`) or decided over the whole batch already (a shard of a
/// batch read in shards, see [`shard`]).
pub(crate) fn ingest_docs_with(docs: Vec<RawDoc>, opts: &IngestOptions, prior: &Prior, shard: Option<shard::ShardOf<'_>>) -> Ingested {
    let started = std::time::Instant::now();
    let phase = |name: &str| tracing::debug!(seconds = started.elapsed().as_secs_f64(), "{name} done");
    // 0-1. Records already in the corpus are left out; local cleaning and
    //      metadata.
    let (mut staged_ok, mut rejects, known) = stage(docs, prior);
    phase("cleaning and metadata");
    // 2. Site furniture: lines repeated across many articles of one outlet
    //    (the earlier batches' articles included).
    match &shard {
        None => furniture::remove_furniture(&mut staged_ok, opts.furniture_min_articles, &prior.traces),
        Some(s) => s.furniture.apply(&mut staged_ok),
    }
    phase("furniture");
    // 3. Final text, sentences, language, SimHash.
    let finished: Vec<furniture::Finished> = staged_ok.into_par_iter().map(furniture::Staged::finish).collect();
    let mut articles = Vec::with_capacity(finished.len());
    let mut traces = Vec::with_capacity(finished.len());
    let mut warnings = Vec::new();
    phase("sentences, language, simhash");
    // 4. Duplicate ids: keep the first (in an earlier shard, perhaps), reject the rest.
    let first: Vec<bool> = {
        let mut seen: hashed::FastSet<&str> = shard.as_ref().map(|s| s.taken.iter().map(String::as_str).collect()).unwrap_or_default();
        finished.iter().map(|f| seen.insert(f.article.id.as_str())).collect()
    };
    for (furniture::Finished { article: a, warnings: w, mut trace }, first) in finished.into_iter().zip(first) {
        warnings.extend(w);
        if first {
            trace.simhash = trace.simhash.and_then(|h| dedup::comparable_simhash(&a, h, opts.duplicate_min_words));
            articles.push(a);
            traces.push(trace);
        } else {
            let reason = format!("duplicate id {:?}: an earlier record has the same id", a.id);
            rejects.push(Reject { origin: a.origin, id: Some(a.id), reason });
        }
    }
    // 5. Near-duplicates, of earlier batches' articles too.
    match shard.as_ref().map(|s| s.duplicate_of) {
        None => {
            let ids: Vec<&str> = prior.traces.iter().chain(&traces).map(|t| t.id.as_str()).collect();
            let hashes: Vec<Option<u64>> = prior.traces.iter().chain(&traces).map(|t| t.simhash).collect();
            let dups = NearDuplicates::from_hashes(&ids, &hashes, opts.duplicate_max_distance);
            for (a, d) in articles.iter_mut().zip(dups.duplicate_of.into_iter().skip(prior.traces.len())) {
                a.duplicate_of = d;
            }
        }
        // Decided over the whole batch (or, in the map that reports the
        // SimHashes, not yet).
        Some(Some(decided)) => {
            for a in &mut articles {
                a.duplicate_of = decided.get(a.id.as_str()).cloned();
            }
        }
        Some(None) => {}
    }
    phase("near-duplicates");
    for r in &rejects {
        tracing::debug!(origin = %r.origin, "skipped: {}", r.reason);
    }
    Ingested { articles, traces, known, rejects, warnings, files: Vec::new(), bytes: 0, inputs: InputsSeen::default() }
}

/// The functions that compile each of the given lazily built patterns (a
/// module's `COMPILE` table, which [`compile_patterns`] runs).
macro_rules! compile_list {
    ($($pattern:ident),* $(,)?) => {
        &[$(|| _ = std::sync::LazyLock::force(&$pattern)),*]
    };
}
pub(crate) use compile_list;

/// Compiles every pattern ingestion uses, spread over the threads, before
/// the first article needs them. Each is compiled once per process (some
/// 16 ms in all, the widget lines a third of it); left to the articles, the
/// threads wait on one another, one compiling the pattern that all of them
/// need next. Later calls cost nothing.
fn compile_patterns() {
    [noise::COMPILE, date::COMPILE, meta::COMPILE, content::COMPILE].concat().into_par_iter().for_each(|compile| compile());
}

/// Stable id for a document without one: a hash of its text.
pub fn content_id(text: &str) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
}
