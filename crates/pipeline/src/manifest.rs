//! Writing a run's tables and its manifest.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use aggregate::{Check, Commit, PartRecord, RunDir, Stamp, StagedParquet};
use ingest::{Article, Reject, Trace};

use crate::ids::Ids;
use crate::run::Embedded;
use crate::{PipelineError, Settings};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

impl InputFile {
    pub fn describe(p: &Path) -> Self {
        let (bytes, sha256) = match std::fs::File::open(p) {
            Ok(mut f) => {
                let mut h = Sha256::new();
                let n = std::io::copy(&mut f, &mut h).unwrap_or(0);
                (n, h.finalize().iter().map(|b| format!("{b:02x}")).collect())
            }
            Err(_) => (0, String::new()),
        };
        Self { path: p.display().to_string(), bytes, sha256 }
    }
}

/// One batch of a run: the run's first, or an add.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchRecord {
    pub batch: u32,
    pub added_at: String,
    /// The writer key in its parts' names (`b<batch>-<writer>.parquet`).
    pub writer: String,
    pub inputs: Vec<InputFile>,
    /// Articles it added.
    pub articles: usize,
    /// Records it skipped because their id was already in the run.
    pub known: usize,
    pub rejects: usize,
    pub warnings: usize,
    /// Seconds per stage: ingest, embed (this batch only), read (the
    /// earlier batches' parts), cluster and aggregate (the whole corpus).
    pub seconds: Vec<(String, f64)>,
    /// Peak resident memory of the process, in MiB (Linux; null elsewhere).
    pub peak_rss_mib: Option<f64>,
    /// The parts it wrote: table, file, rows, bytes and checksum. Empty for
    /// a batch written before batches recorded their parts.
    #[serde(default)]
    pub parts: Vec<PartRecord>,
}

/// `manifest.json`: what produced a run's outputs, batch by batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub tool: String,
    pub version: String,
    pub git_revision: Option<String>,
    /// When the run's first batch started.
    pub started_at: String,
    /// The settings of the latest batch.
    pub settings: Settings,
    pub settings_hash: String,
    pub model_sha256: String,
    /// The precision the model computed in: `f32` or `bf16` (`embed.precision`
    /// in `settings` may say `auto`; this is what `auto` became).
    pub embed_precision: String,
    /// The precision and the model-call shapes the latest batch's vectors
    /// were computed with (`embed::Shapes`; the embedding cache keys on it).
    #[serde(default)]
    pub embed_numerics: String,
    /// The model folder, and the languages its vectors are read in (ISO
    /// 639-3; `*`: every language).
    #[serde(default)]
    pub embed_model: String,
    #[serde(default)]
    pub embed_languages: embed::Languages,
    /// The whole corpus's articles by language outside the model's
    /// (unknown: `und`), clustered on their words alone.
    #[serde(default)]
    pub outside_languages: Vec<(String, usize)>,
    /// The latest batch's input files.
    pub inputs: Vec<InputFile>,
    /// Rows of each table of the whole run.
    pub rows: Vec<(String, usize)>,
    /// The latest batch's seconds per stage.
    pub seconds: Vec<(String, f64)>,
    pub warnings: usize,
    pub rejects: usize,
    pub threads: usize,
    /// Peak resident memory of the latest batch's process, in MiB.
    pub peak_rss_mib: Option<f64>,
    /// Every batch, first to latest.
    pub batches: Vec<BatchRecord>,
    /// The next event and story ids never used in this run.
    pub next_event_id: u32,
    pub next_story_id: u32,
}

/// VmHWM from /proc/self/status.
pub(crate) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn git_revision() -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Manifest {
    /// `Err` when this run's vectors came from another model than the one
    /// of checksum `model_id` (in `model_dir`), or from another engine than
    /// vectors of `numerics`: a batch must not mix them into the run. What
    /// the manifest (or `numerics`) leaves empty is not checked.
    pub(crate) fn check_vectors(&self, run: &Path, model_id: &str, model_dir: &Path, numerics: &str) -> Result<(), PipelineError> {
        if !self.model_sha256.is_empty() && self.model_sha256 != model_id {
            return Err(PipelineError::ModelMismatch {
                run: run.to_path_buf(),
                run_model: self.model_sha256.clone(),
                now: model_id.to_string(),
                dir: model_dir.to_path_buf(),
            });
        }
        let (run_engine, now) = (embed::Engine::of_numerics(&self.embed_numerics), embed::Engine::of_numerics(numerics));
        if self.embed_numerics.is_empty() || numerics.is_empty() || run_engine == now {
            return Ok(());
        }
        Err(PipelineError::EngineMismatch { run: run.to_path_buf(), run_engine, now })
    }

    /// The manifest after `batch`, on top of the `previous` one.
    pub(crate) fn new(
        previous: Option<Manifest>,
        batch: BatchRecord,
        settings: &Settings,
        embedded: &Embedded,
        rows: Vec<(String, usize)>,
        next_event_id: u32,
        next_story_id: u32,
    ) -> Self {
        let (started_at, mut batches, before) = match previous {
            Some(m) => (m.started_at, m.batches, m.rows),
            None => (batch.added_at.clone(), Vec::new(), Vec::new()),
        };
        // A part table's rows are the earlier batches' plus this one's.
        let rows = rows
            .into_iter()
            .map(|(name, n)| {
                let earlier = if aggregate::PART_TABLES.contains(&name.as_str()) {
                    before.iter().find(|(b, _)| *b == name).map_or(0, |(_, n)| *n)
                } else {
                    0
                };
                (name, n + earlier)
            })
            .collect();
        let inputs = batch.inputs.clone();
        let (seconds, warnings, rejects, peak) = (batch.seconds.clone(), batch.warnings, batch.rejects, batch.peak_rss_mib);
        batches.push(batch);
        Self {
            tool: "storyline".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            git_revision: git_revision(),
            started_at,
            settings: settings.clone(),
            settings_hash: settings.hash(),
            model_sha256: embedded.model_id.clone(),
            embed_precision: embedded.precision.to_string(),
            embed_numerics: embedded.numerics.clone(),
            embed_model: String::new(),
            embed_languages: embedded.languages.clone(),
            outside_languages: Vec::new(),
            inputs,
            rows,
            seconds,
            warnings,
            rejects,
            threads: rayon::current_num_threads(),
            peak_rss_mib: peak,
            batches,
            next_event_id,
            next_story_id,
        }
    }

    /// The manifest of the run in `dir`, if there is one. A manifest that
    /// is not JSON is damaged (the error names the byte where it breaks);
    /// one of another layout is an older run's, or not one storyline can
    /// read. Nothing is ever changed here.
    pub fn read(dir: &Path) -> Result<Option<Self>, PipelineError> {
        let path = dir.join("manifest.json");
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(PipelineError::Io { path, source }),
        };
        let value = Self::json(&path, &bytes)?;
        if value.get("batches").is_none() && RunDir::existing(dir).has_flat_tables() {
            return Err(PipelineError::OldLayout { run: dir.to_path_buf() });
        }
        Self::from_json(&path, value).map(Some)
    }

    /// A manifest file by its path (`manifest.prev.json`, say).
    pub fn read_file(path: &Path) -> Result<Self, PipelineError> {
        let bytes = std::fs::read(path).map_err(|source| PipelineError::Io { path: path.to_path_buf(), source })?;
        Self::from_json(path, Self::json(path, &bytes)?)
    }

    fn json(path: &Path, bytes: &[u8]) -> Result<serde_json::Value, PipelineError> {
        serde_json::from_slice(bytes).map_err(|e| PipelineError::DamagedManifest {
            path: path.to_path_buf(),
            offset: byte_offset(bytes, e.line(), e.column()),
            reason: e.to_string(),
        })
    }

    fn from_json(path: &Path, value: serde_json::Value) -> Result<Self, PipelineError> {
        serde_json::from_value::<Self>(value).map_err(|e| PipelineError::ManifestMismatch { path: path.to_path_buf(), reason: e.to_string() })
    }

    /// Every part the batches recorded, and the batches that recorded none
    /// (written before batches did).
    pub fn parts(&self) -> (Vec<PartRecord>, Vec<u32>) {
        let parts = self.batches.iter().flat_map(|b| b.parts.iter().cloned()).collect();
        let unrecorded = self.batches.iter().filter(|b| b.parts.is_empty()).map(|b| b.batch).collect();
        (parts, unrecorded)
    }

    /// Rows of `table` in the whole run, as recorded.
    pub fn rows_of(&self, table: &str) -> Option<usize> {
        self.rows.iter().find(|(t, _)| t == table).map(|(_, n)| *n)
    }

    /// Checks that the run's parts are the ones this manifest records: each
    /// with its size, and with its checksum for the tables in `checksums`
    /// (those about to be read back); no part missing and none extra.
    pub fn check_parts(&self, dir: &RunDir, check: Check, checksums: &[&str]) -> Result<(), PipelineError> {
        let (parts, unrecorded) = self.parts();
        let tables: &[&str] = if check == Check::Checksum { checksums } else { &[] };
        let findings = dir.check_parts(&parts, &unrecorded, tables);
        if findings.is_empty() {
            Ok(())
        } else {
            Err(PipelineError::RunDamaged { run: dir.root().to_path_buf(), findings: findings.iter().map(ToString::to_string).collect() })
        }
    }

    /// Stages this manifest as the run's `manifest.json` and the previous
    /// one (the run before this batch) as `manifest.prev.json`, in the same
    /// commit, so that a damaged manifest can be recovered by hand.
    pub(crate) fn stage(&self, commit: &mut Commit, dir: &RunDir, previous: Option<&[u8]>) -> Result<(), PipelineError> {
        let prev = dir.root().join("manifest.prev.json");
        match previous {
            Some(bytes) => commit.add_bytes(&prev, bytes)?,
            None => commit.remove(prev),
        }
        commit.add_bytes(&dir.root().join("manifest.json"), &self.to_json())?;
        Ok(())
    }

    pub(crate) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

/// The byte offset of a (1-based) line and column in `bytes`.
fn byte_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = bytes.split(|&b| b == b'\n').take(line.saturating_sub(1)).map(|l| l.len() + 1).sum();
    (line_start + column.saturating_sub(1)).min(bytes.len())
}

/// Articles per round when a batch's parts are written.
const ROUND: usize = 2000;

/// Stages a batch's parts into `commit` (its sentence vectors are already in
/// `sentence_part`). Returns the rows of each part.
#[allow(clippy::too_many_arguments)]
pub(crate) fn stage_parts(
    commit: &mut Commit,
    dir: &RunDir,
    writer: &str,
    stamp: &Stamp,
    batch: &[Article],
    rejects: &[Reject],
    traces: &[Trace],
    embedded: &Embedded,
    sentence_part: StagedParquet,
) -> Result<Vec<(String, usize)>, PipelineError> {
    let part = |table: &str| dir.part_path(table, stamp.batch, writer);
    let mut rows: Vec<(String, usize)> = Vec::new();
    let batch_ids: Vec<&str> = batch.iter().map(|a| a.id.as_str()).collect();
    // The batch's big parts are written a round of articles at a time: a
    // run's batch is the whole corpus, and a second copy of it in polars
    // would double what the run holds.
    let n_earlier = embedded.articles.len() - batch.len();
    let (vectors, leads) = (&embedded.articles[n_earlier..], &embedded.leads[n_earlier..]);
    let mut in_rounds = |table: &str, build: &dyn Fn(std::ops::Range<usize>) -> Result<aggregate::DataFrame, aggregate::AggregateError>| {
        let mut first = build(0..batch.len().min(ROUND))?;
        let mut w = StagedParquet::create(&part(table), &first)?;
        let mut n = first.height();
        w.write(&mut first)?;
        drop(first);
        for start in (ROUND..batch.len()).step_by(ROUND) {
            let mut df = build(start..batch.len().min(start + ROUND))?;
            n += df.height();
            w.write(&mut df)?;
        }
        commit.add(w.finish()?);
        rows.push((table.to_string(), n));
        Ok::<(), PipelineError>(())
    };
    in_rounds("articles", &|r| aggregate::articles_frame(&batch[r], stamp))?;
    in_rounds("sentences", &|r| aggregate::sentences_frame(&batch[r], stamp))?;
    in_rounds("embeddings", &|r| aggregate::embeddings_frame(&batch_ids[r.clone()], &vectors[r.clone()], &leads[r], embedded.dim, stamp))?;
    commit.add(sentence_part.finish()?);
    put(commit, &mut rows, part("rejects"), "rejects", aggregate::rejects_frame(rejects, stamp)?)?;
    put(commit, &mut rows, part("traces"), "traces", aggregate::traces_frame(traces, stamp)?)?;
    Ok(rows)
}

/// Stages `df` as `path` and counts its rows as `name`'s.
fn put(commit: &mut Commit, rows: &mut Vec<(String, usize)>, path: std::path::PathBuf, name: &str, mut df: aggregate::DataFrame) -> Result<(), PipelineError> {
    rows.push((name.to_string(), df.height()));
    commit.add(aggregate::stage_parquet(&path, &mut df)?);
    Ok(())
}

/// Stages the tables of the whole corpus into `commit`: events, stories,
/// timeline, the article-to-event map and this batch's changes. Returns
/// their rows.
pub(crate) fn stage_whole(
    commit: &mut Commit,
    dir: &RunDir,
    stamp: &Stamp,
    corpus: &[Article],
    embedded: &Embedded,
    clustering: &cluster::Clustering,
    ids: &Ids,
) -> Result<Vec<(String, usize)>, PipelineError> {
    let mut rows = Vec::new();
    let events = aggregate::events_frame(corpus, &embedded.articles, &clustering.event, &clustering.story, &ids.events, &ids.stories)?;
    let stories = aggregate::stories_frame(corpus, &events, &clustering.story, &ids.stories)?;
    let dates: Vec<Option<chrono::NaiveDate>> = corpus.iter().map(|a| a.date).collect();
    let timeline = aggregate::timeline_frame(&dates, &ids.story_of, &events)?;
    let all_ids: Vec<&str> = corpus.iter().map(|a| a.id.as_str()).collect();
    let at: Vec<&str> = ids.assigned_at.iter().map(String::as_str).collect();
    let article_events = aggregate::article_events_frame(&all_ids, &ids.event_of, &ids.story_of, &ids.assigned_batch, &at)?;
    let root = dir.root();
    put(commit, &mut rows, root.join("events.parquet"), "events", events)?;
    put(commit, &mut rows, root.join("stories.parquet"), "stories", stories)?;
    put(commit, &mut rows, root.join("timeline.parquet"), "timeline", timeline)?;
    put(commit, &mut rows, root.join("article_events.parquet"), "article_events", article_events)?;
    put(commit, &mut rows, root.join("changes.parquet"), "changes", aggregate::changes_frame(&ids.changes, stamp)?)?;
    Ok(rows)
}
