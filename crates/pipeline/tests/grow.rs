//! Adding to a run, with the real model on the bundled seeds: adding the
//! same input twice changes nothing, event ids last through growth, merges
//! and splits, a killed add leaves the run as it was, and batches give the
//! same tables at any thread count.

use std::path::{Path, PathBuf};

use pipeline::{NoProgress, RunOptions, Settings};
use polars::prelude::*;

use pipeline::Wait;

mod common;
use common::{model, snapshot, workspace};

fn seeds() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(workspace().join("data/seeds")).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    assert_eq!(v.len(), 5);
    v
}

fn opts(out: &Path, inputs: Vec<PathBuf>) -> RunOptions {
    RunOptions { inputs, out: out.to_path_buf(), model_dir: model(), cache_dir: None, model_threads: 2, wait: Wait::No }
}

fn add(out: &Path, inputs: Vec<PathBuf>, settings: &Settings) -> pipeline::RunReport {
    let report = pipeline::add(&opts(out, inputs), settings, &NoProgress).expect("add works");
    common::verified(out);
    report
}

fn read(p: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(p).unwrap()).finish().unwrap()
}

/// (article id, event id) of the run's current state.
fn events_of(run: &Path) -> Vec<(String, u32)> {
    let df = read(&run.join("article_events.parquet"));
    let ids = df.column("article_id").unwrap().str().unwrap().iter().map(|s| s.unwrap().to_string());
    let ev = df.column("event_id").unwrap().u32().unwrap().into_no_null_iter();
    let mut v: Vec<(String, u32)> = ids.zip(ev).collect();
    v.sort();
    v
}

fn changes(run: &Path) -> Vec<(String, u32, String, Option<u32>)> {
    let df = read(&run.join("changes.parquet"));
    let level = df.column("level").unwrap().str().unwrap().iter().map(|s| s.unwrap().to_string()).collect::<Vec<_>>();
    let id = df.column("id").unwrap().u32().unwrap().into_no_null_iter().collect::<Vec<_>>();
    let change = df.column("change").unwrap().str().unwrap().iter().map(|s| s.unwrap().to_string()).collect::<Vec<_>>();
    let other = df.column("other_id").unwrap().u32().unwrap().iter().collect::<Vec<_>>();
    (0..df.height()).map(|i| (level[i].clone(), id[i], change[i].clone(), other[i])).collect()
}

#[test]
fn adding_the_same_input_twice_changes_nothing() {
    let run = tempfile::tempdir().unwrap();
    let first = add(run.path(), seeds()[..3].to_vec(), &Settings::default());
    assert!(first.committed);
    assert_eq!(first.added, 3, "with no run there yet, add acts as run");
    let before = snapshot(run.path());
    let again = add(run.path(), seeds()[..3].to_vec(), &Settings::default());
    assert!(!again.committed);
    assert_eq!((again.added, again.known), (0, 3));
    assert_eq!(snapshot(run.path()), before, "nothing in the run changed");
    // Adding all five adds only the two new ones.
    let more = add(run.path(), seeds(), &Settings::default());
    assert_eq!((more.added, more.known), (2, 3));
    let articles: usize = std::fs::read_dir(run.path().join("articles")).unwrap().map(|e| read(&e.unwrap().path()).height()).sum();
    assert_eq!(articles, 5, "each article stored once");
    let manifest = pipeline::Manifest::read(run.path()).unwrap().unwrap();
    assert_eq!(manifest.batches.len(), 2);
    assert_eq!(manifest.rows.iter().find(|(t, _)| t == "articles").map(|r| r.1), Some(5));
}

/// Growth, then a merge (a looser threshold joins the seeds' events: the
/// older id survives), then a split (a strict threshold: the largest part
/// keeps the id, the rest get new ones, never reused).
#[test]
fn event_ids_last_through_growth_merges_and_splits() {
    let run = tempfile::tempdir().unwrap();
    let s = seeds();
    // Thresholds of the hand-set score, whose range is easy to reach both ends of.
    let mut weighted = Settings::default();
    weighted.set("pair_score", "weighted").unwrap();
    let strict = {
        let mut x = weighted.clone();
        x.set("threshold", "0.99").unwrap();
        x.set("story_threshold", "0.99").unwrap();
        x
    };
    let mut loose = weighted.clone();
    loose.set("threshold", "0.05").unwrap();
    loose.set("edge_min", "0.0").unwrap();

    add(run.path(), s[..2].to_vec(), &strict);
    let one = events_of(run.path());
    assert_eq!(one.iter().map(|e| e.1).collect::<std::collections::BTreeSet<_>>().len(), 2, "two singleton events: {one:?}");
    assert!(changes(run.path()).iter().filter(|c| c.0 == "event").all(|c| c.2 == "new"));

    // A third seed, clustered loosely: everything joins one event, which
    // keeps the older id (0); event 1 is merged into it.
    add(run.path(), s[2..3].to_vec(), &loose);
    let two = events_of(run.path());
    assert!(two.iter().all(|e| e.1 == 0), "one event with the oldest id: {two:?}");
    let ch = changes(run.path());
    assert!(ch.contains(&("event".into(), 0, "grew".into(), None)), "{ch:?}");
    assert!(ch.contains(&("event".into(), 1, "merged".into(), Some(0))), "{ch:?}");

    // A fourth seed, clustered strictly: the event splits into singletons.
    // One keeps id 0; the others get ids from 2 on (1 is never reused).
    add(run.path(), s[3..4].to_vec(), &strict);
    let three = events_of(run.path());
    let ids: std::collections::BTreeSet<u32> = three.iter().map(|e| e.1).collect();
    assert!(ids.contains(&0) && !ids.contains(&1), "{three:?}");
    assert!(ids.iter().filter(|&&i| i != 0).all(|&i| i >= 2), "{three:?}");
    let ch = changes(run.path());
    assert!(ch.iter().any(|c| c.0 == "event" && c.2 == "split" && c.3 == Some(0)), "{ch:?}");
    // Every row of every table says which batch it came with.
    let events = read(&run.path().join("events.parquet"));
    assert!(events.column("first_batch").is_ok() && events.column("batch").is_ok());
    let batches: Vec<u32> = std::fs::read_dir(run.path().join("articles"))
        .unwrap()
        .flat_map(|e| read(&e.unwrap().path()).column("batch").unwrap().u32().unwrap().into_no_null_iter().collect::<Vec<_>>())
        .collect();
    assert_eq!(batches.iter().copied().collect::<std::collections::BTreeSet<_>>(), [1, 2, 3].into());
}

/// The same inputs in the same batches give the same tables, with one
/// thread or two (times aside).
#[test]
fn batches_are_deterministic_at_any_thread_count() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (run, threads) in [(a.path(), 2), (b.path(), 1)] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            add(run, seeds()[..3].to_vec(), &Settings::default());
            add(run, seeds(), &Settings::default());
        });
    }
    let (sa, sb) = (snapshot(a.path()), snapshot(b.path()));
    let names = |s: &[(PathBuf, Vec<u8>)], root: &Path| s.iter().map(|(p, _)| p.strip_prefix(root).unwrap().to_path_buf()).collect::<Vec<_>>();
    assert_eq!(names(&sa, a.path()), names(&sb, b.path()), "the same part names");
    for ((p, _), (q, _)) in sa.iter().zip(&sb) {
        if p.extension().is_some_and(|x| x == "parquet") {
            let drop_time = |df: DataFrame| df.drop_many(["added_at", "changed_at"]);
            assert!(drop_time(read(p)).equals_missing(&drop_time(read(q))), "{} differs", p.display());
        }
    }
}

/// kill -9 during an add: the run is exactly as it was (once reopened,
/// which removes the killed add's hidden temporary files).
#[test]
fn a_killed_add_leaves_the_run_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let (cache, run) = (tmp.path().join("cache"), tmp.path().join("run"));
    let storyline = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_storyline"));
        c.env("STORYLINE_CACHE", &cache).env("STORYLINE_MODEL", model());
        c
    };
    let ok = storyline().args(["add", "--quiet", "--no-cache", "--input"]).arg(workspace().join("data/seeds")).arg("--out").arg(&run).status().unwrap();
    assert!(ok.success());
    let before = snapshot(&run);
    // A batch big enough to be killed while it embeds.
    let input = tmp.path().join("more.jsonl");
    let lines: Vec<String> = (0..400)
        .map(|i| {
            let text: String = (0..6).map(|k| format!("Report {i} line {k}: crews in ward {} closed road {} near {} Avenue. ", i % 13, i * 7 + k, 50 + k * i)).collect();
            serde_json::json!({"id": format!("m{i}"), "title": format!("Roadworks {i}"), "date": "2022-03-04", "text": text}).to_string()
        })
        .collect();
    std::fs::write(&input, lines.join("\n")).unwrap();
    let mut child = storyline()
        .args(["add", "--quiet", "--no-cache", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&run)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once it has started writing its sentence vectors.
    let start = std::time::Instant::now();
    let staging = || std::fs::read_dir(run.join("sentence_embeddings")).unwrap().flatten().any(|e| e.file_name().to_string_lossy().ends_with(".tmp"));
    while !staging() {
        assert!(start.elapsed() < std::time::Duration::from_secs(300), "the add never started writing");
        assert!(child.try_wait().unwrap().is_none(), "the add finished before it could be killed");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    aggregate::RunDir::open(&run).unwrap();
    assert_eq!(snapshot(&run), before, "the killed add changed the run");
}

/// A run's vectors come from one engine: an add with another is refused,
/// naming the setting that matches the run, and changes nothing.
#[test]
fn an_add_keeps_the_runs_engine() {
    let run = tempfile::tempdir().unwrap();
    let mut reference = Settings::default();
    reference.set("embed.engine", "rust-bert").unwrap();
    add(run.path(), seeds()[..2].to_vec(), &reference);
    let manifest = pipeline::Manifest::read(run.path()).unwrap().unwrap();
    assert_eq!(embed::Engine::of_numerics(&manifest.embed_numerics), embed::Engine::RustBert);
    let before = snapshot(run.path());
    let err = pipeline::add(&opts(run.path(), seeds()), &Settings::default(), &NoProgress).err().expect("another engine must not add").to_string();
    assert!(err.contains("rust-bert encoder") && err.contains("embed.engine = \"rust-bert\""), "{err}");
    assert_eq!(snapshot(run.path()), before, "the refused add changed the run");
    let more = add(run.path(), seeds(), &reference);
    assert_eq!(more.added, 3);
}

/// A run's vectors come from one model: an add whose model has another
/// checksum than the run's is refused and changes nothing.
#[test]
fn an_add_keeps_the_runs_model() {
    let run = tempfile::tempdir().unwrap();
    add(run.path(), seeds()[..2].to_vec(), &Settings::default());
    // The run as if made with another model.
    let path = run.path().join("manifest.json");
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest["model_sha256"] = "0".repeat(64).into();
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    let before = snapshot(run.path());
    let err = pipeline::add(&opts(run.path(), seeds()), &Settings::default(), &NoProgress).err().expect("another model must not add").to_string();
    assert!(err.contains("vectors of two models must not mix") && err.contains(&"0".repeat(64)), "{err}");
    assert_eq!(snapshot(run.path()), before, "the refused add changed the run");
}
