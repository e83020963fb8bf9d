//! Aggregation: turns ingested, embedded and clustered articles into the
//! parquet tables analysts open, with polars. Every file is written
//! atomically (temporary file in the same folder, fsync, rename), so a crash
//! never leaves a half-written table behind.

mod atomic;
mod events;
mod tables;

pub use atomic::{write_atomic, write_parquet};
pub use events::{events_frame, stories_frame, timeline_frame};
pub use tables::{
    articles_frame, embeddings_frame, rejects_frame, sentence_embeddings_frame, sentences_frame, ArticleExtras,
};

/// Errors of the aggregate stage.
#[derive(Debug, thiserror::Error)]
pub enum AggregateError {
    #[error("cannot write {path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
    #[error("cannot build table {table}: {source}")]
    Polars { table: &'static str, source: polars::error::PolarsError },
}
pub use polars::prelude::DataFrame;
