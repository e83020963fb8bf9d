//! A run made in shards (the steps `cargo xtask ray` runs on a cluster,
//! called here in one process) gives the same tables as one `run`, with the
//! real model: site furniture and duplicates decided across shards, a
//! large JSONL file cut by lines, steps run twice, a killed step's leftovers.

use std::path::{Path, PathBuf};

use pipeline::{shards, NoProgress, RunOptions, Settings};

use pipeline::Wait;

mod common;
use common::{assert_same_run, model, workspace};

/// The seeds, plus a JSONL feed with a near-duplicate of a seed, a record
/// whose id an earlier shard holds, a broken line, and furniture lines that
/// only counting across shards finds.
fn corpus(dir: &Path) -> Vec<PathBuf> {
    let seeds = workspace().join("data/seeds");
    let mut lines = Vec::new();
    for n in 0..6 {
        let body = format!(
            "Crews in town {n} repaired the river bridge on Tuesday after the floods, the council said. \
             Traffic on the bridge in town {n} will resume next week, officials said. \
             Engineers inspected the steel beams, railings and deck surface before reopening lanes for buses, trucks and cars.\nSign up for our newsletter: the day's news in your inbox."
        );
        lines.push(serde_json::json!({"id": format!("b{n}"), "title": format!("Bridge {n} repaired - Valley Times"), "date": "2024-03-0{}", "source": "valley", "text": body}).to_string().replace("2024-03-0{}", &format!("2024-03-0{}", n + 1)));
    }
    // Bridge 2's story again, under another headline: a near-duplicate.
    lines.push(lines[2].replace("\"b2\"", "\"copy\"").replace("Bridge 2 repaired", "Town 2 bridge open again"));
    lines.push(serde_json::json!({"id": "b1", "title": "Same id again", "text": "A later record with an id an earlier shard holds."}).to_string());
    lines.push("{not json".to_string());
    let feed = dir.join("feed.jsonl");
    std::fs::write(&feed, lines.join("\n") + "\n").unwrap();
    vec![seeds, feed]
}

fn run_in_shards(inputs: &[PathBuf], out: &Path, shard_bytes: u64, add: bool) -> shards::Status {
    run_in_shards_with(inputs, out, shard_bytes, add, &Settings::default())
}

fn run_in_shards_with(inputs: &[PathBuf], out: &Path, shard_bytes: u64, add: bool, settings: &Settings) -> shards::Status {
    let status = shards::plan(inputs, out, settings, shard_bytes, add, Wait::No).unwrap();
    let n = status.shards;
    for k in 0..n {
        shards::votes(out, k).unwrap();
    }
    shards::furniture(out).unwrap();
    for k in 0..n {
        shards::hashes(out, k).unwrap();
    }
    shards::duplicates(out).unwrap();
    for k in (0..n).rev() {
        shards::embed(out, k, &model(), 2).unwrap();
    }
    // A step run again (Ray retried it) changes nothing.
    shards::embed(out, 0, &model(), 2).unwrap();
    shards::finish(out, Wait::No).unwrap();
    status
}

#[test]
fn a_run_in_shards_is_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = corpus(dir.path());
    let one = dir.path().join("one");
    let report = pipeline::run(
        &RunOptions { inputs: inputs.clone(), out: one.clone(), model_dir: model(), cache_dir: None, model_threads: 2, wait: Wait::No },
        &Settings::default(),
        &NoProgress,
    )
    .unwrap();
    assert!(report.articles.iter().any(|a| a.duplicate_of.is_some()), "the corpus has a near-duplicate");
    assert!(report.rejects.iter().any(|r| r.reason.contains("duplicate id")), "and a duplicate id");
    assert!(report.articles.iter().filter(|a| a.id.starts_with('b')).all(|a| !a.text.contains("newsletter")), "and furniture");

    let sharded = dir.path().join("sharded");
    // Leftovers of an older job and of a killed commit are cleared.
    std::fs::create_dir_all(sharded.join(".shards/s00009")).unwrap();
    let status = run_in_shards(&inputs, &sharded, 2_000, false);
    assert!(status.shards >= 6, "small shards, the feed cut by lines: {status:?}");
    assert!(!sharded.join(".shards").exists(), "the job's folder is gone once committed");
    assert_same_run(&one, &sharded);
    let parts = std::fs::read_dir(sharded.join("articles")).unwrap().count();
    assert_eq!(parts, status.shards, "one part per shard");
}

/// In bf16 too, bit for bit (forced on: emulated where the CPU has no bf16,
/// so on a small corpus): bf16's rounding is what made a vector depend on
/// its batch mates before calls had shapes of their own.
#[test]
fn a_run_in_shards_is_the_same_run_in_bf16() {
    let dir = tempfile::tempdir().unwrap();
    let feed = corpus(dir.path()).pop().unwrap();
    let seed = workspace().join("data/seeds/000_b46e84a0c4f86c84.txt");
    let inputs = vec![seed, feed];
    let mut settings = Settings::default();
    settings.set("embed.precision", "bf16").unwrap();
    let one = dir.path().join("one");
    let opts = RunOptions { inputs: inputs.clone(), out: one.clone(), model_dir: model(), cache_dir: None, model_threads: 2, wait: Wait::No };
    pipeline::run(&opts, &settings, &NoProgress).unwrap();
    let sharded = dir.path().join("sharded");
    let status = run_in_shards_with(&inputs, &sharded, 1_000, false, &settings);
    assert!(status.shards >= 2, "{status:?}");
    assert_same_run(&one, &sharded);
    assert_eq!(pipeline::Manifest::read(&sharded).unwrap().unwrap().embed_precision, "bf16");
}

/// A job that adds a batch to a run is `storyline add`: records the run
/// holds are skipped, furniture and near-duplicates count the earlier
/// batches, event ids carry over.
#[test]
fn adding_in_shards_is_adding() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = corpus(dir.path());
    let opts = |out: &Path, inputs: Vec<PathBuf>| RunOptions { inputs, out: out.to_path_buf(), model_dir: model(), cache_dir: None, model_threads: 2, wait: Wait::No };
    // The first batch: the feed (and so its furniture and bridge 2).
    let (one, sharded) = (dir.path().join("one"), dir.path().join("sharded"));
    for out in [&one, &sharded] {
        pipeline::run(&opts(out, vec![inputs[1].clone()]), &Settings::default(), &NoProgress).unwrap();
    }
    // The second: the seeds and the feed again.
    let added = pipeline::add(&opts(&one, inputs.clone()), &Settings::default(), &NoProgress).unwrap();
    assert_eq!(added.known, 8, "the feed's records are in the run already");
    let status = run_in_shards(&inputs, &sharded, 3_000, true);
    assert!(status.shards >= 3, "{status:?}");
    assert_same_run(&one, &sharded);
    let manifest = pipeline::Manifest::read(&sharded).unwrap().unwrap();
    assert_eq!(manifest.batches.len(), 2);
    assert_eq!((manifest.batches[1].articles, manifest.batches[1].known), (5, 8));
    // Nothing new: the run stays as it was.
    let before = common::snapshot(&sharded);
    shards::plan(&inputs, &sharded, &Settings::default(), 3_000, true, Wait::No).unwrap();
    let n = shards::plan(&inputs, &sharded, &Settings::default(), 3_000, true, Wait::No).unwrap().shards;
    for k in 0..n {
        shards::votes(&sharded, k).unwrap();
    }
    shards::furniture(&sharded).unwrap();
    for k in 0..n {
        shards::hashes(&sharded, k).unwrap();
    }
    shards::duplicates(&sharded).unwrap();
    for k in 0..n {
        shards::embed(&sharded, k, &model(), 2).unwrap();
    }
    let report = shards::finish(&sharded, Wait::No).unwrap();
    assert!(!report.committed);
    assert_eq!(report.known, 13);
    assert_eq!(common::snapshot(&sharded), before);
}

/// A job whose driver died is planned again with the same shards and
/// resumes: the steps already done are not listed again.
#[test]
fn a_job_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = corpus(dir.path());
    let out = dir.path().join("run");
    let first = shards::plan(&inputs, &out, &Settings::default(), 4_000, false, Wait::No).unwrap();
    assert!(!first.resumed);
    shards::votes(&out, 0).unwrap();
    shards::votes(&out, 1).unwrap();
    let again = shards::plan(&inputs, &out, &Settings::default(), 4_000, false, Wait::No).unwrap();
    assert!(again.resumed);
    assert_eq!(again.votes, (2..first.shards).collect::<Vec<_>>());
    // Other settings: a new job.
    let mut other = Settings::default();
    other.cluster.threshold += 0.01;
    let fresh = shards::plan(&inputs, &out, &other, 4_000, false, Wait::No).unwrap();
    assert!(!fresh.resumed);
    assert_eq!(fresh.votes.len(), fresh.shards);
    // A finish before the maps are done says which shard is missing.
    let err = shards::furniture(&out).unwrap_err().to_string();
    assert!(err.contains("shard 0 has no votes.parquet"), "{err}");
}
