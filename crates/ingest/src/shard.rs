//! A batch read in shards, on many machines (a Ray job): what a shard
//! reads, and what it takes from the whole batch so that its articles come
//! out exactly as one ingestion of the batch gives them.
//!
//! Two steps of ingestion look across articles: site furniture (counted per
//! outlet over every article) and duplicates (duplicate ids and
//! near-duplicates, in corpus order). A batch read in shards decides them
//! between three maps over the shards:
//! 1. [`votes`]: each shard's furniture votes; [`Furniture::decide_traces`]
//!    over all of them;
//! 2. [`ingest_shard`] with that furniture and no duplicates: each shard's
//!    articles and their SimHashes (its traces); [`Duplicates::decide`]
//!    over all shards, in order;
//! 3. [`ingest_shard`] with both: the shard's final articles.
//!
//! Cleaning costs some 35 µs an article: reading a shard three times costs
//! nothing next to embedding it once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::read::{read_file_with, read_jsonl_lines, Compression, FileRead, InputFormat, Source};
use crate::{Furniture, IngestOptions, Ingested, NearDuplicates, Prior, Trace};

/// A piece of the input: a whole file, or the lines of a plain JSONL file
/// from byte `start` (line `first_line`, counted from 1) to byte `end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Piece {
    File { path: PathBuf },
    Lines { path: PathBuf, first_line: u64, start: u64, end: u64 },
}

impl Piece {
    fn read(&self, cap: u64) -> FileRead {
        match self {
            Self::File { path } => read_file_with(path, cap),
            Self::Lines { path, first_line, start, end } => read_jsonl_lines(path, *first_line, *start, *end, cap),
        }
    }
}

/// Cuts input files (as [`crate::discover`] found them, in corpus order)
/// into shards of about `shard_bytes` each: runs of consecutive files, and
/// plain JSONL files larger than a shard by line ranges. Concatenated in
/// order, the shards are the files in order.
pub fn plan(files: &[PathBuf], shard_bytes: u64) -> Vec<Vec<Piece>> {
    let shard_bytes = shard_bytes.max(1);
    let mut shards = Vec::new();
    let mut current = Vec::new();
    let mut current_bytes = 0;
    for f in files {
        let size = std::fs::metadata(f).map_or(0, |m| m.len());
        let plain_jsonl = Source::of(f).is_some_and(|s| s.format == InputFormat::Jsonl && s.compression == Compression::None);
        if plain_jsonl && size > shard_bytes {
            if let Ok(ranges) = line_ranges(f, shard_bytes) {
                if !current.is_empty() {
                    shards.push(std::mem::take(&mut current));
                    current_bytes = 0;
                }
                shards.extend(ranges.into_iter().map(|p| vec![p]));
                continue;
            }
            // Unreadable: one piece, whose reading reports why.
        }
        current.push(Piece::File { path: f.clone() });
        current_bytes += size;
        if current_bytes >= shard_bytes {
            shards.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
    }
    if !current.is_empty() {
        shards.push(current);
    }
    shards
}

/// Line ranges of about `shard_bytes` each, cut after a newline.
fn line_ranges(path: &Path, shard_bytes: u64) -> std::io::Result<Vec<Piece>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut offset, mut line, mut start, mut first_line) = (0u64, 1u64, 0u64, 1u64);
    let mut pieces = Vec::new();
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        for pos in memchr::memchr_iter(b'\n', &buf[..n]) {
            line += 1;
            let end = offset + pos as u64 + 1;
            if end - start >= shard_bytes {
                pieces.push(Piece::Lines { path: path.to_path_buf(), first_line, start, end });
                (start, first_line) = (end, line);
            }
        }
        offset += n as u64;
    }
    if offset > start {
        pieces.push(Piece::Lines { path: path.to_path_buf(), first_line, start, end: offset });
    }
    Ok(pieces)
}

/// Reads pieces in parallel, their documents and rejects in order.
pub(crate) fn read_pieces(pieces: &[Piece], cap: u64, progress: &(dyn Fn(usize) + Sync)) -> FileRead {
    let reads: Vec<FileRead> = pieces
        .par_iter()
        .map(|p| {
            let r = p.read(cap);
            progress(r.docs.len());
            r
        })
        .collect();
    let mut all = FileRead::default();
    for r in reads {
        all.docs.extend(r.docs);
        all.rejects.extend(r.rejects);
        all.bytes += r.bytes;
        all.skipped_records += r.skipped_records;
    }
    all
}

/// The first map: a shard's votes for site furniture, as traces without
/// SimHashes (records an earlier batch holds left out, as ingestion does).
pub fn votes(pieces: &[Piece], opts: &IngestOptions, prior: &Prior) -> Vec<Trace> {
    let (staged, _, _) = crate::stage(read_pieces(pieces, opts.max_record_bytes, &|_| {}).docs, prior);
    staged.iter().map(crate::furniture::Staged::votes_trace).collect()
}

/// Duplicates decided over a whole batch read in shards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicates {
    /// Per shard: ids that an earlier shard holds (their records are
    /// rejected as duplicate ids, as the later record of one ingestion is).
    pub taken: Vec<Vec<String>>,
    /// Every near-duplicate of the batch: its id, and the id of the article
    /// it repeats.
    pub duplicate_of: BTreeMap<String, String>,
}

impl Duplicates {
    /// Decides over every shard's traces (the second map's), in corpus
    /// order, after the earlier batches' (`prior`).
    pub fn decide(prior: &Prior, shards: &[Vec<Trace>], max_distance: u32) -> Self {
        let mut seen = crate::hashed::FastSet::default();
        let mut kept: Vec<&Trace> = Vec::new();
        let mut taken = vec![Vec::new(); shards.len()];
        for (k, traces) in shards.iter().enumerate() {
            for t in traces {
                if seen.insert(t.id.as_str()) {
                    kept.push(t);
                } else {
                    taken[k].push(t.id.clone());
                }
            }
        }
        let all = || prior.traces.iter().chain(kept.iter().copied());
        let ids: Vec<&str> = all().map(|t| t.id.as_str()).collect();
        let hashes: Vec<Option<u64>> = all().map(|t| t.simhash).collect();
        let dups = NearDuplicates::from_hashes(&ids, &hashes, max_distance);
        let duplicate_of = ids.iter().zip(dups.duplicate_of).skip(prior.traces.len()).filter_map(|(id, d)| Some((id.to_string(), d?))).collect();
        Self { taken, duplicate_of }
    }
}

/// What a shard's ingestion takes from the whole batch.
pub(crate) struct ShardOf<'a> {
    pub(crate) furniture: &'a Furniture,
    pub(crate) taken: &'a [String],
    /// `None` in the map that reports the SimHashes.
    pub(crate) duplicate_of: Option<&'a BTreeMap<String, String>>,
}

/// Ingests shard `index` of a batch with the furniture decided over the
/// whole batch. With `duplicates` (decided over the whole batch) its
/// articles are final; without, only their traces' SimHashes are (the
/// second map), and no article is marked a near-duplicate.
pub fn ingest_shard(
    pieces: &[Piece],
    index: usize,
    opts: &IngestOptions,
    prior: &Prior,
    furniture: &Furniture,
    duplicates: Option<&Duplicates>,
) -> Ingested {
    let read = read_pieces(pieces, opts.max_record_bytes, &|_| {});
    let shard = ShardOf {
        furniture,
        taken: duplicates.and_then(|d| d.taken.get(index)).map_or(&[], Vec::as_slice),
        duplicate_of: duplicates.map(|d| &d.duplicate_of),
    };
    let mut out = crate::ingest_docs_with(read.docs, opts, prior, Some(shard));
    let mut rejects = read.rejects;
    rejects.append(&mut out.rejects);
    out.rejects = rejects;
    out.bytes = read.bytes;
    out.inputs.skipped_records = read.skipped_records;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: usize, source: &str) -> String {
        let shared = "Subscribe to our newsletter for the latest local news and weather.";
        let text = format!(
            "Story {n} happened in town {n} on a day when council {n} met, officials said today. \
             The mayor of town {n} said the council would meet again next week to decide what comes next for the river bridge.\\n{shared}"
        );
        format!("{{\"id\":\"a{n}\",\"title\":\"Story {n} - {source} News\",\"date\":\"2021-12-31\",\"source\":\"{source}\",\"text\":\"{text}\"}}")
    }

    /// Shards give what one ingestion gives: furniture counted across
    /// shards, a duplicate id in a later shard rejected, a near-duplicate in
    /// a later shard marked; records keep their line numbers.
    #[test]
    fn shards_ingest_as_one_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut lines: Vec<String> = (0..9).map(|n| record(n, if n % 2 == 0 { "even" } else { "odd" })).collect();
        lines.push(record(2, "even")); // duplicate id, a later shard
        let copy = lines[1].replace("\"a1\"", "\"copy1\"");
        lines.push(copy); // a near-duplicate of a1
        lines.push("not json".into());
        let path = dir.path().join("feed.jsonl");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let opts = IngestOptions::default();
        let whole = crate::ingest_paths(std::slice::from_ref(&path), &opts);

        let shards = plan(std::slice::from_ref(&path), 700);
        assert!(shards.len() >= 4, "{shards:?}");
        let prior = Prior::default();
        let votes: Vec<Trace> = shards.iter().flat_map(|s| votes(s, &IngestOptions::default(), &prior)).collect();
        let furniture = Furniture::decide_traces(votes.iter(), opts.furniture_min_articles);
        assert_eq!(furniture.outlets(), 2);
        let traces: Vec<Vec<Trace>> =
            shards.iter().enumerate().map(|(k, s)| ingest_shard(s, k, &opts, &prior, &furniture, None).traces).collect();
        let dups = Duplicates::decide(&prior, &traces, opts.duplicate_max_distance);
        let parts: Vec<Ingested> = shards.iter().enumerate().map(|(k, s)| ingest_shard(s, k, &opts, &prior, &furniture, Some(&dups))).collect();

        let articles: Vec<&crate::Article> = parts.iter().flat_map(|p| &p.articles).collect();
        assert_eq!(articles.len(), whole.articles.len());
        for (a, b) in articles.iter().zip(&whole.articles) {
            assert_eq!(*a, b);
        }
        assert!(whole.articles.iter().any(|a| a.duplicate_of.as_deref() == Some("a1")), "the test has a near-duplicate");
        assert!(whole.articles.iter().all(|a| !a.text.contains("newsletter")), "the test has furniture");
        assert!(whole.articles.iter().all(|a| !a.title.as_deref().unwrap_or("").contains("News")), "the test has site names");
        let mut rejects: Vec<&crate::Reject> = parts.iter().flat_map(|p| &p.rejects).collect();
        let mut want: Vec<&crate::Reject> = whole.rejects.iter().collect();
        rejects.sort_by_key(|r| r.origin.clone());
        want.sort_by_key(|r| r.origin.clone());
        assert_eq!(rejects, want);
        assert_eq!(rejects.len(), 2, "the duplicate id and the broken line");
    }
}
