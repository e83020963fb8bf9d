//! The pipeline: ingest -> embed -> cluster -> aggregate, and the
//! evaluation of its events against gold labels. The `storyline` binary is
//! a thin clap front end over this crate.

mod eval;
mod manifest;
mod progress;
mod run;
mod settings;

pub use eval::{read_gold, score_run, EvalRecord, Gold};
pub use manifest::Manifest;
pub use progress::{NoProgress, Progress};
pub use run::{cluster_articles, default_cache_dir, default_model_dir, embed_articles, run, Embedded, RunOptions, RunReport};
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
    #[error("no usable article in the input ({rejects} skipped); see the warnings above")]
    NoArticles { rejects: usize },
    #[error("cannot write {path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
}
