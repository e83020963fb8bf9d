//! Aggregation: turns ingested, embedded and clustered articles into the
//! parquet tables analysts open, with polars. Every file is written
//! atomically (temporary file in the same folder, fsync, rename), so a crash
//! never leaves a half-written table behind.

mod atomic;
mod events;
mod read_parts;
mod run_dir;
mod run_lock;
mod tables;

pub use atomic::{stage, stage_parquet, write_atomic, write_parquet, Staged, StagedParquet};
pub use events::{article_events_frame, changes_frame, events_frame, stories_frame, timeline_frame, ChangeRecord, GroupMeta};
pub use run_dir::{writer_key, Check, Commit, Finding, PartRecord, RunDir, JOURNAL, PART_TABLES, WHOLE_TABLES};
pub use run_lock::{Holder, RunLock, Wait, LOCK_FILE};
pub use read_parts::{
    parquet_rows, read_articles, read_assignments, read_embeddings, read_group_history, read_strings, read_trace_files, read_traces, Assignment, Vectors,
};
pub use tables::{
    articles_frame, embeddings_frame, rejects_frame, sentence_embeddings_frame, sentences_frame, traces_frame, Stamp,
};

/// Errors of the aggregate stage.
#[derive(Debug, thiserror::Error)]
pub enum AggregateError {
    #[error("cannot write {path}: {source}{hint}", hint = io_hint(source))]
    Io { path: std::path::PathBuf, source: std::io::Error },
    #[error("cannot build table {table}: {source}")]
    Polars { table: &'static str, source: polars::error::PolarsError },
    #[error("cannot read {path}: {source}")]
    Read { path: std::path::PathBuf, source: polars::error::PolarsError },
    #[error("{} is being written by another storyline: {holder}; pass --wait to wait for it", run.display())]
    Locked { run: std::path::PathBuf, holder: String },
    #[error("cannot lock {path}: {source} (this file system does not support file locks, so the run cannot be written safely; put it on a local disk or a file system with locking: see the README, 'Many machines')")]
    LockUnsupported { path: std::path::PathBuf, source: std::io::Error },
}
pub use polars::prelude::DataFrame;

/// What the user can do about the usual write failures.
fn io_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded | std::io::ErrorKind::FileTooLarge => {
            " (the disk or the file-size limit is full: free space or choose another --out; finished outputs of earlier runs are untouched)"
        }
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            " (the output folder is not writable: choose another --out)"
        }
        _ => "",
    }
}
