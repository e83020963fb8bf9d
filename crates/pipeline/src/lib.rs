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

pub use eval::{read_gold, score_run, split_batches, BatchPlan, EvalRecord, Gold, Level};
pub use manifest::{BatchRecord, InputFile, Manifest};
pub use progress::{NoProgress, Progress};
pub use run::{add, cluster_articles, default_cache_dir, default_model_dir, embed_articles, run, Embedded, RunOptions, RunReport};
pub use settings::{EmbedSettings, Settings};

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
    #[error("{} holds a run written by an older storyline (one file per table); `storyline run --out {}` writes it anew", run.display(), run.display())]
    OldLayout { run: std::path::PathBuf },
    #[error("the run in {} holds {run_precision} vectors but this add would compute {now} (set embed.precision = \"{run_precision}\"): f32 and bf16 vectors must not mix", run.display())]
    PrecisionMismatch { run: std::path::PathBuf, run_precision: String, now: embed::Precision },
}
