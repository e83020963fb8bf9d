//! The whole pipeline on the bundled seeds with the real model: outputs,
//! event and story ids, and byte-identical tables for 1 and 2 threads.

use std::path::{Path, PathBuf};

use pipeline::{NoProgress, RunOptions, Settings};
use polars::prelude::*;

mod common;
use common::{model, workspace};

fn run_seeds(out: &Path, threads: usize) -> pipeline::RunReport {
    let opts = RunOptions {
        inputs: vec![workspace().join("data/seeds")],
        out: out.to_path_buf(),
        model_dir: model(),
        cache_dir: None,
        model_threads: threads,
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| pipeline::run(&opts, &Settings::default(), &NoProgress)).expect("pipeline runs on the seeds")
}

fn read(p: &Path) -> DataFrame {
    let f = std::fs::File::open(p).unwrap();
    ParquetReader::new(f).finish().unwrap()
}

#[test]
fn seeds_end_to_end_and_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let report = run_seeds(a.path(), 2);
    run_seeds(b.path(), 1);

    let articles = read(&a.path().join("articles.parquet"));
    assert_eq!(articles.height(), 5);
    for col in ["id", "title", "date", "date_source", "outlet", "place", "language", "text", "duplicate_of", "event_id", "story_id"] {
        assert!(articles.column(col).is_ok(), "articles.parquet lacks {col}");
    }
    assert_eq!(articles.column("event_id").unwrap().null_count(), 0);
    assert_eq!(read(&a.path().join("embeddings.parquet")).height(), 5);
    let emb = read(&a.path().join("embeddings.parquet"));
    assert_eq!(emb.column("vector").unwrap().dtype(), &DataType::Array(Box::new(DataType::Float32), 384));
    let sentences = read(&a.path().join("sentences.parquet"));
    assert_eq!(sentences.height(), report.articles.iter().map(|a| a.sentence_spans.len()).sum::<usize>());
    assert!(a.path().join("manifest.json").is_file());
    // No temporary files left behind.
    for e in std::fs::read_dir(a.path()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "temporary file {name} left in the output");
    }
    // The coalition-withdrawal articles of 2021-2024 form one story.
    assert_eq!(report.clustering.n_stories, 1, "stories: {:?}", report.clustering.story);

    for table in ["articles.parquet", "sentences.parquet", "embeddings.parquet", "sentence_embeddings.parquet", "rejects.parquet"] {
        let x = std::fs::read(a.path().join(table)).unwrap();
        let y = std::fs::read(b.path().join(table)).unwrap();
        assert!(x == y, "{table} differs between 2 threads and 1 thread");
    }
}

#[test]
fn missing_model_is_a_clear_error() {
    let out = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        inputs: vec![workspace().join("data/seeds")],
        out: out.path().to_path_buf(),
        model_dir: out.path().join("no-model-here"),
        cache_dir: None,
        model_threads: 1,
    };
    let err = pipeline::run(&opts, &Settings::default(), &NoProgress).err().expect("must fail").to_string();
    assert!(err.contains("no-model-here") && err.contains("cargo xtask setup"), "{err}");
}

#[test]
fn unwritable_output_is_a_clear_error() {
    let opts = RunOptions {
        inputs: vec![workspace().join("data/seeds")],
        out: PathBuf::from("/proc/storyline-out"),
        model_dir: model(),
        cache_dir: None,
        model_threads: 1,
    };
    let err = pipeline::run(&opts, &Settings::default(), &NoProgress).err().expect("must fail").to_string();
    assert!(err.contains("/proc/storyline-out"), "{err}");
}

/// (column, type) rows of one file's table in docs/outputs.md.
fn documented(file: &str) -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(workspace().join("docs/outputs.md")).unwrap();
    let section = doc.split("\n## ").find(|s| s.starts_with(&format!("`{file}`"))).unwrap_or_else(|| panic!("docs/outputs.md has no section for {file}"));
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].trim_matches('`').to_string())
        })
        .collect()
}

#[test]
fn docs_outputs_md_matches_the_real_schemas() {
    let out = tempfile::tempdir().unwrap();
    run_seeds(out.path(), 2);
    let mut files: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".parquet"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 8, "{files:?}");
    for f in files {
        let df = read(&out.path().join(&f));
        let actual: Vec<(String, String)> = df.schema().iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
        assert_eq!(documented(&f), actual, "docs/outputs.md is out of date for {f}");
    }
}
