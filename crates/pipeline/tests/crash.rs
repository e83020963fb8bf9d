//! kill -9 in the middle of a run: the previous run's outputs stay intact,
//! nothing half-written is left, and the next run reuses the embedding cache.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{model, snapshot, workspace};

fn storyline(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_storyline"));
    c.env("STORYLINE_CACHE", cache).env("RUST_LOG", "embed=info").env("STORYLINE_MODEL", model());
    c
}

/// A corpus with thousands of distinct sentences, so embedding takes a while.
fn corpus(dir: &Path) -> PathBuf {
    let p = dir.join("corpus.jsonl");
    let lines: Vec<String> = (0..500)
        .map(|i| {
            let text: String = (0..8)
                .map(|k| format!("Report {i} line {k}: officers in district {} answered call number {} near {} Street. ", i % 17, i * 31 + k, 100 + k * i))
                .collect();
            serde_json::json!({"id": format!("a{i}"), "title": format!("Incident {i}"), "date": "2020-01-02", "text": text}).to_string()
        })
        .collect();
    std::fs::write(&p, lines.join("\n")).unwrap();
    p
}

fn cache_bytes(cache: &Path) -> u64 {
    std::fs::read_dir(cache.join("embeddings"))
        .map(|d| d.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

#[test]
fn kill_during_embedding_keeps_old_outputs_and_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let (cache, out) = (tmp.path().join("cache"), tmp.path().join("out"));
    // A finished run on the seeds.
    let ok = storyline(&cache).args(["run", "--quiet", "--input"]).arg(workspace().join("data/seeds")).arg("--out").arg(&out).status().unwrap();
    assert!(ok.success());
    let before = snapshot(&out);
    let cached_seeds = cache_bytes(&cache);

    // A bigger run into the same folder, killed once it has flushed some vectors.
    let input = corpus(tmp.path());
    let mut child = storyline(&cache)
        .args(["run", "--quiet", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while cache_bytes(&cache) <= cached_seeds {
        assert!(start.elapsed() < Duration::from_secs(300), "the run never flushed its cache");
        assert!(child.try_wait().unwrap().is_none(), "the run finished before it could be killed");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Opening the run removes the killed run's hidden temporaries: then it
    // is exactly as it was.
    aggregate::RunDir::open(&out).unwrap();
    assert_eq!(snapshot(&out), before, "the previous output was touched");

    // The next run completes, reuses the cache and leaves no temporaries.
    let done = storyline(&cache).args(["run", "--quiet", "--input"]).arg(&input).arg("--out").arg(&out).output().unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let log = String::from_utf8_lossy(&done.stderr);
    let cached: usize = log
        .lines()
        .find(|l| l.contains("embedding sentences"))
        .and_then(|l| l.split("cached=").nth(1))
        .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no cache report in the log:\n{log}"));
    assert!(cached >= 1024, "only {cached} sentences came from the cache");
    let after = snapshot(&out);
    for (p, _) in &after {
        assert!(!p.to_string_lossy().ends_with(".tmp"), "{} left in the output folder", p.display());
    }
    assert_ne!(after, before);
}
