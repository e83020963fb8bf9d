//! The pipeline: ingest -> embed -> cluster -> aggregate, and the
//! evaluation of its events against gold labels. The `storyline` binary is
//! a thin clap front end over this crate.

mod eval;
mod ids;
mod manifest;
mod progress;
mod run;
mod settings;
pub mod shards;
pub mod train;
pub mod verify;

pub use eval::{read_gold, score_run, split_batches, BatchPlan, EvalRecord, Gold, Level};
pub use manifest::{BatchRecord, InputFile, Manifest};
pub use progress::{NoProgress, Progress};
pub use run::{add, cluster_articles, outside_languages, default_cache_dir, default_model_dir, embed_articles, run, Embedded, RunOptions, RunReport};
pub use settings::{EmbedSettings, Settings};
pub use aggregate::Wait;

/// Errors that stop a run (bad *input* never does: it is skipped and reported).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Embed(#[from] embed::EmbedError),
    #[error(transparent)]
    Aggregate(#[from] aggregate::AggregateError),
    #[error(transparent)]
    Config(#[from] cluster::ConfigError),
    #[error("gold file {path}: {reason}")]
    Gold { path: std::path::PathBuf, reason: String },
    #[error("sharded job: {0}")]
    Job(String),
    #[error("no usable article in the input ({rejects} skipped); see the warnings above")]
    NoArticles { rejects: usize },
    #[error("cannot write {path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
    #[error("{} holds a run written by an older storyline (one file per table), which this version cannot add to; it is left as it is: run into a new folder (`storyline run --out NEW ...`) to start a run of this layout", run.display())]
    OldLayout { run: std::path::PathBuf },
    #[error("{} is damaged: it is not valid JSON ({reason}; it breaks at byte {offset}). It is kept as it is and nothing was written; manifest.prev.json holds the manifest before the latest batch: docs/outputs.md, 'A damaged run', says how to recover by hand", path.display())]
    DamagedManifest { path: std::path::PathBuf, offset: usize, reason: String },
    #[error("{} is JSON but not a manifest this storyline reads ({reason}): written by another version, or edited by hand. It is kept as it is and nothing was written", path.display())]
    ManifestMismatch { path: std::path::PathBuf, reason: String },
    #[error("the run in {} does not match its manifest, so nothing was written:\n  {}{}\n`storyline verify {}` lists every finding; docs/outputs.md, 'A damaged run', says what can be done", run.display(), findings.iter().take(10).cloned().collect::<Vec<_>>().join("\n  "), if findings.len() > 10 { format!("\n  ... and {} more", findings.len() - 10) } else { String::new() }, run.display())]
    RunDamaged { run: std::path::PathBuf, findings: Vec<String> },
    #[error("the run in {} holds {run_precision} vectors but this add would compute {now} (set embed.precision = \"{run_precision}\"): f32 and bf16 vectors must not mix", run.display())]
    PrecisionMismatch { run: std::path::PathBuf, run_precision: String, now: embed::Precision },
    #[error("the run in {} holds vectors of the model with checksum {run_model} but this add would compute them with {now} ({}): vectors of two models must not mix; add with the run's model, or start a new run", run.display(), dir.display())]
    ModelMismatch { run: std::path::PathBuf, run_model: String, now: String, dir: std::path::PathBuf },
    #[error("the run in {} holds vectors computed by the {run_engine} encoder but this add would compute them with {now} (set embed.engine = \"{run_engine}\"): vectors of two engines must not mix", run.display())]
    EngineMismatch { run: std::path::PathBuf, run_engine: embed::Engine, now: embed::Engine },
}
