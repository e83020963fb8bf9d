//! A run made in shards, on many machines (`cargo xtask ray`): the steps a
//! driver calls, each one `storyline-engine shard STEP` process, and the
//! files they leave in the run folder.
//!
//! ```text
//! RUN/.shards/
//!   plan.json            the job: inputs, settings, shards (pieces of the inputs)
//!   furniture.json       reduce 1: site furniture, decided over every shard's votes
//!   duplicates.json      reduce 2: duplicate ids and near-duplicates, over every shard's traces
//!   s00000/votes.parquet     map 1 (traces without SimHashes)
//!   s00000/hashes.parquet    map 2 (traces with them)
//!   s00000/articles/b000001-s00000-<key>.parquet ...   map 3: the shard's parts
//!   s00000/done.json         map 3's record, committed with its parts
//! ```
//!
//! `plan` cuts the inputs into shards (`ingest::shard::plan`); the maps
//! (`votes`, `hashes`, `embed`) each read one shard; the reduces
//! (`furniture`, `duplicates`) and `finish` run once. Between them, the
//! furniture and the duplicates are decided over the whole batch, so the
//! articles come out as one `storyline run` gives them (see
//! `ingest::shard`). `finish` reads every shard's articles and vectors in
//! shard order (which is input order), clusters the corpus, and commits the
//! shards' parts and the whole tables into RUN in one commit, the same
//! all-or-nothing commit as a run's: until then RUN is as it was.
//!
//! Every step is deterministic and writes its files whole (temporary, then
//! rename), and every shard step holds a lock on its shard's folder. So a
//! task that Ray runs again (its worker died) rewrites the same files, a
//! process left running by a killed worker cannot write beside its retry,
//! and a job whose driver was killed can be run again: `plan` keeps the
//! plan when the inputs and settings are the same, and every step skips
//! what is already done.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aggregate::{RunDir, Stamp};
use ingest::shard::{Duplicates, Piece};
use ingest::{Article, Furniture, InputsSeen, Prior, Reject};
use serde::{Deserialize, Serialize};

use crate::manifest::{BatchRecord, InputFile, Manifest};
use crate::run::{stage_done, Embedded, RunOptions, RunReport};
use crate::{NoProgress, PipelineError, Settings};

/// Input bytes per shard when the driver does not say.
pub const DEFAULT_SHARD_BYTES: u64 = 16 << 20;

/// The job: what `plan` decided, read by every later step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// What the job was given; a rerun with the same key resumes the job.
    pub key: PlanKey,
    /// When the job started (the batch's `added_at`).
    pub started_at: String,
    /// Discovery's rejects (shard 0 writes them) and counts.
    pub rejects: Vec<Reject>,
    pub seen: InputsSeen,
}

impl Plan {
    /// The job's settings, with the precision resolved where it was planned.
    fn settings(&self) -> Settings {
        let mut s = self.key.settings.clone();
        s.embed.precision = self.key.precision;
        s
    }
}

/// The part of a plan that decides whether a rerun resumes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanKey {
    pub inputs: Vec<PathBuf>,
    /// Each input file's size and modification time (seconds).
    pub files: Vec<(PathBuf, u64, i64)>,
    pub settings: Settings,
    /// `embed.precision` resolved where the job was planned, so that every
    /// node computes in one precision.
    pub precision: embed::Precision,
    /// Whether the job adds a batch to the run (else it makes a fresh run),
    /// and the batches the run held when the job was planned.
    pub add: bool,
    pub earlier_batches: usize,
    pub shard_bytes: u64,
    pub shards: Vec<Vec<Piece>>,
}

/// What a shard's last map wrote (its `done.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardRecord {
    pub shard: usize,
    pub writer: String,
    pub articles: usize,
    /// Records skipped because the run holds their ids already.
    pub known: usize,
    pub rejects: Vec<Reject>,
    pub warnings: usize,
    /// Input bytes read and WARC records that are not pages.
    pub bytes: u64,
    pub skipped_records: usize,
    /// Rows of each part.
    pub rows: Vec<(String, usize)>,
    /// Seconds of ingest and embed.
    pub seconds: Vec<(String, f64)>,
    pub model_id: String,
    pub dim: usize,
    /// The precision and call shapes its vectors were computed with.
    #[serde(default)]
    pub numerics: String,
    /// The languages the model reads.
    #[serde(default)]
    pub languages: embed::Languages,
    pub peak_rss_mib: Option<f64>,
}

/// Where a job stands (what `plan` prints for the driver).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub shards: usize,
    /// Whether an earlier job with the same plan was found and is resumed.
    pub resumed: bool,
    /// Shards each map has still to do.
    pub votes: Vec<usize>,
    pub hashes: Vec<usize>,
    pub embed: Vec<usize>,
}

/// The folder of a job's work inside a run folder.
pub struct Job {
    out: PathBuf,
    root: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PipelineError + '_ {
    move |source| PipelineError::Io { path: path.to_path_buf(), source }
}

fn json_err(path: &Path, e: serde_json::Error) -> PipelineError {
    PipelineError::Io { path: path.to_path_buf(), source: std::io::Error::other(e) }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), PipelineError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| json_err(path, e))?;
    Ok(aggregate::write_atomic(path, |f| std::io::Write::write_all(f, &bytes))?)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, PipelineError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    serde_json::from_slice(&bytes).map_err(|e| json_err(path, e))
}

/// An exclusive lock on `path` (created), held until dropped; waits for a
/// process that holds it (a task left running by a killed worker).
fn lock(path: &Path) -> Result<std::fs::File, PipelineError> {
    let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(io_err(path))?;
    f.lock().map_err(io_err(path))?;
    Ok(f)
}

impl Job {
    pub fn new(out: &Path) -> Self {
        Self { out: out.to_path_buf(), root: out.join(".shards") }
    }

    fn plan_path(&self) -> PathBuf {
        self.root.join("plan.json")
    }

    fn shard_dir(&self, k: usize) -> PathBuf {
        self.root.join(format!("s{k:05}"))
    }

    /// Shard `k`'s folder (created), and its lock, held until dropped.
    fn lock_shard(&self, k: usize) -> Result<(PathBuf, std::fs::File), PipelineError> {
        let dir = self.shard_dir(k);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let lock = lock(&dir.join(".lock"))?;
        Ok((dir, lock))
    }

    fn done_path(&self, k: usize) -> PathBuf {
        self.shard_dir(k).join("done.json")
    }

    /// The plan, when there is a job.
    pub fn plan(&self) -> Result<Plan, PipelineError> {
        let path = self.plan_path();
        if !path.is_file() {
            return Err(PipelineError::Job(format!("{} holds no sharded job (run `storyline-engine shard plan` first)", self.out.display())));
        }
        read_json(&path)
    }

    fn shard<'a>(&self, plan: &'a Plan, k: usize) -> Result<&'a [Piece], PipelineError> {
        plan.key.shards.get(k).map(Vec::as_slice).ok_or_else(|| PipelineError::Job(format!("the job has {} shards, not shard {k}", plan.key.shards.len())))
    }

    fn status(&self, plan: &Plan, resumed: bool) -> Status {
        let n = plan.key.shards.len();
        let todo = |file: &str| (0..n).filter(|&k| !self.shard_dir(k).join(file).is_file()).collect::<Vec<_>>();
        Status { shards: n, resumed, votes: todo("votes.parquet"), hashes: todo("hashes.parquet"), embed: todo("done.json") }
    }
}

fn file_key(p: &Path) -> (PathBuf, u64, i64) {
    let meta = std::fs::metadata(p).ok();
    let mtime = meta.as_ref().and_then(|m| m.modified().ok()).and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs() as i64);
    (p.to_path_buf(), meta.map_or(0, |m| m.len()), mtime)
}

/// Plans a job that makes a fresh run in `out` from `inputs` (or, with
/// `add`, adds them to the run there, as `storyline add` does): or finds
/// the job an earlier driver left with the same inputs and settings onto the
/// same run, and resumes it.
pub fn plan(inputs: &[PathBuf], out: &Path, settings: &Settings, shard_bytes: u64, add: bool, wait: aggregate::Wait) -> Result<Status, PipelineError> {
    if inputs.iter().any(|p| p.as_os_str() == ingest::STDIN) {
        return Err(PipelineError::Job("a sharded job reads files: standard input (`-`) cannot be cut into shards".into()));
    }
    // One writer of the run at a time (the maps between plan and finish
    // write only in the job's folder; finish checks that no add came between).
    let _writer = aggregate::RunLock::acquire(out, wait)?;
    // Finishes (or undoes) a commit a killed `finish` left.
    let dir = RunDir::open(out)?;
    let (previous, precision) = crate::run::previous_run(&dir, settings, add)?;
    let job = Job::new(out);
    std::fs::create_dir_all(&job.root).map_err(io_err(&job.root))?;
    let _lock = lock(&job.root.join(".lock"))?;
    let found = ingest::discover(inputs);
    for w in &found.warnings {
        tracing::warn!(origin = %w.origin, "{}", w.message);
    }
    let key = PlanKey {
        inputs: inputs.to_vec(),
        files: found.files.iter().map(|f| file_key(f)).collect(),
        settings: settings.clone(),
        precision,
        add,
        earlier_batches: previous.as_ref().map_or(0, |m| m.batches.len()),
        shard_bytes,
        shards: ingest::shard::plan(&found.files, shard_bytes),
    };
    if let Ok(plan) = job.plan() {
        if plan.key == key {
            tracing::info!(shards = key.shards.len(), "resuming the job planned at {}", plan.started_at);
            return Ok(job.status(&plan, true));
        }
    }
    // A new job: whatever an older one left goes.
    let entries = std::fs::read_dir(&job.root).map_err(io_err(&job.root))?;
    for e in entries.flatten() {
        if e.file_name() == ".lock" {
            continue;
        }
        let p = e.path();
        let removed = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        removed.map_err(io_err(&p))?;
    }
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let plan = Plan { key, started_at, rejects: found.rejects, seen: found.seen };
    write_json(&job.plan_path(), &plan)?;
    Ok(job.status(&plan, false))
}

/// Map 1: shard `k`'s votes for site furniture.
pub fn votes(out: &Path, k: usize) -> Result<(), PipelineError> {
    let job = Job::new(out);
    let plan = job.plan()?;
    let pieces = job.shard(&plan, k)?;
    let (dir, _lock) = job.lock_shard(k)?;
    let path = dir.join("votes.parquet");
    if path.is_file() {
        return Ok(());
    }
    let traces = ingest::shard::votes(pieces, &plan.settings().ingest_options(), &prior(&job, &plan)?);
    let mut df = aggregate::traces_frame(&traces, &stamp(&plan))?;
    Ok(aggregate::write_parquet(&path, &mut df)?)
}

/// The paths of one file in every shard's folder.
fn shard_files(job: &Job, plan: &Plan, name: &str) -> Result<Vec<PathBuf>, PipelineError> {
    (0..plan.key.shards.len())
        .map(|k| {
            let p = job.shard_dir(k).join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(PipelineError::Job(format!("shard {k} has no {name} yet: its map has not finished")))
            }
        })
        .collect()
}

/// Reduce 1: site furniture over every shard's votes.
pub fn furniture(out: &Path) -> Result<usize, PipelineError> {
    let job = Job::new(out);
    let plan = job.plan()?;
    let _lock = lock(&job.root.join(".lock"))?;
    let earlier = prior(&job, &plan)?;
    let traces = aggregate::read_trace_files(&shard_files(&job, &plan, "votes.parquet")?)?;
    let furniture = Furniture::decide_traces(earlier.traces.iter().chain(&traces), plan.key.settings.ingest.furniture_min_articles);
    write_json(&job.root.join("furniture.json"), &furniture)?;
    Ok(furniture.outlets())
}

/// Map 2: shard `k`'s articles' traces, with the furniture decided.
pub fn hashes(out: &Path, k: usize) -> Result<(), PipelineError> {
    let job = Job::new(out);
    let plan = job.plan()?;
    let pieces = job.shard(&plan, k)?;
    let furniture: Furniture = read_json(&job.root.join("furniture.json"))?;
    let (dir, _lock) = job.lock_shard(k)?;
    let path = dir.join("hashes.parquet");
    if path.is_file() {
        return Ok(());
    }
    let ingested = ingest::shard::ingest_shard(pieces, k, &plan.key.settings.ingest_options(), &prior(&job, &plan)?, &furniture, None);
    let mut df = aggregate::traces_frame(&ingested.traces, &stamp(&plan))?;
    Ok(aggregate::write_parquet(&path, &mut df)?)
}

/// Reduce 2: duplicate ids and near-duplicates over every shard's traces,
/// in shard order. Returns the number of near-duplicates.
pub fn duplicates(out: &Path) -> Result<usize, PipelineError> {
    let job = Job::new(out);
    let plan = job.plan()?;
    let _lock = lock(&job.root.join(".lock"))?;
    let files = shard_files(&job, &plan, "hashes.parquet")?;
    let shards = files.iter().map(|f| aggregate::read_trace_files(std::slice::from_ref(f))).collect::<Result<Vec<_>, _>>()?;
    let dups = Duplicates::decide(&prior(&job, &plan)?, &shards, plan.key.settings.ingest.duplicate_max_distance);
    write_json(&job.root.join("duplicates.json"), &dups)?;
    Ok(dups.duplicate_of.len())
}

fn stamp(plan: &Plan) -> Stamp {
    Stamp { batch: plan.key.earlier_batches as u32 + 1, added_at: plan.started_at.clone() }
}

/// The earlier batches' traces, when the job adds to a run.
fn prior(job: &Job, plan: &Plan) -> Result<Prior, PipelineError> {
    if plan.key.earlier_batches == 0 {
        return Ok(Prior::default());
    }
    Ok(aggregate::read_traces(&RunDir::existing(&job.out))?)
}

/// Map 3: shard `k`'s final articles, embedded, written as the shard's
/// parts (with the writer key `s<k>-<key of its ids>`, so that the parts
/// sort in shard order) and its record, in one commit.
pub fn embed(out: &Path, k: usize, model_dir: &Path, model_threads: usize) -> Result<(), PipelineError> {
    let job = Job::new(out);
    let plan = job.plan()?;
    let pieces = job.shard(&plan, k)?;
    let furniture: Furniture = read_json(&job.root.join("furniture.json"))?;
    let dups: Duplicates = read_json(&job.root.join("duplicates.json"))?;
    let (shard_dir, _lock) = job.lock_shard(k)?;
    // Finishes or undoes a commit of a killed run of this step.
    let dir = RunDir::open(&shard_dir)?;
    if job.done_path(k).is_file() {
        return Ok(());
    }
    let settings = plan.settings();
    let mut times = Vec::new();
    let t = Instant::now();
    let mut ingested = ingest::shard::ingest_shard(pieces, k, &settings.ingest_options(), &prior(&job, &plan)?, &furniture, Some(&dups));
    if k == 0 {
        let mut rejects = plan.rejects.clone();
        rejects.append(&mut ingested.rejects);
        ingested.rejects = rejects;
    }
    stage_done(&mut times, "ingest", t);
    let writer = format!("s{k:05}-{}", aggregate::writer_key(ingested.articles.iter().map(|a| a.id.as_str())));
    let stamp = stamp(&plan);
    let t = Instant::now();
    // The embedding cache is one append-only file per machine: shard
    // processes do not share it.
    let opts = RunOptions { inputs: Vec::new(), out: out.to_path_buf(), model_dir: model_dir.to_path_buf(), cache_dir: None, model_threads, wait: aggregate::Wait::No };
    let (embedded, sentence_part) = crate::run::embed_batch(&ingested.articles, &opts, &settings, &dir, &writer, &stamp, &NoProgress, None)?;
    stage_done(&mut times, "embed", t);
    let mut commit = dir.commit();
    let rows = crate::manifest::stage_parts(
        &mut commit,
        &dir,
        &writer,
        &stamp,
        &ingested.articles,
        &ingested.rejects,
        &ingested.traces,
        &embedded,
        sentence_part,
    )?;
    let record = ShardRecord {
        shard: k,
        writer,
        articles: ingested.articles.len(),
        known: ingested.known,
        rejects: ingested.rejects,
        warnings: ingested.warnings.len(),
        bytes: ingested.bytes,
        skipped_records: ingested.inputs.skipped_records,
        rows,
        seconds: times.iter().map(|(s, t)| (s.to_string(), *t)).collect(),
        model_id: embedded.model_id.clone(),
        dim: embedded.dim,
        numerics: embedded.numerics.clone(),
        languages: embedded.languages.clone(),
        peak_rss_mib: crate::manifest::peak_rss_mib(),
    };
    let bytes = serde_json::to_vec_pretty(&record).map_err(|e| json_err(&job.done_path(k), e))?;
    commit.add_bytes(&job.done_path(k), &bytes)?;
    Ok(commit.commit()?)
}

/// The last step: clusters the whole corpus (the run's earlier batches when
/// the job adds to it, then every shard's articles and vectors in shard
/// order) and commits the shards' parts and the whole tables into the run
/// folder in one commit, as `storyline run` (or `add`) does; then removes
/// the job's folder.
pub fn finish(out: &Path, wait: aggregate::Wait) -> Result<RunReport, PipelineError> {
    let _writer = aggregate::RunLock::acquire(out, wait)?;
    // Finishes (or undoes) a commit a killed `finish` left.
    let dir = RunDir::open(out)?;
    let job = Job::new(out);
    let plan = job.plan()?;
    let lock_file = lock(&job.root.join(".lock"))?;
    let previous = if plan.key.add { Manifest::read(out)? } else { None };
    let earlier_batches = previous.as_ref().map_or(0, |m| m.batches.len());
    if earlier_batches != plan.key.earlier_batches {
        return Err(PipelineError::Job(format!(
            "the run in {} had {} batches when the job was planned and has {earlier_batches} now; run the job again",
            out.display(),
            plan.key.earlier_batches
        )));
    }
    let records: Vec<ShardRecord> = shard_files(&job, &plan, "done.json")?.iter().map(|p| read_json(p)).collect::<Result<_, _>>()?;
    let settings = plan.settings();
    let mut times: Vec<(&'static str, f64)> = Vec::new();
    for stage in ["ingest", "embed"] {
        let total = records.iter().flat_map(|r| &r.seconds).filter(|(s, _)| s == stage).map(|(_, t)| t).sum();
        times.push((stage, total));
    }
    // Shard 0 carries discovery's rejects; with no shard (no input file),
    // the plan does.
    let mut rejects: Vec<Reject> = records.iter().flat_map(|r| r.rejects.iter().cloned()).collect();
    if records.is_empty() {
        rejects = plan.rejects.clone();
    }
    let known = records.iter().map(|r| r.known).sum();
    let warnings = records.iter().map(|r| r.warnings).sum();
    let inputs = InputsSeen { skipped_records: records.iter().map(|r| r.skipped_records).sum(), ..plan.seen.clone() };
    let added: usize = records.iter().map(|r| r.articles).sum();
    if added == 0 {
        let Some(manifest) = previous else {
            return Err(PipelineError::NoArticles { rejects: rejects.len() });
        };
        // Nothing new: the run stays exactly as it was.
        drop(lock_file);
        remove_job(&job);
        return Ok(RunReport::nothing_new(manifest, plan.key.precision, known, rejects, inputs, warnings));
    }

    let t = Instant::now();
    let (model_id, dim) = records.first().map(|r| (r.model_id.clone(), r.dim)).unwrap_or_default();
    // Shards embedded on machines whose kernels need other call shapes
    // hold vectors that differ in their last bits: said in the manifest.
    let mut numerics: Vec<&str> = records.iter().map(|r| r.numerics.as_str()).collect();
    numerics.sort_unstable();
    numerics.dedup();
    if numerics.len() > 1 {
        tracing::warn!(?numerics, "the shards' vectors were computed with different call shapes (machines whose kernels differ)");
    }
    let numerics = numerics.join(" ");
    let languages = records.first().map(|r| r.languages.clone()).unwrap_or_default();
    if let Some(m) = &previous {
        m.check_vectors(out, &model_id, Path::new("the shards' model"), &numerics)?;
    }
    let mut embedded = Embedded { dim, model_id, precision: plan.key.precision, numerics, languages, articles: Vec::new(), leads: Vec::new() };
    let mut corpus: Vec<Article> = Vec::new();
    let mut assignments = std::collections::HashMap::new();
    if let Some(m) = &previous {
        m.check_parts(&dir, aggregate::Check::Checksum, crate::run::READ_BACK)?;
        crate::run::read_run_into(&dir, m, &mut corpus, &mut embedded)?;
        assignments = aggregate::read_assignments(&dir)?;
    }
    let n_earlier = corpus.len();
    // Opened once: opening finishes or undoes a shard's interrupted commit.
    let shard_dirs: Vec<RunDir> = records.iter().map(|r| RunDir::open(&job.shard_dir(r.shard))).collect::<Result<_, _>>()?;
    for shard in &shard_dirs {
        crate::run::read_parts_into(shard, &mut corpus, &mut embedded)?;
    }
    {
        // The summary counts the batch's sentences.
        use rayon::prelude::*;
        corpus[n_earlier..].par_iter_mut().for_each(|a| a.sentence_spans = ingest::sentence_spans(&a.text));
    }
    stage_done(&mut times, "read", t);

    let t = Instant::now();
    let clustering = crate::run::cluster_articles(&corpus, &embedded, &settings);
    stage_done(&mut times, "cluster", t);

    let t = Instant::now();
    let stamp = stamp(&plan);
    let ids = crate::ids::carry(&corpus, &clustering, &assignments, previous.as_ref(), &dir, &stamp)?;
    let mut commit = dir.commit();
    if !plan.key.add {
        for p in dir.all_outputs() {
            commit.remove(p);
        }
    }
    let mut rows: Vec<(String, usize)> = Vec::new();
    for (r, shard) in records.iter().zip(&shard_dirs) {
        for table in aggregate::PART_TABLES {
            let from = shard.part_path(table, stamp.batch, &r.writer);
            if !from.is_file() {
                return Err(PipelineError::Job(format!("shard {}: {} is missing", r.shard, from.display())));
            }
            commit.rename(from, dir.part_path(table, stamp.batch, &r.writer));
        }
        for (table, n) in &r.rows {
            match rows.iter_mut().find(|(t, _)| t == table) {
                Some((_, total)) => *total += n,
                None => rows.push((table.clone(), *n)),
            }
        }
    }
    rows.extend(crate::manifest::stage_whole(&mut commit, &dir, &stamp, &corpus, &embedded, &clustering, &ids)?);
    rows.sort();
    stage_done(&mut times, "aggregate", t);

    let peak = records.iter().filter_map(|r| r.peak_rss_mib).chain(crate::manifest::peak_rss_mib()).reduce(f64::max);
    let record = BatchRecord {
        batch: stamp.batch,
        added_at: stamp.added_at.clone(),
        writer: records.iter().map(|r| r.writer.as_str()).collect::<Vec<_>>().join(","),
        inputs: plan.key.files.iter().map(|(f, _, _)| InputFile::describe(f)).collect(),
        articles: added,
        known,
        rejects: rejects.len(),
        warnings,
        seconds: times.iter().map(|(s, t)| (s.to_string(), *t)).collect(),
        peak_rss_mib: peak,
        parts: commit.parts()?,
    };
    let previous_json = previous.as_ref().map(Manifest::to_json);
    let mut manifest = Manifest::new(previous, record, &plan.key.settings, &embedded, rows, ids.next_event_id, ids.next_story_id);
    manifest.outside_languages = crate::run::outside_languages(&corpus, &embedded.languages);
    commit.remove(job.plan_path());
    manifest.stage(&mut commit, &dir, previous_json.as_deref())?;
    commit.commit()?;
    drop(lock_file);
    remove_job(&job);
    Ok(RunReport {
        added,
        known,
        warnings,
        articles: corpus,
        rejects,
        inputs,
        clustering,
        event_ids: ids.event_of,
        story_ids: ids.story_of,
        embedded,
        manifest,
        committed: true,
    })
}

fn remove_job(job: &Job) {
    if let Err(e) = std::fs::remove_dir_all(&job.root) {
        tracing::warn!(path = %job.root.display(), error = %e, "cannot remove the finished job's folder");
    }
}
