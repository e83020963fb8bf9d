//! A run made in shards (the steps `cargo xtask ray` runs on a cluster,
//! called here in one process) gives the same tables as one `run`, with the
//! real model: site furniture and duplicates decided across shards, a
//! large JSONL file cut by lines, steps run twice, a killed step's leftovers.

use std::path::{Path, PathBuf};

use pipeline::{shards, NoProgress, RunOptions, Settings};

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
             Traffic on the bridge in town {n} will resume next week, officials said.\nSign up for our newsletter: the day's news in your inbox."
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

fn run_in_shards(inputs: &[PathBuf], out: &Path, shard_bytes: u64) -> shards::Status {
    let status = shards::plan(inputs, out, &Settings::default(), shard_bytes).unwrap();
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
    shards::finish(out).unwrap();
    status
}

#[test]
fn a_run_in_shards_is_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = corpus(dir.path());
    let one = dir.path().join("one");
    let report = pipeline::run(
        &RunOptions { inputs: inputs.clone(), out: one.clone(), model_dir: model(), cache_dir: None, model_threads: 2 },
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
    let status = run_in_shards(&inputs, &sharded, 2_000);
    assert!(status.shards >= 6, "small shards, the feed cut by lines: {status:?}");
    assert!(!sharded.join(".shards").exists(), "the job's folder is gone once committed");
    assert_same_run(&one, &sharded);
    let parts = std::fs::read_dir(sharded.join("articles")).unwrap().count();
    assert_eq!(parts, status.shards, "one part per shard");
}

/// A job whose driver died is planned again with the same shards and
/// resumes: the steps already done are not listed again.
#[test]
fn a_job_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = corpus(dir.path());
    let out = dir.path().join("run");
    let first = shards::plan(&inputs, &out, &Settings::default(), 4_000).unwrap();
    assert!(!first.resumed);
    shards::votes(&out, 0).unwrap();
    shards::votes(&out, 1).unwrap();
    let again = shards::plan(&inputs, &out, &Settings::default(), 4_000).unwrap();
    assert!(again.resumed);
    assert_eq!(again.votes, (2..first.shards).collect::<Vec<_>>());
    // Other settings: a new job.
    let mut other = Settings::default();
    other.cluster.threshold += 0.01;
    let fresh = shards::plan(&inputs, &out, &other, 4_000).unwrap();
    assert!(!fresh.resumed);
    assert_eq!(fresh.votes.len(), fresh.shards);
    // A finish before the maps are done says which shard is missing.
    let err = shards::furniture(&out).unwrap_err().to_string();
    assert!(err.contains("shard 0 has no votes.parquet"), "{err}");
}
